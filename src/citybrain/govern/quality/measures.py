"""Completeness, validity and uniqueness of a std table, per source (and per load), in the engine.

Validity comes from the flags standardisation set: a flag ``<column>:<reason>`` makes that value
invalid. Uniqueness counts rows flagged ``record_key:duplicate``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from citybrain.core.engine import Engine
from citybrain.core.stdmodel import FLAGS_COLUMN, StdTable
from citybrain.govern.quality.model import FieldQuality
from citybrain.govern.standardize import RawSource

DUPLICATE_FLAG = "record_key:duplicate"
Counts = dict[tuple[str, str], dict[str, int]]  # (system, load_id) → column → count


def delivered_columns(source: RawSource, std: StdTable) -> list[str]:
    """The std columns a source fills (mapped or constant); the others are not its fault."""
    landed = set(source.columns) | {m.target for m in source.contract.mapping.columns}
    landed |= set(source.contract.constants)
    return [
        c.name
        for c in std.columns
        if c.name in landed or any(name.startswith(c.name + "_") for name in landed)
    ]


def filled_counts(engine: Engine, table: ir.Table, std: StdTable) -> Counts:
    """Rows and non-empty values per column, by source and load."""
    metrics = {"_rows": table.count()}
    for column in std.columns:
        value = table[column.name]
        filled = value.notnull()
        if column.type == "string":
            filled = filled & (value.strip().length() > 0)
        metrics[column.name] = filled.sum()
    grouped = table.group_by("source_system", "load_id").agg(**metrics)
    out: Counts = {}
    for row in engine.to_arrow(grouped).to_pylist():
        key = (row.pop("source_system"), row.pop("load_id"))
        out[key] = {k: int(v or 0) for k, v in row.items()}
    return out


def flag_counts(engine: Engine, table: ir.Table) -> Counts:
    """Flags per column (the part before the first colon), by source and load."""
    flags = table.select("source_system", "load_id", flag=table[FLAGS_COLUMN].unnest())
    flags = flags.mutate(column=ibis.ifelse(
        flags["flag"] == DUPLICATE_FLAG, "_duplicate", flags["flag"].re_extract(r"^([^:]+):", 1)
    ))  # fmt: skip
    grouped = flags.group_by("source_system", "load_id", "column").agg(n=flags.count())
    out: Counts = {}
    for row in engine.to_arrow(grouped).to_pylist():
        out.setdefault((row["source_system"], row["load_id"]), {})[row["column"]] = int(row["n"])
    return out


def field_quality(
    columns: list[str], filled: dict[str, int], flags: dict[str, int]
) -> list[FieldQuality]:
    rows = filled.get("_rows", 0)
    return [FieldQuality(c, rows, filled.get(c, 0), flags.get(c, 0)) for c in columns]


def add(into: dict[str, int], more: dict[str, int]) -> None:
    for key, value in more.items():
        into[key] = into.get(key, 0) + value
