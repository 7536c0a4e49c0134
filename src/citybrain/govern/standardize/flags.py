"""Validate each std column by its role and collect the failures into ``quality_flags``.

Identifier checks run on *distinct* values in Arrow (`citybrain.govern.validators`) and join back;
range and format checks are plain Ibis expressions. A flag is ``<column>:<reason>``, e.g.
``id_number:bad_check_digit``; a row is never dropped for one. Missing values are not flagged:
completeness is measured by the quality stage.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.engine import Engine
from citybrain.core.stdmodel import StdTable
from citybrain.govern.standardize.conform import DUPLICATE, SRC_SUFFIX
from citybrain.govern.validators import (
    normalise_phone,
    validate_phone,
    validate_plate,
    validate_resident_id,
    validate_uscc,
)

BBox = tuple[float, float, float, float]
EMPTY = ibis.literal([], type="array<string>")
EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 1, 1)
PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"
_NULL = ibis.null().cast("string")


@dataclass(frozen=True)
class Rules:
    """What the checks need to know about the city and its sources."""

    bbox: BBox | None = None
    code_lists: dict[str, frozenset[str]] | None = None  # column → allowed standard values
    today: date | None = None


def flag(condition: ir.BooleanValue, code: str | ir.StringValue) -> ir.ArrayValue:
    """``[code]`` where ``condition`` holds, else ``[]`` (`combine` joins them)."""
    code_value = ibis.literal(code) if isinstance(code, str) else code
    return ibis.ifelse(condition.fill_null(False), ibis.array([code_value]), EMPTY)


def combine(flags: list[ir.ArrayValue]) -> ir.ArrayValue:
    """The codes raised, in order, as one array: the flags' arrays in one array, flattened.

    Not a chain of concatenations: DuckDB's compiled ``ARRAY_CONCAT`` is ``CASE WHEN a IS NULL OR
    b IS NULL … LIST_CONCAT(a, b)``, each level writing its operands twice — 17 date checks made
    14 MB of SQL and 25 s of compiling for one table. (Nor a filter over nulls: its lambda has the
    arrow syntax DuckDB 2 refuses.)
    """
    if not flags:
        return EMPTY
    return ibis.array(flags).flatten()


_Validator = Callable[[pa.Array], tuple[pa.Array, pa.Array | None]]


def _resident_id(values: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    return validate_resident_id(values), None


def _uscc(values: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    return validate_uscc(values), None


def _phone(values: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    normalised = normalise_phone(values)
    return validate_phone(values), pc.if_else(pc.equal(normalised, ""), None, normalised)


def _plate(values: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    return validate_plate(values), None


_BY_ROLE: dict[str, _Validator] = {
    "id_number": _resident_id,
    "uscc": _uscc,
    "phone": _phone,
    "plate": _plate,
}


def _distinct_lookup(
    engine: Engine, table: ir.Table, column: str, validator: _Validator
) -> ir.Table | None:
    """(value, reason, normalised) for each distinct non-null value, registered on the engine."""
    values = table.select(_v=table[column]).filter(ibis._["_v"].notnull()).distinct()
    distinct = engine.to_arrow(values).column("_v").combine_chunks()
    if len(distinct) == 0:
        return None
    reasons, normalised = validator(distinct)
    reasons = pc.if_else(pc.equal(reasons, "missing"), None, reasons)
    lookup = pa.table(
        {
            f"_v_{column}": distinct,
            f"_r_{column}": reasons,
            f"_n_{column}": normalised if normalised is not None else distinct,
        }
    )
    return engine.register(f"_cb_std_{column}_{uuid.uuid4().hex[:8]}", lookup)


def validate_identifiers(
    engine: Engine, table: ir.Table, std: StdTable
) -> tuple[ir.Table, list[ir.ArrayValue]]:
    """Join the distinct-value checks back; phones are replaced by their normalised form."""
    checked: list[str] = []
    for column in std.columns:
        validator = _BY_ROLE.get(column.role or "")
        if validator is None:
            continue
        lookup = _distinct_lookup(engine, table, column.name, validator)
        if lookup is None:
            continue
        keep = list(table.columns)
        joined = table.left_join(lookup, table[column.name] == lookup[f"_v_{column.name}"])
        table = joined.select(
            *[c for c in keep if c != column.name],
            **{
                column.name: joined[f"_n_{column.name}"].coalesce(joined[column.name]),
                f"_r_{column.name}": joined[f"_r_{column.name}"],
            },
        )
        checked.append(column.name)
    flags = [
        flag(table[f"_r_{name}"].notnull(), ibis.literal(f"{name}:") + table[f"_r_{name}"])
        for name in checked
    ]
    return table, flags


def range_flags(table: ir.Table, std: StdTable, rules: Rules) -> list[ir.ArrayValue]:
    """Dates in range, periods well formed, coordinates in the city, codes on their list."""
    today = rules.today or date.today()
    flags: list[ir.ArrayValue] = []
    for column in std.columns:
        value = table[column.name]
        name = column.name
        if column.type in ("date", "timestamp"):
            low = ibis.literal(EARLIEST).cast(column.type if column.type == "date" else "date")
            as_date = value.cast("date") if column.type == "timestamp" else value
            latest = today if name == "birth_date" else LATEST
            flags.append(
                flag((as_date < low) | (as_date > ibis.literal(latest)), f"{name}:out_of_range")
            )
            src = name + SRC_SUFFIX
            if src in table.columns:
                flags.append(flag(value.isnull() & table[src].notnull(), f"{name}:unparsed"))
        if column.role == "period":
            flags.append(flag(value.notnull() & ~value.re_search(PERIOD), f"{name}:bad_format"))
        if column.role in ("lon", "lat") and rules.bbox is not None:
            low_, high_ = (rules.bbox[0], rules.bbox[2]) if column.role == "lon" else (
                rules.bbox[1], rules.bbox[3])  # fmt: skip
            flags.append(flag((value < low_) | (value > high_), f"{name}:outside_city"))
        codes = (rules.code_lists or {}).get(name)
        if column.role == "code" and codes:
            flags.append(flag(value.notnull() & ~value.isin(sorted(codes)), f"{name}:unknown_code"))
    if "birth_date" in std.column_names and "id_number" in std.column_names:
        flags.append(_birth_date_mismatch(table))
    return flags


def _birth_date_mismatch(table: ir.Table) -> ir.ArrayValue:
    """The birth date written in a (well-formed) ID number differs from the birth-date column."""
    number, birth = table["id_number"], table["birth_date"]
    digits = number.re_search(r"^\d{17}[\dXx]$")
    written = number.substr(6, 8)
    expected = (
        birth.year().cast("string")
        + birth.month().cast("string").lpad(2, "0")
        + birth.day().cast("string").lpad(2, "0")
    )
    return flag(digits & birth.notnull() & (written != expected), "birth_date:differs_from_id")


def duplicate_flag(table: ir.Table) -> ir.ArrayValue:
    return flag(table[DUPLICATE], "record_key:duplicate")
