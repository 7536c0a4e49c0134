"""`build_base`: resolve persons and enterprises (fully, or incrementally against the stored
run), apply field-level survivorship, link records to dwellings, collect vehicles, and — given a
catalog — register every base table with its lineage from the std tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import ibis.expr.types as ir

from citybrain.core.catalog import Catalog
from citybrain.core.engine import Engine
from citybrain.govern.base.catalog import register_base
from citybrain.govern.base.dwelling import build_dwelling_base
from citybrain.govern.base.entities import build_entity_base
from citybrain.govern.base.vehicle import build_vehicle_base
from citybrain.govern.resolve import Resolution, resolve, resolve_new
from citybrain.govern.resolve.records import specs_for


@dataclass
class BaseBuild:
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: golden entities per base table and the records linked to them."""
        parts = [f"{self.rows[k]:,} {k}s" for k in BASE_ORDER if k in self.rows]
        linked = sum(self.rows.get(f"{k}_link", 0) for k in ("person", "enterprise"))
        return (", ".join(parts) or "no base tables") + f" from {linked:,} source records"


BASE_ORDER = ("person", "enterprise", "dwelling", "vehicle")


def build_base(
    engine: Engine,
    std: Mapping[str, ir.Table],
    *,
    incremental: bool = False,
    catalog: Catalog | None = None,
    run_id: str | None = None,
    report: Callable[[str], None] | None = None,
) -> BaseBuild:
    """Resolve and write every base table that the given std tables allow.

    ``report`` hears the name of each step as it starts (for a progress display).
    """
    step = report or (lambda _: None)
    build = BaseBuild()
    upstream: dict[str, list[str]] = {}
    for kind in ("person", "enterprise"):
        sources = sorted({s.table for s in specs_for(kind) if s.table in std})
        if not sources:
            continue
        step(f"resolve {kind}s")
        run = resolve_new if incremental else resolve
        build.resolutions[kind] = run(engine, std, kind)
        info = build_entity_base(engine, kind)
        build.rows[kind] = info.rows
        build.rows[f"{kind}_link"] = build.resolutions[kind].links.num_rows
        upstream[kind] = [f"base/{kind}_link"]
        upstream[f"{kind}_link"] = sources
    if "standard_address" in std:
        step("dwellings")
        dwelling, links = build_dwelling_base(engine, std["standard_address"])
        build.rows.update(dwelling=dwelling.rows, dwelling_link=links.rows)
        upstream["dwelling"] = ["standard_address", "base/dwelling_link"]
        upstream["dwelling_link"] = [f"base/{k}_link" for k in build.resolutions]
    if "transport_permit" in std or "vehicle_ping" in std:
        step("vehicles")
        info = build_vehicle_base(engine, std.get("transport_permit"), std.get("vehicle_ping"))
        build.rows["vehicle"] = info.rows
        upstream["vehicle"] = [t for t in ("transport_permit", "vehicle_ping") if t in std]
    if catalog is not None:
        step("catalog")
        register_base(catalog, engine, upstream, std=std, run_id=run_id)
    return build
