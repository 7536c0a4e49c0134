"""`build_base`: resolve persons and enterprises (fully, or incrementally against the stored
run), apply field-level survivorship, link records to dwellings, collect vehicles, and — given a
catalog — register every base table with its lineage from the std tables.

``kinds`` names the base kinds to build (all by default): a nightly run builds only the kinds whose
std tables changed and keeps the others' tables (and their catalog entries) as they are. Dwelling
links read the person and enterprise links, so a caller that rebuilds either rebuilds dwellings.

A kind the data cannot resolve is skipped, not fatal: no std table carries it, or it is disabled
in the configuration. A kind whose records carry too little for a model is linked by exact
identifiers only. Either way `BaseBuild.skipped` says so in one line per kind, and the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
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
    #: kinds not built this time: their tables were kept as they were
    kept: tuple[str, ...] = ()

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
        if self.kept:
            text += f"; {', '.join(self.kept)} unchanged (kept)"
        return text


BASE_ORDER = ("person", "enterprise", "dwelling", "vehicle")
#: the base tables each kind writes
BASE_TABLES: dict[str, tuple[str, ...]] = {
    "person": ("person", "person_link"),
    "enterprise": ("enterprise", "enterprise_link"),
    "dwelling": ("dwelling", "dwelling_link"),
    "vehicle": ("vehicle",),
}


def build_base(
    engine: Engine,
    std: Mapping[str, ir.Table],
    *,
    config: ResolveConfig | None = None,
    incremental: bool = False,
    catalog: Catalog | None = None,
    run_id: str | None = None,
    report: Callable[[str], None] | None = None,
    kinds: Collection[str] | None = None,
) -> BaseBuild:
    """Resolve and write every base table of ``kinds`` (default: `BASE_ORDER`, all) that the
    given std tables allow; the other kinds' tables are left as they are.

    ``report`` hears the name of each step as it starts (for a progress display).
    """
    todo = set(BASE_ORDER if kinds is None else kinds)
    if unknown := todo - set(BASE_ORDER):
        raise ValueError(f"unknown base kinds {sorted(unknown)}; kinds are {', '.join(BASE_ORDER)}")
    config = config or ResolveConfig()
    step = report or (lambda _: None)
    build = BaseBuild(kept=tuple(k for k in BASE_ORDER if k not in todo))
    upstream: dict[str, list[str]] = {}
    for kind in ("person", "enterprise"):
        if kind not in todo:
            continue
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
        if result.rows == 0:
            build.skipped[kind] = (
                f"skipped (no {kind} records: no row of {', '.join(sources)} has a name or an "
                "identifier in the configured columns)"
            )
            log.warning(f"{kind}: {build.skipped[kind]}")
            continue
        if result.reason:
            build.skipped[kind] = f"exact identifiers only ({result.reason})"
        build.rows[kind] = info.rows
        build.rows[f"{kind}_link"] = result.rows
        build.source_records[kind] = result.rows
        upstream[kind] = [f"base/{kind}_link"]
        upstream[f"{kind}_link"] = sources
    if "dwelling" in todo:
        _dwellings(engine, std, config, build, upstream, step)
    vehicles = config.vehicle
    permits, pings = std.get(vehicles.permits), std.get(vehicles.pings)
    if "vehicle" in todo and vehicles.enabled and (permits is not None or pings is not None):
        step("vehicles")
        built = build_vehicle_base(engine, permits, pings)
        build.rows["vehicle"] = built.info.rows
        build.source_records["vehicle"] = built.source_records
        upstream["vehicle"] = [t for t in (vehicles.permits, vehicles.pings) if t in std]
    if catalog is not None:
        step("catalog")
        register_base(catalog, engine, upstream, std=std, run_id=run_id)
    return build


def _dwellings(
    engine: Engine,
    std: Mapping[str, ir.Table],
    config: ResolveConfig,
    build: BaseBuild,
    upstream: dict[str, list[str]],
    step: Callable[[str], None],
) -> None:
    """Write the dwelling base when the address base is there; say why not otherwise."""
    addresses = config.dwelling.addresses
    if not config.dwelling.enabled:
        return
    if addresses not in std:
        build.skipped["dwelling"] = f"skipped (no std.{addresses}, the standard address base)"
        return
    step("dwellings")
    dwelling, links = build_dwelling_base(engine, std[addresses])
    build.rows.update(dwelling=dwelling.rows, dwelling_link=links.rows)
    upstream["dwelling"] = [addresses, "base/dwelling_link"]
    # the link tables the dwelling links were read from: this run's, or ones kept from before
    upstream["dwelling_link"] = [
        f"base/{kind}_link"
        for kind in ("person", "enterprise")
        if engine.exists("base", f"{kind}_link")
    ]
