"""From delivered columns to standard-model columns, vectorised with ``pyarrow.compute``.

For each mapped column: normalise text (trim, null markers), map its code list, cast it (numbers
that do not cast as a whole column are validated by a regular expression first, dates are parsed
with ``error_is_null``), convert units and run its checks. Every row gets one reason — the first
check it fails, e.g. ``bad_date:收费日期`` — or null when it lands. There is no per-row Python, and
the plan is data: ``MappingPlan.describe()``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping as TypingMapping
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePath
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.errors import UserError
from citybrain.ingest.connectors.base import INTERNAL, LINE, REASON, ROW, text_table
from citybrain.ingest.contract import (
    CITY_UTC_OFFSET,
    DATE_TIME_PARTS,
    TIME_PARTS,
    ColumnMapping,
    Mapping,
    offset_seconds,
)
from citybrain.ingest.coords import gcj02_to_wgs84
from citybrain.ingest.units import unit_factor

LOAD_ID = "_load_id"
SOURCE_ROW = "_row"
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "period": pa.string(),
}
BAD = {
    "period": "bad_period",
    "int64": "bad_int",
    "float64": "bad_number",
    "bool": "bad_bool",
    "date": "bad_date",
    "timestamp": "bad_timestamp",
}
INT_RE = r"^[+-]?\d{1,18}(\.0*)?$"
FLOAT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
ISO_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
TRUE = ("1", "true", "t", "y", "yes", "是", "真")
FALSE = ("0", "false", "f", "n", "no", "否", "假")
PERIOD_RE = r"^(?P<y>\d{4})\s*[-/.年]?\s*(?P<m>0?[1-9]|1[0-2])\s*月?$"
EPOCH_US = {"s": 1_000_000, "ms": 1_000, "us": 1}
_NULL_TEXT = pa.scalar(None, pa.string())
SLICE_MAX_CUTS = 1_000  # beyond this many bad rows in a chunk a filter is cheaper than slices
Column: TypeAlias = Any  # a pyarrow Array or ChunkedArray (pyarrow has no type stubs)


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


def unmapped_columns(mapping: Mapping, delivered: Sequence[str]) -> tuple[str, ...]:
    """Delivered columns the mapping neither maps nor ignores."""
    known = {name for c in mapping.columns for name in c.sources} | set(mapping.ignore)
    known |= {c.year_from for c in mapping.columns if c.year_from}
    return tuple(c for c in delivered if c not in known and c not in INTERNAL)


def detect_drift(mapping: Mapping, delivered: Sequence[str], *, fixed: bool) -> Drift:
    """Compare delivered columns with the contract (missing only counts for fixed layouts).

    With ``keep_unmapped`` a column the mapping does not name is expected: it lands as delivered.
    """
    if not mapping.columns:
        return Drift()
    unknown = () if mapping.keep_unmapped else unmapped_columns(mapping, delivered)
    present = set(delivered)
    missing: list[str] = []
    for c in mapping.columns if fixed else ():
        if c.combine:  # a time over several columns needs every one of them
            missing += [name for name in c.combine.values() if name not in present]
        elif present.isdisjoint(c.sources):
            missing.append(c.source)
    return Drift(unknown, tuple(dict.fromkeys(missing)))


@dataclass
class MappingPlan:
    """What to do with chunks whose delivered columns have these types."""

    mapping: Mapping
    delivered: dict[str, pa.DataType]
    keys: frozenset[str] = frozenset()
    passthrough: list[str] = field(default_factory=list)
    load_id: str = ""
    force_reason: str | None = None
    source_file: str = ""

    def describe(self) -> str:
        lines = []
        for col in self.mapping.columns:
            steps = [f"{' | '.join(col.sources)} → {col.target}: {col.type}"]
            if col.part:
                steps.append(f"part {col.part.index} of {col.part.count} by {col.part.sep!r}")
            if col.epoch:
                steps.append(f"epoch {col.epoch}{' ' + col.utc_offset if col.utc_offset else ''}")
            if col.combine:
                steps.append("combine " + ", ".join(f"{k}={v}" for k, v in col.combine.items()))
            if col.zoned:
                target = col.utc_offset or CITY_UTC_OFFSET
                steps.append(f"zone {col.source_offset or '%z'} → {target}")
            if col.codes:
                steps.append(f"codes({len(col.codes)}, unknown={col.on_unknown_code})")
            if col.formats:
                steps.append("formats " + " | ".join(col.formats))
            if col.unit:
                steps.append(f"unit {col.unit.from_unit}→{col.unit.to_unit}")
            if col.target in self.keys:
                steps.append("key")
            lines.append(", ".join(steps))
        for pair in self.mapping.coords:
            lines.append(f"{pair.lon}, {pair.lat}: {pair.from_datum} → wgs84")
        if self.mapping.from_filename:
            names = ", ".join(self.mapping.from_filename.columns())
            lines.append(f"file name → {names}")
        lines.extend(f"{name} → {name}: as delivered" for name in self.passthrough)
        if self.force_reason:
            lines.append(f"every row → quarantine ({self.force_reason})")
        return "\n".join(lines)


def plan_mapping(
    mapping: Mapping,
    delivered: TypingMapping[str, pa.DataType],
    *,
    keys: Sequence[str] = (),
    extra: Sequence[str] = (),
    load_id: str = "",
    force_reason: str | None = None,
    source_file: str = "",
) -> MappingPlan:
    """``extra`` delivered columns land as-is (drift policy ``evolve``); with no mapped columns
    every delivered column lands as-is. ``force_reason`` sends every row to quarantine.
    ``source_file`` is the delivered file, for values read from its name.

    A number mapped to a date or time without ``epoch`` is refused (UserError): Arrow would read
    it as microseconds since 1970 without a word."""
    columns = dict(delivered)
    for i, col in enumerate(mapping.columns):
        kinds = [columns[n] for n in col.sources if n in columns]
        numeric = any(pa.types.is_integer(k) or pa.types.is_floating(k) for k in kinds)
        if col.type in ("date", "timestamp") and col.epoch is None and numeric:
            raise UserError(
                f"mapping.columns[{i}] ({col.source} → {col.target}): the column is delivered"
                f" as numbers and would land as 1970 times",
                hint=f"say epoch: s, ms or us at mapping.columns[{i}].epoch",
            )
    passthrough = list(extra) if mapping.columns else [c for c in columns if c not in INTERNAL]
    if mapping.columns and mapping.keep_unmapped:
        passthrough += [c for c in unmapped_columns(mapping, list(columns)) if c not in passthrough]
    return MappingPlan(
        mapping, columns, frozenset(keys), passthrough, load_id, force_reason, source_file
    )


@dataclass
class MappedChunk:
    landed: pa.Table
    quarantined: pa.Table  # delivered columns as text + __cb_row, __cb_line, __cb_reason


def apply_plan(plan: MappingPlan, chunk: pa.Table) -> MappedChunk:
    """Map one chunk and split it into rows that land and rows for quarantine."""
    n = chunk.num_rows
    out: dict[str, Column] = {}
    checks: list[Column | None] = [chunk.column(REASON)]
    for col in plan.mapping.columns:
        value, original, col_checks = _map_column(plan, col, chunk)
        out[col.target] = value
        if original is not None:
            out[col.target + "__src"] = original
        checks.extend(c for c in col_checks if c is not None)
    for pair in plan.mapping.coords:
        if pair.from_datum == "gcj02":
            out[pair.lon], out[pair.lat] = _to_wgs84(out[pair.lon], out[pair.lat])
    if plan.mapping.from_filename is not None:
        values, reason = _from_filename(plan, n)
        out.update(values)
        checks.append(reason)
    for name in plan.passthrough:
        out[name] = chunk.column(name)
    out[LOAD_ID] = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([plan.load_id], pa.string())
    )
    out[SOURCE_ROW] = chunk.column(ROW)
    result = pa.table(out)
    if plan.force_reason:
        reasons: Column = pa.array([plan.force_reason] * n, pa.string())
    else:
        present = [c for c in checks if c is not None and c.null_count < len(c)]
        reasons = pc.coalesce(*present) if len(present) > 1 else (present[0] if present else None)
    if reasons is None or reasons.null_count == n:
        empty = chunk.schema.empty_table()
        return MappedChunk(result, _quarantine_view(empty, empty.column(REASON)))
    bad = pc.is_valid(reasons)
    return MappedChunk(
        _without(result, bad), _quarantine_view(chunk.filter(bad), reasons.filter(bad))
    )


def _without(table: pa.Table, drop: Column) -> pa.Table:
    """``table`` without the rows where ``drop`` is true. A few scattered bad rows (the usual
    case) are cut out by zero-copy slices; filtering copies every column of every row."""
    positions = np.flatnonzero(np.asarray(drop.to_numpy(zero_copy_only=False), dtype=bool))
    if len(positions) > SLICE_MAX_CUTS:
        return table.filter(pc.invert(drop))
    starts = np.concatenate(([0], positions + 1))
    ends = np.concatenate((positions, [table.num_rows]))
    parts = [table.slice(a, b - a) for a, b in zip(starts, ends, strict=True) if b > a]
    return pa.concat_tables(parts) if parts else table.slice(0, 0)


def _quarantine_view(rejected: pa.Table, reasons: Column) -> pa.Table:
    delivered = [c for c in rejected.column_names if c not in INTERNAL]
    table = text_table(rejected.select(delivered))
    for name in (ROW, LINE):
        table = table.append_column(name, rejected.column(name))
    return table.append_column(REASON, reasons)


def _reason(mask: Column, reason: str) -> Column | None:
    """The reason where ``mask`` is true, else null; None when it is true nowhere (usually)."""
    if not pc.any(mask).as_py():
        return None
    return pc.if_else(mask, pa.scalar(reason), _NULL_TEXT)


def _is_text(kind: pa.DataType | None) -> bool:
    return kind is None or pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _map_column(
    plan: MappingPlan, col: ColumnMapping, chunk: pa.Table
) -> tuple[Column, Column | None, list[Column | None]]:
    """The landed value, the delivered text kept for lineage (or None), and the row checks."""
    n = chunk.num_rows
    target = ARROW_TYPES[col.type]
    names = [name for name in col.sources if name in plan.delivered]
    if not names:  # missing under drift policy evolve
        missing = _reason(pa.array(np.ones(n, bool)), f"missing_key:{col.source}")
        return pa.nulls(n, target), None, [missing] if col.target in plan.keys else []
    if col.combine:
        combined = _combined(plan, col, chunk)
        if combined is None:  # a part's column is not delivered (drift policy evolve)
            missing = _reason(pa.array(np.ones(n, bool)), f"missing_key:{col.source}")
            return pa.nulls(n, target), None, [missing] if col.target in plan.keys else []
        kind, (delivered, any_part) = pa.string(), combined
    else:
        kind, delivered = _delivered(plan, names, chunk)
    text = _is_text(kind)
    clean = _clean_number(delivered, col, plan.mapping) if text else None
    norm = _normalise(delivered, plan.mapping) if text and clean is None else delivered
    checks: list[Column | None] = []
    if col.part is not None:
        norm, split_failed = _part(norm if text else pc.cast(norm, pa.string()), col, plan.mapping)
        checks.append(_reason(split_failed, f"bad_split:{col.source}"))
        kind, text = pa.string(), True
    present = pc.is_valid(norm) if not col.combine else any_part  # a part alone is a bad time
    value = norm
    if col.codes:
        keys = pa.array(list(col.codes), pa.string())
        as_text = norm if text else pc.cast(norm, pa.string())
        index = pc.index_in(as_text, value_set=keys)
        value = pc.take(pa.array(list(col.codes.values()), pa.string()), index)
        unknown = pc.and_(present, pc.is_null(index))
        if col.on_unknown_code == "keep":
            value = pc.coalesce(value, as_text)
        elif col.on_unknown_code == "quarantine":
            checks.append(_reason(unknown, f"unknown_code:{col.source}"))
        text = True
    value = clean if clean is not None else _cast(value, col, text, _year(plan, col, chunk))
    if col.type in BAD:
        failed = pc.and_(present, pc.is_null(value))
        checks.append(_reason(failed, f"{BAD[col.type]}:{col.source}"))
    if col.target in plan.keys:
        checks.append(_reason(pc.is_null(value), f"missing_key:{col.source}"))
    elif col.required:
        checks.append(_reason(pc.is_null(value), f"missing:{col.source}"))
    if col.min is not None:
        checks.append(_reason(pc.less(value, col.min), f"out_of_range:{col.source}"))
    if col.max is not None:
        checks.append(_reason(pc.greater(value, col.max), f"out_of_range:{col.source}"))
    if col.pattern is not None:
        as_text = norm if _is_text(kind) else pc.cast(norm, pa.string())
        matches = pc.match_substring_regex(as_text, f"^(?:{col.pattern})$")
        checks.append(_reason(pc.invert(matches), f"bad_format:{col.source}"))
    keep = (
        col.keep_original
        if col.keep_original is not None
        else (col.type in ("date", "timestamp") or bool(col.codes))
    )
    original = (norm if _is_text(kind) else pc.cast(norm, pa.string())) if keep else None
    return value, original, checks


def _clean_number(values: Column, col: ColumnMapping, mapping: Mapping) -> Column | None:
    """A text column of numbers cast as delivered, when every value casts: then no value has
    whitespace to trim or is a null marker (neither casts), so normalising would change nothing
    and is skipped. None when the column needs the general path."""
    if col.type not in ("int64", "float64") or col.part or col.codes or col.thousands:
        return None
    if col.epoch is not None or not _markers_never_cast(tuple(mapping.null_values), col.type):
        return None
    try:
        return _convert_unit(pc.cast(values, ARROW_TYPES[col.type]), col)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


@functools.cache
def _markers_never_cast(markers: tuple[str, ...], kind: str) -> bool:
    """Whether no null marker of the contract reads as a number (a marker such as ``0`` would)."""
    for marker in markers:
        try:
            pc.cast(pa.array([marker.strip()], pa.string()), ARROW_TYPES[kind])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return False
    return True


def _normalise(values: Column, mapping: Mapping) -> Column:
    if mapping.trim:
        values = pc.utf8_trim_whitespace(values)
    if mapping.null_values and _may_hold(values, mapping.null_values):
        is_null_marker = pc.is_in(values, value_set=pa.array(mapping.null_values, pa.string()))
        if pc.any(is_null_marker).as_py():
            values = pc.if_else(is_null_marker, _NULL_TEXT, values)
    return values


def _may_hold(values: Column, markers: Sequence[str]) -> bool:
    """Whether any value is short enough to be one of ``markers``: ids, names, addresses and
    dates are longer than NULL or \\N, and their lengths are read without hashing every value."""
    shortest = pc.min(pc.binary_length(values)).as_py()
    return shortest is not None and shortest <= max(len(m.encode()) for m in markers)


def _delivered(plan: MappingPlan, names: list[str], chunk: pa.Table) -> tuple[pa.DataType, Column]:
    """The column under its first delivered name, its gaps filled from the later names."""
    kinds = [plan.delivered[name] for name in names]
    columns = [chunk.column(name) for name in names]
    if len(columns) == 1:
        return kinds[0], columns[0]
    if any(k != kinds[0] for k in kinds):
        columns = [
            c if _is_text(k) else pc.cast(c, pa.string())
            for c, k in zip(columns, kinds, strict=True)
        ]
        kinds = [pa.string()]
    return kinds[0], pc.coalesce(*columns)


_PART_FORMAT = {"year": "%Y", "month": "-%m", "day": "-%d", "hour": " %H", "minute": ":%M",
                "second": ":%S"}  # fmt: skip


def _combined(
    plan: MappingPlan, col: ColumnMapping, chunk: pa.Table
) -> tuple[Column, Column] | None:
    """The parts of a time written over several columns, joined as ISO text (2024-03-05 07:00:00)
    — numbers as integers (7.0 → 07), null markers null, null if a part is — and where any part
    has a value. Hour, minute and second not named are 00. A date and a time-of-day column are
    joined with a space. None when a part's column is not delivered."""
    assert col.combine is not None
    texts = []
    any_part: Column = pa.array(np.zeros(chunk.num_rows, bool))
    # 日期 + 时间: the two texts with a space between, read by the formats; or year, month …
    parts = DATE_TIME_PARTS if "date" in col.combine else TIME_PARTS
    for part in parts:
        name = col.combine.get(part)
        if name is None:
            if part in ("hour", "minute", "second") and col.type == "timestamp":
                texts.append(pa.scalar(_PART_FORMAT[part][0] + "00"))
            continue
        if name not in plan.delivered:
            return None
        value = chunk.column(name)
        if not _is_text(plan.delivered[name]):
            value = pc.cast(value, pa.string())
        value = _normalise(value, plan.mapping)
        if part in TIME_PARTS:  # a number part: 7.0 → 07
            value = pc.replace_substring_regex(value, r"\.0*$", "")
        any_part = pc.or_(any_part, pc.is_valid(value))
        if part == "time":
            value = pc.binary_join_element_wise(pa.scalar(" "), value, "")
        elif part not in ("year", "date"):
            value = pc.utf8_lpad(value, width=2, padding="0")
            value = pc.binary_join_element_wise(pa.scalar(_PART_FORMAT[part][0]), value, "")
        texts.append(value)
    joined = pc.binary_join_element_wise(*texts, "")
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    return joined, any_part


