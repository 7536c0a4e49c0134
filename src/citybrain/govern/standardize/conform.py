"""Conform a system's raw loads to its std table: columns, types, constants, lineage, latest state.

Every function takes and returns Ibis tables, so the same expression runs on DuckDB and Spark.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.stdmodel import StdTable
from citybrain.govern.standardize.sources import RawSource

if TYPE_CHECKING:
    from citybrain.core.engine import Engine

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


#: at most this many rows whose natural key repeats are ranked apart, in memory (five numbers a
#: row), and joined back; with more (a whole delivery sent again) every row is ranked in the engine
RANKED_APART_ROWS = 5_000_000
_RANKS = ["_latest", "_position", "_complete"]


@dataclass(frozen=True)
class Repeats:
    """The rows of one system whose natural key occurs more than once, ranked: by load (the latest
    wins) and within a load by row (a later one is a duplicate). ``ranked`` is registered in the
    engine (``_r_seq``, ``_r_row``: the row's load and place in it; ``_latest``, ``_position``,
    ``_complete``); ``None`` when no key repeats. ``whole``: too many to rank apart, every row
    is ranked in the engine."""

    ranked: ir.Table | None
    superseded: int
    whole: bool = False


def find_repeats(engine: Engine, table: ir.Table, keys: list[str]) -> Repeats:
    """The repeated keys of a conformed system (`conform`), found by their hashes in one pass
    over the key columns; only their rows are ranked. A hash shared by two keys only sends their
    rows to be ranked by their real keys: the result is exact.

    Why: ranking every row (two windows partitioned by the key) sorts the whole table; at a
    city's 210 M bike reports a system that spilled tens of GB to disk, for keys that almost never
    repeat."""
    hashes = {f"_key_hash{i}": table[key].hash() for i, key in enumerate(keys)}
    hashed = table.select(**hashes)
    groups = hashed.group_by(list(hashes)).aggregate(_n=hashed.count())
    found = engine.to_arrow(groups.filter(groups["_n"] > 1).limit(RANKED_APART_ROWS + 1))
    rows = int(pc.sum(found.column("_n")).as_py() or 0) if found.num_rows else 0
    if rows == 0:
        return Repeats(None, 0)
    if rows > RANKED_APART_ROWS:
        ranked = _ranked(table, keys)
        superseded = ranked.filter(ranked["_complete"] & (ranked[LOAD_SEQ] != ranked["_latest"]))
        count = engine.to_arrow(superseded.aggregate(n=superseded.count())).column(0)[0].as_py()
        return Repeats(None, int(count or 0), whole=True)
    name = f"std_repeated_keys_{next(_REGISTERED)}"
    repeated = engine.register(name, found.drop_columns(["_n"]))
    rows_of = table.mutate(**hashes).semi_join(repeated, list(hashes))
    ranked = _ranked(rows_of, keys)
    ranked = ranked.select(*_RANKS, _r_seq=ranked[LOAD_SEQ], _r_row=ranked["source_row"])
    arrow = engine.to_arrow(ranked)
    gone = pc.and_(arrow.column("_complete"), pc.not_equal(arrow.column("_r_seq"),
                                                           arrow.column("_latest")))  # fmt: skip
    superseded = int(pc.sum(pc.cast(gone, pa.int64())).as_py() or 0)
    return Repeats(engine.register(f"{name}_ranked", arrow), superseded)


_REGISTERED = itertools.count()


def _ranked(table: ir.Table, keys: list[str]) -> ir.Table:
    """Every row with its key's latest load, its place among its key's rows of its load and
    whether its key is whole (windows over ``table``)."""
    complete = ibis.and_(*[table[key].notnull() for key in keys])
    latest = table[LOAD_SEQ].max().over(group_by=[table[key] for key in keys])
    position = ibis.row_number().over(
        group_by=[*(table[key] for key in keys), table[LOAD_SEQ]],
        order_by=[table["source_row"]],
    )
    return table.mutate(_latest=latest, _position=position, _complete=complete)


def latest_state(
    engine: Engine, table: ir.Table, keys: list[str], repeats: Repeats | None = None
) -> ir.Table:
    """Rows of the latest load that delivered each natural key; later duplicates are marked.

    A key re-delivered by a later load supersedes the earlier rows (they are counted, not kept);
    a key delivered twice in the same load keeps both rows, the second marked ``_duplicate``.
    Rows with a null key part are all kept. Only rows whose key repeats are ranked
    (`find_repeats`, done here unless ``repeats`` is given).
    """
    if not keys:
        return table.mutate(**{DUPLICATE: ibis.literal(False)})
    repeats = repeats or find_repeats(engine, table, keys)
    if repeats.whole:
        marked = _ranked(table, keys)
    elif repeats.ranked is None:
        return table.mutate(**{DUPLICATE: ibis.literal(False)})
    else:  # a row of a (load, row) not ranked has a key of its own
        ranked = repeats.ranked
        on = [table[LOAD_SEQ] == ranked["_r_seq"], table["source_row"] == ranked["_r_row"]]
        marked = table.left_join(ranked, on).drop("_r_seq", "_r_row")
    latest, complete = marked["_latest"], marked["_complete"].fill_null(False)
    kept = marked.filter(latest.isnull() | ~complete | (marked[LOAD_SEQ] == latest))
    duplicate = kept["_complete"].fill_null(False) & (kept["_position"].fill_null(0) > 0)
    return kept.mutate(**{DUPLICATE: duplicate}).drop(*_RANKS)
