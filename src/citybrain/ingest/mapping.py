"""From delivered columns to standard-model columns, as one DuckDB query over each chunk.

The query is plain SQL text built from the contract (print it, snapshot it): normalise text (trim,
null markers), map code lists, cast with ``TRY_CAST``/``TRY_STRPTIME``, convert units, and compute one
``__cb_reason`` per row — the first check it fails, e.g. ``bad_date:收费日期`` — or NULL when it lands.
No per-row Python: DuckDB runs it vectorised over the Arrow chunk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping as TypingMapping
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.ingest.connectors.base import INTERNAL, LINE, REASON, ROW, text_table
from citybrain.ingest.contract import ColumnMapping, Mapping
from citybrain.ingest.units import unit_factor

LOAD_ID = "_load_id"
SOURCE_ROW = "_row"
SQL_TYPES = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "decimal": "DECIMAL(38, 6)",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}
BAD = {
    "int64": "bad_int",
    "float64": "bad_number",
    "decimal": "bad_number",
    "bool": "bad_bool",
    "date": "bad_date",
    "timestamp": "bad_timestamp",
}
TRUE = ("1", "true", "t", "y", "yes", "是", "真")
FALSE = ("0", "false", "f", "n", "no", "否", "假")


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


@dataclass(frozen=True)
class Drift:
    """Delivered columns the contract does not know, and contract columns not delivered."""

    unknown: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return bool(self.unknown or self.missing)

    def describe(self) -> str:
        parts = []
        if self.unknown:
            parts.append("unknown column(s) " + ", ".join(self.unknown))
        if self.missing:
            parts.append("missing column(s) " + ", ".join(self.missing))
        return "; ".join(parts)


def detect_drift(mapping: Mapping, delivered: Sequence[str], *, fixed: bool) -> Drift:
    """Compare delivered columns with the contract (missing only counts for fixed layouts)."""
    if not mapping.columns:
        return Drift()
    known = {c.source for c in mapping.columns} | set(mapping.ignore)
    unknown = tuple(c for c in delivered if c not in known and c not in INTERNAL)
    present = set(delivered)
    missing = tuple(c.source for c in mapping.columns if c.source not in present) if fixed else ()
    return Drift(unknown, missing)


@dataclass
class MappingPlan:
    """The SQL for one chunk schema; ``sql`` reads the table ``src``."""

    sql: str
    outputs: list[str] = field(default_factory=list)


def plan_mapping(
    mapping: Mapping,
    delivered: TypingMapping[str, pa.DataType],
    *,
    keys: Sequence[str] = (),
    extra: Sequence[str] = (),
    load_id: str = "",
    force_reason: str | None = None,
) -> MappingPlan:
    """Build the mapping query for chunks whose delivered columns have these types.

    ``extra`` are delivered columns landed as-is (schema drift with policy ``evolve``); with no mapped
    columns at all every delivered column lands as-is. ``force_reason`` sends every row to quarantine.
    """
    norm: list[str] = []
    typed: list[str] = []
    final: list[str] = []
    checks: list[str] = [ident(REASON)]
    outputs: list[str] = []
    key_set = set(keys)
    columns = list(mapping.columns)
    passthrough = list(extra) if columns else [c for c in delivered if c not in INTERNAL]
    for i, col in enumerate(columns):
        n, t = f"n{i}", f"t{i}"
        source_type = delivered.get(col.source)
        if source_type is None:
            norm.append(f"CAST(NULL AS VARCHAR) AS {n}")
        elif pa.types.is_string(source_type) or pa.types.is_large_string(source_type):
            norm.append(f"{_normalise(ident(col.source), mapping)} AS {n}")
        else:
            norm.append(f"{ident(col.source)} AS {n}")
        is_text = (
            source_type is None
            or pa.types.is_string(source_type)
            or pa.types.is_large_string(source_type)
        )
        coded = _codes(n, col) if col.codes else n
        typed.append(f"{n}, {_cast(coded, col, is_text)} AS {t}")
        final.append(f"{t} AS {ident(col.target)}")
        outputs.append(col.target)
        if _keep_original(col) and source_type is not None:
            final.append(f"CAST({n} AS VARCHAR) AS {ident(col.target + '__src')}")
            outputs.append(col.target + "__src")
        checks.extend(_checks(n, t, col, col.target in key_set))
    for name in passthrough:
        norm.append(f"{ident(name)} AS {ident('p_' + name)}")
        typed.append(ident("p_" + name))
        final.append(f"{ident('p_' + name)} AS {ident(name)}")
        outputs.append(name)
    carry = f"{ident(ROW)}, {ident(REASON)}"
    reason = lit(force_reason) if force_reason else f"COALESCE({', '.join(checks)})"
    sql = (
        f"WITH n AS (SELECT {', '.join([*norm, carry])} FROM src),\n"
        f"t AS (SELECT {', '.join([*typed, carry])} FROM n)\n"
        f"SELECT {', '.join(final)}{', ' if final else ''}"
        f"{lit(load_id)} AS {LOAD_ID}, {ident(ROW)} AS {SOURCE_ROW}, {reason} AS {ident(REASON)} FROM t"
    )
    return MappingPlan(sql, [*outputs, LOAD_ID, SOURCE_ROW])


def _normalise(column: str, mapping: Mapping) -> str:
    value = f"trim({column})" if mapping.trim else column
    if not mapping.null_values:
        return value
    return f"CASE WHEN {value} IN {_in_list(mapping.null_values)} THEN NULL ELSE {value} END"


def _codes(n: str, col: ColumnMapping) -> str:
    assert col.codes is not None
    whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in col.codes.items())
    other = n if col.on_unknown_code == "keep" else "NULL"
    return f"CASE CAST({n} AS VARCHAR) {whens} ELSE {other} END"


def _cast(value: str, col: ColumnMapping, is_text: bool) -> str:
    kind = col.type
    sql_type = SQL_TYPES[kind]
    if kind == "string":
        out = f"CAST({value} AS VARCHAR)"
    elif kind in ("int64", "float64", "decimal"):
        if is_text and col.thousands:
            value = f"replace({value}, {lit(col.thousands)}, '')"
        out = f"TRY_CAST({value} AS {sql_type})"
    elif kind == "bool":
        low = f"lower(CAST({value} AS VARCHAR))"
        out = f"CASE WHEN {low} IN {_in_list(TRUE)} THEN true WHEN {low} IN {_in_list(FALSE)} THEN false END"
    else:
        fallback = f"TRY_CAST({value} AS {sql_type})"
        if col.formats and is_text:
            formats = "[" + ", ".join(lit(f) for f in col.formats) + "]"
            parsed = f"TRY_STRPTIME({value}, {formats})"
            parsed = f"CAST({parsed} AS DATE)" if kind == "date" else parsed
            out = f"COALESCE({parsed}, {fallback})"
        else:
            out = fallback
    if col.unit is not None:
        factor = col.unit.factor or unit_factor(col.unit.from_unit, col.unit.to_unit) or 1.0
        out = f"CAST({out} * {factor!r} AS {sql_type})"
    return out


def _checks(n: str, t: str, col: ColumnMapping, is_key: bool) -> list[str]:
    src = col.source
    out: list[str] = []
    if col.codes and col.on_unknown_code == "quarantine":
        keys = _in_list(list(col.codes))
        out.append(
            f"CASE WHEN {n} IS NOT NULL AND CAST({n} AS VARCHAR) NOT IN {keys} THEN {lit('unknown_code:' + src)} END"
        )
    if col.type in BAD:
        out.append(
            f"CASE WHEN {n} IS NOT NULL AND {t} IS NULL THEN {lit(BAD[col.type] + ':' + src)} END"
        )
    if is_key:
        out.append(f"CASE WHEN {t} IS NULL THEN {lit('missing_key:' + src)} END")
    elif col.required:
        out.append(f"CASE WHEN {t} IS NULL THEN {lit('missing:' + src)} END")
    if col.min is not None:
        out.append(f"CASE WHEN {t} < {col.min!r} THEN {lit('out_of_range:' + src)} END")
    if col.max is not None:
        out.append(f"CASE WHEN {t} > {col.max!r} THEN {lit('out_of_range:' + src)} END")
    if col.pattern is not None:
        out.append(
            f"CASE WHEN {n} IS NOT NULL AND NOT regexp_full_match(CAST({n} AS VARCHAR), {lit(col.pattern)}) "
            f"THEN {lit('bad_format:' + src)} END"
        )
    return out


def _keep_original(col: ColumnMapping) -> bool:
    if col.keep_original is not None:
        return col.keep_original
    return col.type in ("date", "timestamp") or bool(col.codes)


@dataclass
class MappedChunk:
    landed: pa.Table
    quarantined: pa.Table  # delivered columns as text + __cb_row, __cb_line, __cb_reason


def apply_plan(con: duckdb.DuckDBPyConnection, plan: MappingPlan, chunk: pa.Table) -> MappedChunk:
    """Run the plan over one chunk and split it into rows that land and rows for quarantine."""
    con.register("src", chunk)
    try:
        result = con.sql(plan.sql).to_arrow_table()
    finally:
        con.unregister("src")
    if (
        not pc.all(pc.equal(result.column(SOURCE_ROW), chunk.column(ROW))).as_py()
        and chunk.num_rows
    ):
        raise RuntimeError(
            "DuckDB returned the chunk out of order"
        )  # preserve_insertion_order is on
    reasons = result.column(REASON)
    ok = pc.is_null(reasons)
    landed = result.drop_columns([REASON]).filter(ok)
    bad = pc.invert(ok)
    rejected = chunk.filter(bad)
    delivered = [c for c in rejected.column_names if c not in INTERNAL]
    quarantined = text_table(rejected.select(delivered))
    for name in (ROW, LINE):
        quarantined = quarantined.append_column(name, rejected.column(name))
    quarantined = quarantined.append_column(REASON, reasons.filter(bad))
    return MappedChunk(landed, quarantined)


SAFE_NAME = re.compile(r"[^0-9A-Za-z_\u4e00-\u9fff]+")