def _part(values: Column, col: ColumnMapping, mapping: Mapping) -> tuple[Column, Column]:
    """Field ``part.index`` of each value, and where a value has not ``part.count`` fields."""
    assert col.part is not None
    pieces = pc.split_pattern(values, pattern=col.part.sep)
    failed = pc.fill_null(pc.not_equal(pc.list_value_length(pieces), col.part.count), False)
    good = pc.if_else(failed, pa.scalar(None, pieces.type), pieces)
    picked = pc.list_element(good, col.part.index)
    if mapping.trim:
        picked = pc.utf8_trim_whitespace(picked)
    empty = pc.equal(picked, "")
    return pc.if_else(empty, _NULL_TEXT, picked), pc.or_kleene(failed, pc.fill_null(empty, False))


def _year(plan: MappingPlan, col: ColumnMapping, chunk: pa.Table) -> Column | None:
    """The year for formats that write none: a constant or a number in another column."""
    if col.default_year is not None:
        return pa.scalar(str(col.default_year))
    if col.year_from is None:
        return None
    if col.year_from not in plan.delivered:
        return pa.nulls(chunk.num_rows, pa.string())
    other = chunk.column(col.year_from)
    as_text = other if _is_text(plan.delivered[col.year_from]) else pc.cast(other, pa.string())
    return pc.struct_field(pc.extract_regex(as_text, r"(?P<y>\d{4})"), [0])


