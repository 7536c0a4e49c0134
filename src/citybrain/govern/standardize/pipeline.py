"""Standardise every std table that a landed system feeds, and say what happened (a result)."""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from citybrain.core.engine import Engine
from citybrain.core.stdmodel import FLAGS_COLUMN, LINEAGE_COLUMNS, STD_TABLES, StdTable
from citybrain.govern.standardize import addresses
from citybrain.govern.standardize.addressbase import (
    AREA_COLUMNS,
    AddressIndex,
    build_address_index,
    city_bbox,
)
from citybrain.govern.standardize.conform import (
    DUPLICATE,
    LOAD_SEQ,
    Repeats,
    conform,
    find_repeats,
    key_columns,
    latest_state,
)
from citybrain.govern.standardize.flags import (
    Rules,
    combine,
    duplicate_flag,
    range_flags,
    validate_identifiers,
)
from citybrain.govern.standardize.results import SourceCount, TableResult
from citybrain.govern.standardize.sources import RawSource

# The register is standardised first: the address base and the city's box are built from it.
REGISTER = ("admin_area", "road", "road_alias", "standard_address")
MATCH_OUTPUT = ("address_id", "address_level", "address_confidence", *AREA_COLUMNS)


def address_column(std: StdTable) -> str | None:
    return next((c.name for c in std.columns if c.role == "address"), None)


def std_columns(std: StdTable) -> list[str]:
    extra = list(MATCH_OUTPUT) if address_column(std) else []
    return [*std.column_names, *extra, *LINEAGE_COLUMNS, FLAGS_COLUMN]


def _code_lists(sources: list[RawSource]) -> dict[str, frozenset[str]]:
    """Standard values of each code column, where every source maps it with a code list."""
    lists: dict[str, set[str]] = {}
    partial: set[str] = set()
    for source in sources:
        for name, value in source.contract.constants.items():
            lists.setdefault(name, set()).add(value)
        for mapping in source.contract.mapping.columns:
            if mapping.codes is None:
                partial.add(mapping.target)
            else:
                lists.setdefault(mapping.target, set()).update(mapping.codes.values())
    return {k: frozenset(v) for k, v in lists.items() if k not in partial}


def build_table(
    engine: Engine,
    std: StdTable,
    sources: list[RawSource],
    *,
    index: AddressIndex | None,
    rules: Rules,
    code_sources: list[RawSource] | None = None,
    repeats: Mapping[str, Repeats] | None = None,
    address_workers: int = 0,
) -> ir.Table:
    """The std table's expression: sources conformed, latest state, validated, flagged.

    ``code_sources`` (default ``sources``) are the systems whose contracts' code lists decide the
    table's allowed codes: every system of the table, when ``sources`` are only new loads of some.
    ``repeats``: each system's repeated keys when already found (`find_repeats`).
    ``address_workers``: processes that match new address strings (`addresses.match_distinct`).
    """
    parts = []
    for source in sources:
        conformed = conform(engine.table("raw", source.system), source, std)
        found = (repeats or {}).get(source.system)
        parts.append(latest_state(engine, conformed, key_columns(conformed, source), found))
    union_columns = list(dict.fromkeys(c for p in parts for c in p.columns))
    parts = [_with_columns(p, union_columns) for p in parts]
    table = parts[0] if len(parts) == 1 else ibis.union(*parts)
    table, flags = validate_identifiers(engine, table, std)
    codes = _code_lists(sources if code_sources is None else code_sources)
    flags += range_flags(table, std, Rules(rules.bbox, codes, rules.today))
    flags.append(duplicate_flag(table))
    column = address_column(std)
    if column is not None and index is not None:
        table = table.mutate(**{FLAGS_COLUMN: combine(flags)})
        table, address_flags = addresses.join_matches(
            engine, index, table, column, workers=address_workers
        )
        table = table.mutate(**{FLAGS_COLUMN: combine([table[FLAGS_COLUMN], *address_flags])})
    elif column is not None:
        table = table.mutate(
            **{FLAGS_COLUMN: combine(flags)},
            **{c: ibis.null().cast(_MATCH_TYPES.get(c, "string")) for c in MATCH_OUTPUT},
        )
    else:
        table = table.mutate(**{FLAGS_COLUMN: combine(flags)})
    return table.select(*std_columns(std))


_MATCH_TYPES = {"address_confidence": "float64"}


def _with_columns(table: ir.Table, columns: list[str]) -> ir.Table:
    """Every part of a union needs the same columns (``__src`` ones exist only in some)."""
    missing = {c: ibis.null().cast("string") for c in columns if c not in table.columns}
    return table.mutate(**missing).select(*columns) if missing else table.select(*columns)


