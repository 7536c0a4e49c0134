"""The base databases: population, legal entities, dwellings and vehicles, with golden ids.

`build_base` resolves persons and enterprises (fully, or incrementally against the stored run),
applies field-level survivorship, links records to dwellings, collects vehicles, and — given a
catalog — registers every base table with its lineage from the std tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import ibis.expr.types as ir

from citybrain.core.catalog import Catalog
from citybrain.core.engine import Engine
from citybrain.govern.base.catalog import register_base
from citybrain.govern.base.dwelling import build_dwelling_base
from citybrain.govern.base.entities import ENTERPRISE_RULES, PERSON_RULES, build_entity_base
from citybrain.govern.base.survivorship import SurvivorshipRules, survive
from citybrain.govern.base.vehicle import build_vehicle_base
from citybrain.govern.resolve import Resolution, resolve, resolve_new
from citybrain.govern.resolve.records import specs_for

__all__ = [
    "ENTERPRISE_RULES",
    "PERSON_RULES",
    "BaseBuild",
    "SurvivorshipRules",
    "build_base",
    "survive",
]


@dataclass
class BaseBuild:
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def build_base(
    engine: Engine,
    std: Mapping[str, ir.Table],
    *,
    incremental: bool = False,
    catalog: Catalog | None = None,
    run_id: str | None = None,
) -> BaseBuild:
    """Resolve and write every base table that the given std tables allow."""
    build = BaseBuild()
    upstream: dict[str, list[str]] = {}
    for kind in ("person", "enterprise"):
        sources = sorted({s.table for s in specs_for(kind) if s.table in std})
        if not sources:
            continue
        run = resolve_new if incremental else resolve
        build.resolutions[kind] = run(engine, std, kind)
        info = build_entity_base(engine, kind)
        build.rows[kind] = info.rows
        build.rows[f"{kind}_link"] = build.resolutions[kind].links.num_rows
        upstream[kind] = [f"base/{kind}_link"]
        upstream[f"{kind}_link"] = sources
    if "standard_address" in std:
        dwelling, links = build_dwelling_base(engine, std["standard_address"])
        build.rows.update(dwelling=dwelling.rows, dwelling_link=links.rows)
        upstream["dwelling"] = ["standard_address", "base/dwelling_link"]
        upstream["dwelling_link"] = [f"base/{k}_link" for k in build.resolutions]
    if "transport_permit" in std or "vehicle_ping" in std:
        info = build_vehicle_base(engine, std.get("transport_permit"), std.get("vehicle_ping"))
        build.rows["vehicle"] = info.rows
        upstream["vehicle"] = [t for t in ("transport_permit", "vehicle_ping") if t in std]
    if catalog is not None:
        register_base(catalog, engine, upstream, run_id=run_id)
    return build