def _cast(values: Column, col: ColumnMapping, text: bool, year: Column | None = None) -> Column:
    target = ARROW_TYPES[col.type]
    if col.epoch is not None:
        return _epoch(values, col, text)
    if col.type == "period":
        return _period(values if text else pc.cast(values, pa.string()))
    if not text:
        try:
            out = pc.cast(values, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return _cast(pc.cast(values, pa.string()), col, True, year)
        return _convert_unit(out, col)
    if col.type == "string":
        return values
    if col.type in ("int64", "float64"):
        if col.thousands:
            values = pc.replace_substring(values, col.thousands, "")
        try:  # fast path: the whole column casts cleanly
            return _convert_unit(pc.cast(values, target), col)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        if col.type == "int64":
            valid = pc.match_substring_regex(values, INT_RE)
            clean = pc.replace_substring_regex(values, r"\.0*$", "")
        else:
            valid = pc.match_substring_regex(values, FLOAT_RE)
            clean = values
        out = pc.cast(pc.if_else(valid, clean, _NULL_TEXT), target)
        return _convert_unit(out, col)
    if col.type == "bool":
        lowered = pc.utf8_lower(values)
        yes = pc.is_in(lowered, value_set=pa.array(TRUE))
        no = pc.is_in(lowered, value_set=pa.array(FALSE))
        return pc.if_else(yes, True, pc.if_else(no, pa.scalar(False), pa.scalar(None, pa.bool_())))
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(year, pa.Array | pa.ChunkedArray):  # the same text is the same time
        distinct = _distinct(values)
        if distinct is not None:
            dictionary, indices = distinct
            return pc.take(_times(dictionary, col, year), indices)
    return _times(values, col, year)


def _times(values: Column, col: ColumnMapping, year: Column | None) -> Column:
    """Text parsed as dates or times by the column's formats, then the ISO ones."""
    target = ARROW_TYPES[col.type]
    if year is not None:  # formats without a year read "<year>|<text>" as "%Y|<format>"
        with_year = pc.binary_join_element_wise(year, values, "|")
        if isinstance(with_year, pa.ChunkedArray):
            with_year = with_year.combine_chunks()
    formats = [*col.formats, *ISO_FORMATS]
    parsed = None
    for fmt in formats:
        dated = year is not None and not any(t in fmt for t in ("%Y", "%y", "%G"))
        source, pattern = (with_year, "%Y|" + fmt) if dated else (values, fmt)
        if parsed is None:
            parsed = _zoned(_strptime(source, pattern), col, fmt)
            continue
        failed = pc.and_(pc.is_valid(values), pc.is_null(parsed))
        if not pc.any(failed).as_py():
            break
        again = _zoned(_strptime(source.filter(failed), pattern), col, fmt)
        parsed = pc.replace_with_mask(parsed, failed, again)
    return pc.cast(parsed, target)


def _distinct(values: pa.Array, sample_rows: int = 10_000) -> tuple[pa.Array, pa.Array] | None:
    """``values`` as (distinct values, index of each row's value) when a sample of the first rows
    repeats itself (a date column: a few hundred days over a million rows), else None. Parsing
    the distinct texts and taking them back costs a hash pass instead of a parse of every row;
    for times that rarely repeat the sample says no and nothing is spent."""
    n = len(values)
    sample = values.slice(0, sample_rows)
    if n < 64 or pc.count_distinct(sample, mode="all").as_py() > len(sample) // 4:
        return None
    encoded = pc.dictionary_encode(values)
    if len(encoded.dictionary) > n // 4:
        return None
    return encoded.dictionary, encoded.indices


def _zoned(parsed: Column, col: ColumnMapping, fmt: str) -> Column:
    """Times parsed with ``fmt`` as local time at the column's landing offset.

    A ``%z`` format reads the offset written in each value (Arrow answers UTC); other formats
    read times written at ``source_offset``. Either is moved to ``utc_offset`` (default Beijing
    time, +08:00). Without a zone in the contract or the format, times land as written."""
    if "%z" in fmt:
        parsed = pc.cast(parsed, pa.timestamp("us"))  # UTC, without the zone
        shift = offset_seconds(col.utc_offset or CITY_UTC_OFFSET)
    elif col.source_offset is not None:
        target = offset_seconds(col.utc_offset or CITY_UTC_OFFSET)
        shift = target - offset_seconds(col.source_offset)
    else:
        return parsed
    if shift == 0:
        return parsed
    return pc.add(parsed, pa.scalar(timedelta(seconds=shift), pa.duration("us")))


def _epoch(values: Column, col: ColumnMapping, text: bool) -> Column:
    """Unix time in ``col.epoch`` units → timestamp (UTC, or local time at ``utc_offset``)."""
    assert col.epoch is not None
    if text:
        valid = pc.match_substring_regex(values, FLOAT_RE)
        values = pc.cast(pc.if_else(valid, values, _NULL_TEXT), pa.float64())
    micros = pc.multiply(pc.cast(values, pa.float64()), float(EPOCH_US[col.epoch]))
    if col.utc_offset:
        micros = pc.add(micros, offset_seconds(col.utc_offset) * 1e6)
    limit = 1e17  # beyond year 5000: not a time, whatever the unit
    micros = pc.if_else(pc.less(pc.abs(micros), limit), micros, pa.scalar(None, pa.float64()))
    stamps = pc.cast(pc.cast(pc.round(micros), pa.int64()), pa.timestamp("us"))
    return pc.cast(stamps, ARROW_TYPES[col.type])


def _period(values: Column) -> Column:
    """``202301`` / ``2023年1月`` / ``2023-1`` → ``2023-01``; anything else null."""
    parts = pc.extract_regex(values, PERIOD_RE)
    year = pc.struct_field(parts, [0])
    month = pc.utf8_lpad(pc.struct_field(parts, [1]), width=2, padding="0")
    return pc.binary_join_element_wise(year, month, "-")


def _to_wgs84(lon: Column, lat: Column) -> tuple[Column, Column]:
    """Vectorised GCJ-02 → WGS-84 (null coordinates stay null)."""
    lon_np = pc.fill_null(lon, np.nan).to_numpy(zero_copy_only=False)
    lat_np = pc.fill_null(lat, np.nan).to_numpy(zero_copy_only=False)
    lon_f, lat_f = np.asarray(lon_np, float), np.asarray(lat_np, float)
    wlon, wlat = gcj02_to_wgs84(lon_f, lat_f)
    both = np.isfinite(lon_f) & np.isfinite(lat_f)  # half a point is kept as delivered
    wlon, wlat = np.where(both, wlon, lon_f), np.where(both, wlat, lat_f)
    return pa.array(wlon, from_pandas=True), pa.array(wlat, from_pandas=True)


def _from_filename(plan: MappingPlan, n: int) -> tuple[dict[str, Column], Column | None]:
    """The named groups of ``from_filename.pattern`` in the file name, as constant columns."""
    spec = plan.mapping.from_filename
    assert spec is not None
    found = re.search(spec.pattern, PurePath(plan.source_file).name)
    out: dict[str, Column] = {}
    for name in spec.columns():
        kind = spec.types.get(name, "string")
        text = found.group(name) if found else None
        value = pa.array([text] * n, pa.string())
        out[name] = value if kind == "string" else pc.cast(value, ARROW_TYPES[kind])
    reason = None if found else _reason(pa.array(np.ones(n, bool)), "bad_filename")
    return out, reason


def _strptime(values: Column, fmt: str) -> Column:
    """Parse with ``fmt``; impossible dates (2024-02-30) are null, not rolled into the next month.

    Arrow's parser rolls an impossible day over into days 1-3 of the next month, so only those rows
    are checked: the day written in the text must be the day parsed.
    """
    parsed = pc.strptime(values, format=fmt, unit="us", error_is_null=True)
    pattern = _day_pattern(fmt)
    if pattern is None:
        return parsed
    suspect = pc.and_kleene(pc.is_valid(parsed), pc.less_equal(pc.day(parsed), 3))
    if not pc.any(suspect).as_py():
        return parsed
    checked = parsed.filter(suspect)
    written = pc.struct_field(pc.extract_regex(values.filter(suspect), pattern), [0])
    same = pc.equal(pc.cast(written, pa.int64()), pc.day(checked))
    same = pc.or_kleene(same, pc.is_null(written))  # text the pattern cannot read: trust the parser
    kept = pc.if_else(same, checked, pa.scalar(None, parsed.type))
    return pc.replace_with_mask(parsed, suspect, kept)


_TOKENS = {"Y": r"\d{4}", "y": r"\d{2}", "m": r"\s*\d{1,2}", "d": r"\s*(?P<d>\d{1,2})",
           "H": r"\s*\d{1,2}", "M": r"\s*\d{1,2}", "S": r"\s*\d{1,2}", "%": "%"}  # fmt: skip


def _day_pattern(fmt: str) -> str | None:
    """A regular expression finding the day of month in text written as ``fmt``, if it has one."""
    if "%d" not in fmt:
        return None
    out, i = "^", 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            token = _TOKENS.get(fmt[i + 1])
            if token is None:
                return None
            out += token
            i += 2
        else:
            out += re.escape(fmt[i])
            i += 1
    return out


def _convert_unit(values: Column, col: ColumnMapping) -> Column:
    if col.unit is None:
        return values
    factor = col.unit.factor or unit_factor(col.unit.from_unit, col.unit.to_unit) or 1.0
    scaled = pc.multiply(pc.cast(values, pa.float64()), factor)
    return pc.cast(pc.round(scaled), pa.int64()) if col.type == "int64" else scaled
