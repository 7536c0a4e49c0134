"""Conform a system's raw loads to its std table: columns, types, constants, lineage, latest state.

Every function takes and returns Ibis tables, so the same expression runs on DuckDB and Spark.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from citybrain.core.stdmodel import StdTable
from citybrain.govern.standardize.sources import RawSource

IBIS_TYPES = {
    "string": "string",
    "int64": "int64",
    "float64": "float64",
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}
# Helper columns carried through standardisation and dropped before the write.
LOAD_SEQ = "_load_seq"
DUPLICATE = "_duplicate"
SRC_SUFFIX = "__src"
KEY_PREFIX = "_k_"  # a natural-key column that is not a std column


def _alternates(raw_columns: list[str], column: str, std_names: set[str]) -> list[str]:
    """``usage`` and a drifted ``usage_m3`` both feed ``usage`` (the first non-null wins)."""
    return [
        name
        for name in raw_columns
        if name.startswith(column + "_")
        and name not in std_names
        and not name.endswith(SRC_SUFFIX)
        and not name.startswith("_")
    ]


def _as(value: ir.Value, dtype: str, name: str) -> ir.Value:
    """A drifted or differently encoded column in the std column's type (epoch seconds too)."""
    if dtype == "timestamp" and name.endswith("_epoch_s"):
        return value.cast("int64").as_timestamp("s")
    return value.cast(dtype)


def _period(value: ir.Value) -> ir.Value:
    """``202301`` → ``2023-01``; anything else is left for the format check."""
    text = value.cast("string")
    compact = text.re_search(r"^\d{6}$")
    return ibis.ifelse(compact, text.substr(0, 4) + "-" + text.substr(4, 2), text)


def conform(raw: ir.Table, source: RawSource, table: StdTable) -> ir.Table:
    """The std columns (missing ones null), typed, plus lineage and the helper columns."""
    raw = raw.filter(raw["_load_id"].cast("string").isin(list(source.load_ids)))
    names = list(raw.columns)
    std_names = set(table.column_names)
    constants = source.contract.constants
    columns: dict[str, ir.Value] = {}
    for column in table.columns:
        dtype = IBIS_TYPES[column.type]
        if column.name in constants:
            value: ir.Value = ibis.literal(constants[column.name]).cast(dtype)
        elif column.name in names or _alternates(names, column.name, std_names):
            value = (
                raw[column.name].cast(dtype) if column.name in names else ibis.null().cast(dtype)
            )
            for alternate in _alternates(names, column.name, std_names):
                value = value.coalesce(_as(raw[alternate], dtype, alternate))
        else:
            value = ibis.null().cast(dtype)
        if column.role == "period":
            value = _period(value)
        columns[column.name] = value
        src = column.name + SRC_SUFFIX
        if src in names:
            columns[src] = raw[src].cast("string")
    for key in source.contract.keys:
        if key not in std_names and key in names:
            columns[KEY_PREFIX + key] = raw[key].cast("string")
    columns["source_system"] = ibis.literal(source.system)
    columns["load_id"] = raw["_load_id"].cast("string")
    columns["source_row"] = raw["_row"].cast("int64")
    conformed = raw.select(**columns)
    order = source.load_order()
    return conformed.mutate(
        **{LOAD_SEQ: conformed["load_id"].substitute(order, else_=0).cast("int64")}
    )


def key_columns(table: ir.Table, source: RawSource) -> list[str]:
    """The natural key's columns in a conformed table (empty if any part was not delivered)."""
    found = [k if k in table.columns else KEY_PREFIX + k for k in source.contract.keys]
    return found if all(k in table.columns for k in found) else []


def latest_state(table: ir.Table, keys: list[str]) -> ir.Table:
    """Rows of the latest load that delivered each natural key; later duplicates are marked.

    A key re-delivered by a later load supersedes the earlier rows (they are counted, not kept);
    a key delivered twice in the same load keeps both rows, the second marked ``_duplicate``.
    Rows with a null key part are all kept.
    """
    if not keys:
        return table.mutate(**{DUPLICATE: ibis.literal(False)})
    complete = ibis.and_(*[table[key].notnull() for key in keys])
    latest = table[LOAD_SEQ].max().over(group_by=[table[key] for key in keys])
    position = ibis.row_number().over(
        group_by=[*(table[key] for key in keys), table[LOAD_SEQ]],
        order_by=[table["source_row"]],
    )
    marked = table.mutate(_latest=latest, _position=position, _complete=complete)
    kept = marked.filter(~marked["_complete"] | (marked[LOAD_SEQ] == marked["_latest"]))
    kept = kept.mutate(**{DUPLICATE: kept["_complete"] & (kept["_position"] > 0)})
    return kept.drop("_latest", "_position", "_complete")
