"""`build_base`: resolve persons and enterprises (fully, or incrementally against the stored
run), apply field-level survivorship, link records to dwellings, collect vehicles, and — given a
catalog — register every base table with its lineage from the std tables.

A kind the data cannot resolve is skipped, not fatal: no std table carries it, or it is disabled
in the configuration. A kind whose records carry too little for a model is linked by exact
identifiers only. Either way `BaseBuild.skipped` says so in one line per kind, and the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import ibis.expr.types as ir

from citybrain.core.catalog import Catalog
from citybrain.core.engine import Engine
from citybrain.core.logging import get_logger
from citybrain.govern.base.catalog import register_base
from citybrain.govern.base.dwelling import build_dwelling_base
from citybrain.govern.base.entities import build_entity_base
from citybrain.govern.base.vehicle import build_vehicle_base
from citybrain.govern.resolve import Resolution, ResolveConfig, resolve, resolve_new

log = get_logger("citybrain.govern.base")


@dataclass
class BaseBuild:
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    #: kind -> why it was skipped, or resolved by exact identifiers only
    skipped: dict[str, str] = field(default_factory=dict)
    #: source records read per base table (persons, enterprises, vehicles)
    source_records: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: golden entities per base table, the records they come from, and the kinds
        skipped (with why)."""
        parts = [f"{self.rows[k]:,} {k}s" for k in BASE_ORDER if k in self.rows]
        used = sum(self.source_records.values())
        text = (", ".join(parts) or "no base tables") + f" from {used:,} source records"
        nameless = sum(r.stats.get("records_without_name", 0) for r in self.resolutions.values())
        if nameless:
            text += f" ({nameless:,} of them without a name, linked by their identifiers)"
        if self.skipped:
            text += "; " + "; ".join(f"{k}: {why}" for k, why in self.skipped.items())
        return text


BASE_ORDER = ("person", "enterprise", "dwelling", "vehicle")


def build_base(
    engine: Engine,
    std: Mapping[str, ir.Table],
    *,
    config: ResolveConfig | None = None,
    incremental: bool = False,
    catalog: Catalog | None = None,
    run_id: str | None = None,
    report: Callable[[str], None] | None = None,
) -> BaseBuild:
    """Resolve and write every base table that the given std tables allow.

    ``report`` hears the name of each step as it starts (for a progress display).
    """
    config = config or ResolveConfig()
    step = report or (lambda _: None)
    build = BaseBuild()
    upstream: dict[str, list[str]] = {}
    for kind in ("person", "enterprise"):
        kind_config = config.kind(kind)
        sources = sorted({s.table for s in kind_config.sources if s.table in std})
        if not kind_config.enabled:
            build.skipped[kind] = "skipped (disabled in the configuration)"
            continue
        if not sources:
            wanted = sorted({s.table for s in kind_config.sources})
            build.skipped[kind] = (
                f"skipped (no std table carries {kind} records; looked for "
                f"{', '.join(wanted) or 'none configured'})"
            )
            log.warning(f"{kind}: {build.skipped[kind]}")
            continue
        step(f"resolve {kind}s")
        run = resolve_new if incremental else resolve
        result = run(engine, std, kind, config=kind_config)
        build.resolutions[kind] = result
        info = build_entity_base(engine, kind)
        if result.links.num_rows == 0:
            build.skipped[kind] = (
                f"skipped (no {kind} records: no row of {', '.join(sources)} has a name or an "
                "identifier in the configured columns)"
            )
            log.warning(f"{kind}: {build.skipped[kind]}")
            continue
        if result.reason:
            build.skipped[kind] = f"exact identifiers only ({result.reason})"
        build.rows[kind] = info.rows
        build.rows[f"{kind}_link"] = result.links.num_rows
        build.source_records[kind] = result.links.num_rows
        upstream[kind] = [f"base/{kind}_link"]
        upstream[f"{kind}_link"] = sources
    addresses = config.dwelling.addresses
    if config.dwelling.enabled and addresses in std:
        step("dwellings")
        dwelling, links = build_dwelling_base(engine, std[addresses])
        build.rows.update(dwelling=dwelling.rows, dwelling_link=links.rows)
        upstream["dwelling"] = [addresses, "base/dwelling_link"]
        upstream["dwelling_link"] = [f"base/{k}_link" for k in build.resolutions]
    elif config.dwelling.enabled:
        build.skipped["dwelling"] = f"skipped (no std.{addresses}, the standard address base)"
    vehicles = config.vehicle
    permits, pings = std.get(vehicles.permits), std.get(vehicles.pings)
    if vehicles.enabled and (permits is not None or pings is not None):
        step("vehicles")
        built = build_vehicle_base(engine, permits, pings)
        build.rows["vehicle"] = built.info.rows
        build.source_records["vehicle"] = built.source_records
        upstream["vehicle"] = [t for t in (vehicles.permits, vehicles.pings) if t in std]
    if catalog is not None:
        step("catalog")
        register_base(catalog, engine, upstream, std=std, run_id=run_id)
    return build