def standardize_table(
    engine: Engine,
    std: StdTable,
    sources: list[RawSource],
    *,
    index: AddressIndex | None = None,
    rules: Rules | None = None,
    address_workers: int = 0,
) -> TableResult:
    """Build and write ``std.<table>``; the result reconciles its rows with the raw loads."""
    rules = rules or Rules(bbox=city_bbox(engine))
    repeats = _repeats(engine, std, sources)  # once: for the rows and for the superseded count
    expr = build_table(engine, std, sources, index=index, rules=rules, repeats=repeats,
                       address_workers=address_workers)  # fmt: skip
    # No row order to keep (rows carry their load and source row): DuckDB otherwise buffers the
    # union of the sources to write it in input order, ~17 % of the write on one month of bikes.
    info = engine.write(expr, "std", std.name, ordered=False)
    written = engine.table("std", std.name)
    counts = engine.to_arrow(
        written.group_by("source_system").agg(
            rows=written.count(), flagged=(written[FLAGS_COLUMN].length() > 0).sum()
        )
    ).to_pylist()
    by_system = {r["source_system"]: r for r in counts}
    per_source = [
        SourceCount(
            system=s.system,
            raw_rows=s.rows_landed,
            superseded=repeats[s.system].superseded if s.system in repeats else 0,
            std_rows=int(by_system.get(s.system, {}).get("rows", 0)),
            flagged=int(by_system.get(s.system, {}).get("flagged") or 0),
        )
        for s in sources
    ]
    return TableResult(std.name, info.rows, tuple(per_source))


def _repeats(engine: Engine, std: StdTable, sources: list[RawSource]) -> dict[str, Repeats]:
    """Per system with a natural key, its repeated keys (`find_repeats`): which rows a later
    load superseded and which are duplicates."""
    found = {}
    for source in sources:
        conformed = conform(engine.table("raw", source.system), source, std)
        keys = key_columns(conformed, source)
        if keys:
            found[source.system] = find_repeats(engine, conformed, keys)
    return found


def standardize_all(
    engine: Engine,
    sources_by_table: dict[str, list[RawSource]],
    *,
    city_name: str | None = None,
    tables: list[str] | None = None,
    append: Mapping[str, Mapping[str, int]] | None = None,
    address_workers: int = 0,
) -> tuple[list[TableResult], AddressIndex | None]:
    """Every std table fed by a landed system: the register first, then the address index.

    The index is built (and ``std.address_area`` written from it) only when it can be used: a
    register table or a table with an address column is standardised, or the areas were never
    written — a nightly run that adds GPS pings does not parse the register again (the small
    city's index takes 1.5 s of CPU; the pings none of it). It is returned when built.

    ``append`` names tables whose systems' first loads (system -> how many) were standardised
    before and are unchanged: their new loads are appended when that gives what a rebuild would
    (`citybrain.govern.standardize.append`), else the table is rebuilt. ``address_workers``:
    processes that match new address strings (0: the CPUs this process may use).
    """
    # append builds on build_table: imported here so the two modules import one way at load
    from citybrain.govern.standardize.append import append_table

    wanted = [t for t in sources_by_table if tables is None or t in tables]
    results: list[TableResult] = []
    for name in [t for t in REGISTER if t in wanted]:
        results.append(standardize_table(engine, STD_TABLES[name], sources_by_table[name]))
    others = [t for t in wanted if t not in REGISTER]
    register = len(others) < len(wanted)
    index = None
    if (
        register
        or not engine.exists("std", addresses.AREAS)
        or any(address_column(STD_TABLES[t]) for t in others)
    ):
        index = build_address_index(engine, city_name=city_name)
    if index is not None and (register or not engine.exists("std", addresses.AREAS)):
        addresses.write_areas(engine, index)  # the areas change only with the register
    rules = Rules(bbox=index.bbox if index is not None else city_bbox(engine))
    for name in others:
        std, sources = STD_TABLES[name], sources_by_table[name]
        appended = None
        if append is not None and name in append:
            appended = append_table(engine, std, sources, append[name], index=index,
                                    rules=rules, address_workers=address_workers)  # fmt: skip
        results.append(
            appended
            or standardize_table(
                engine, std, sources, index=index, rules=rules, address_workers=address_workers
            )
        )
    return results, index


__all__ = ["DUPLICATE", "LOAD_SEQ", "standardize_all", "standardize_table", "std_columns"]
