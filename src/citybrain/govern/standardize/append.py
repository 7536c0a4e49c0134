"""Append a system's new loads to its std table when that gives what a rebuild would give.

A nightly delivery of a GPS feed adds thousands of rows to a table of millions: standardising the
whole table again conforms, validates, matches and writes every row to add a few. Here the new
loads' rows are standardised alone (`build_table` over those loads) and appended to the table
(an atomic append in the lake), but only when no table-wide rule can change a row already there:

- the new loads come after every load standardised before (the load order decides which
  delivery of a key is the latest);
- no complete natural key of a new load was delivered by an earlier load of the same system: such
  a key would supersede the std row (`latest_state`) — a key delivered twice within the new loads
  is settled among them, as a rebuild would;
- the table has no check that depends on the day it runs (a birth date is checked against today,
  and a rebuild would check the old rows again);
- it is not a table of the address register (every address is matched against it).

Everything else a std row gets is decided by the row alone (conformed columns, identifier and
range checks, the address match from the cache of the same address-base version) or by the
system's contract, which the caller checks is unchanged. When a rule says no, `append_table`
returns ``None`` and the caller rebuilds the table whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import ibis
import ibis.expr.types as ir

from citybrain.core.engine import Engine
from citybrain.core.stdmodel import FLAGS_COLUMN, StdTable
from citybrain.govern.standardize.addressbase import AddressIndex
from citybrain.govern.standardize.conform import conform, key_columns, latest_state
from citybrain.govern.standardize.flags import Rules
from citybrain.govern.standardize.pipeline import REGISTER, build_table
from citybrain.govern.standardize.results import SourceCount, TableResult
from citybrain.govern.standardize.sources import RawSource

#: columns whose checks depend on the day of the run (`flags.range_flags`)
TODAY_COLUMNS = ("birth_date",)


def appendable(std: StdTable) -> bool:
    """Whether new loads of ``std`` may ever be appended (the table-level rules above)."""
    return std.name not in REGISTER and not set(TODAY_COLUMNS) & set(std.column_names)


def keys_collide(engine: Engine, std: StdTable, source: RawSource, standardised: int) -> bool:
    """Whether a new load (after the first ``standardised``) delivers a complete natural key an
    earlier load of ``source`` delivered (its std row would be superseded)."""
    conformed = conform(engine.table("raw", source.system), source, std)
    keys = key_columns(conformed, source)
    if not keys:
        return False  # no key: every row is kept, none supersedes another
    complete = ibis.and_(*[conformed[k].notnull() for k in keys])
    loaded = conformed["load_id"]
    old = conformed.filter(complete & loaded.isin(list(source.load_ids[:standardised])))
    new = conformed.filter(complete & loaded.isin(list(source.load_ids[standardised:])))
    seen = new.select(*keys).semi_join(old.select(*keys), keys)
    return bool(engine.to_arrow(seen.limit(1)).num_rows > 0)


def append_table(
    engine: Engine,
    std: StdTable,
    sources: list[RawSource],
    standardised: Mapping[str, int],
    *,
    index: AddressIndex | None,
    rules: Rules,
    address_workers: int = 0,
) -> TableResult | None:
    """Standardise the loads of ``sources`` after the first ``standardised[system]`` and append
    them to ``std.<table>``; ``None`` (nothing written) when a rebuild is needed instead."""
    if not appendable(std) or not engine.exists("std", std.name):
        return None
    if {s.system for s in sources} != set(standardised):
        return None  # a system new to the table (or gone from it)
    if any(standardised[s.system] > len(s.load_ids) for s in sources):
        return None
    grown = [s for s in sources if len(s.load_ids) > standardised[s.system]]
    if not grown or any(keys_collide(engine, std, s, standardised[s.system]) for s in grown):
        return None
    new = [replace(s, load_ids=s.load_ids[standardised[s.system] :]) for s in grown]
    expr = build_table(engine, std, new, index=index, rules=rules, code_sources=sources,
                       address_workers=address_workers)  # fmt: skip
    info = engine.write(expr, "std", std.name, mode="append", ordered=False)  # as a rebuild
    kept_new = {s.system: engine.count(_latest(engine, std, s)) for s in new}
    new_ids = [load for s in new for load in s.load_ids]
    written = engine.table("std", std.name)
    counts = engine.to_arrow(
        written.group_by("source_system").agg(
            rows=written.count(),
            new_rows=written["load_id"].isin(new_ids).sum(),
            flagged=(written[FLAGS_COLUMN].length() > 0).sum(),
        )
    ).to_pylist()
    by_system = {r["source_system"]: r for r in counts}
    per_source = []
    for source in sources:
        found = by_system.get(source.system, {})
        rows = int(found.get("rows", 0))
        old_rows = rows - int(found.get("new_rows") or 0)
        # The earlier loads' rows are as the last rebuild left them (and reconciled then): of
        # their raw rows, those not in std were superseded. The new loads' rows reconcile here:
        # the latest-state rows of the new loads must be the rows appended.
        superseded = source.rows_landed - old_rows - kept_new.get(source.system, 0)
        per_source.append(
            SourceCount(
                system=source.system,
                raw_rows=source.rows_landed,
                superseded=superseded,
                std_rows=rows,
                flagged=int(found.get("flagged") or 0),
            )
        )
    total = sum(int(r.get("rows", 0)) for r in counts)
    return TableResult(std.name, total, tuple(per_source), appended=info.rows)


def _latest(engine: Engine, std: StdTable, source: RawSource) -> ir.Table:
    conformed = conform(engine.table("raw", source.system), source, std)
    return latest_state(engine, conformed, key_columns(conformed, source))
