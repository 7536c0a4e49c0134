"""Completeness, validity, uniqueness and event-time timeliness of a std table, per source (and
per load), in the engine.

Validity comes from the flags standardisation set: a flag ``<column>:<reason>`` makes that value
invalid. Uniqueness counts rows flagged ``record_key:duplicate``. Timeliness of a table with an
event time (role ``event_time``) is measured on that time, not on when the data was loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import ibis
import ibis.expr.types as ir

from citybrain.core.engine import Engine
from citybrain.core.stdmodel import FLAGS_COLUMN, StdTable
from citybrain.govern.quality.model import Alert, FieldQuality
from citybrain.govern.standardize import RawSource

DUPLICATE_FLAG = "record_key:duplicate"
BEIJING = timedelta(hours=8)  # timestamps land as Beijing local time
# On time within one and a half expected periods, worthless after three (as for load times).
GRACE, LIMIT = 1.5, 3.0
Counts = dict[tuple[str, str], dict[str, int]]  # (system, load_id) → column → count
# the event time's figures in `table_counts`' query (not columns: std columns have no "__")
_TIMED, _LATEST = "__timed", "__latest"


def delivered_columns(source: RawSource, std: StdTable) -> list[str]:
    """The std columns a source fills (mapped or constant); the others are not its fault."""
    landed = set(source.columns) | {m.target for m in source.contract.mapping.columns}
    landed |= set(source.contract.constants)
    return [
        c.name
        for c in std.columns
        if c.name in landed or any(name.startswith(c.name + "_") for name in landed)
    ]


def blank(value: ir.StringValue) -> ir.BooleanValue:
    """A text value that is there but blank: nothing but the whitespace ``strip`` removes."""
    # Every character strip() removes is at most " " (0x20) and strings compare by bytes, so a
    # value >= "!" is not blank. Compared first, the strip is skipped for nearly every value, and
    # the engine skips whole row groups whose Parquet statistics put every value at "!" or above.
    return (value < "!") & (value.strip().length() == 0)


def blank_counts(engine: Engine, table: ir.Table, std: StdTable) -> Counts:
    """Blank text values per column, by source and load (the columns that have any)."""
    parts = []
    for column in std.columns:
        if column.type == "string":
            rows = table.filter(blank(table[column.name]))
            grouped = rows.group_by("source_system", "load_id").agg(n=rows.count())
            parts.append(grouped.mutate(column=ibis.literal(column.name)))
    out: Counts = {}
    if parts:
        for row in engine.to_arrow(ibis.union(*parts)).to_pylist():
            key = (row["source_system"], row["load_id"])
            out.setdefault(key, {})[row["column"]] = int(row["n"])
    return out


def table_counts(
    engine: Engine, table: ir.Table, std: StdTable
) -> tuple[Counts, dict[str, EventTimes]]:
    """Rows and filled values per column, by source and load (a value is filled when it is not
    null nor `blank`); and each source's rows, rows with an event time and latest event time.

    Two queries: the values present (the engine may answer from Parquet statistics without
    reading a column that has no nulls) and the blank ones (it reads only the row groups whose
    statistics allow one) — on DuckDB ~10x less CPU than stripping every text value."""
    metrics: dict[str, ir.Scalar] = {"_rows": table.count()}
    for column in std.columns:
        metrics[column.name] = table[column.name].count()
    event = event_column(std)
    if event is not None:
        metrics[_TIMED], metrics[_LATEST] = table[event].count(), table[event].max()
    grouped = table.group_by("source_system", "load_id").agg(**metrics)
    blanks = blank_counts(engine, table, std)
    counts: Counts = {}
    times: dict[str, EventTimes] = {}
    for row in engine.to_arrow(grouped).to_pylist():
        system = row.pop("source_system")
        key = (system, row.pop("load_id"))
        if event is not None:
            timed, latest = int(row.pop(_TIMED) or 0), row.pop(_LATEST)
            load = EventTimes(int(row["_rows"] or 0), timed, latest)
            times[system] = load if system not in times else later(times[system], load)
        for name, n in blanks.get(key, {}).items():
            row[name] -= n
        counts[key] = {k: int(v or 0) for k, v in row.items()}
    return counts, times


def flag_counts(engine: Engine, table: ir.Table) -> Counts:
    """Flags per column (the part before the first colon), by source and load."""
    # most rows carry no flag: the engine unnests (and reads the keys of) the others only
    flagged = table.filter(table[FLAGS_COLUMN].length() > 0)
    flags = flagged.select("source_system", "load_id", flag=flagged[FLAGS_COLUMN].unnest())
    flags = flags.mutate(column=ibis.ifelse(
        flags["flag"] == DUPLICATE_FLAG, "_duplicate", flags["flag"].re_extract(r"^([^:]+):", 1)
    ))  # fmt: skip
    grouped = flags.group_by("source_system", "load_id", "column").agg(n=flags.count())
    out: Counts = {}
    for row in engine.to_arrow(grouped).to_pylist():
        out.setdefault((row["source_system"], row["load_id"]), {})[row["column"]] = int(row["n"])
    return out


def field_quality(
    columns: list[str],
    filled: dict[str, int],
    flags: dict[str, int],
    unchecked: frozenset[str] = frozenset(),
) -> list[FieldQuality]:
    rows = filled.get("_rows", 0)
    return [
        FieldQuality(c, rows, filled.get(c, 0), flags.get(c, 0), c not in unchecked)
        for c in columns
    ]


def unchecked_columns(engine: Engine, std: StdTable) -> frozenset[str]:
    """Columns whose validity nothing checked: the address column while no address base
    (std.standard_address) is loaded — not 100 % valid, "not checked"."""
    address = next((c.name for c in std.columns if c.role == "address"), None)
    if address is None or engine.exists("std", "standard_address"):
        return frozenset()
    return frozenset({address})


def add(into: dict[str, int], more: dict[str, int]) -> None:
    for key, value in more.items():
        into[key] = into.get(key, 0) + value


@dataclass(frozen=True)
class EventTimes:
    """A source's rows, those with an event time, and the latest event time (local time)."""

    rows: int
    timed: int
    latest: datetime | None


def event_column(std: StdTable) -> str | None:
    """The column holding when the thing happened (role ``event_time``), if the table has one."""
    return next((c.name for c in std.columns if c.role == "event_time"), None)


def later(one: EventTimes, other: EventTimes) -> EventTimes:
    """The event times of the rows of ``one`` and ``other`` together."""
    latest = [t for t in (one.latest, other.latest) if t is not None]
    return EventTimes(one.rows + other.rows, one.timed + other.timed, max(latest, default=None))


def event_timeliness(
    times: EventTimes, period: timedelta | None, now: datetime
) -> tuple[float | None, float]:
    """Timeliness on the data's own time: how recent the newest event is against the expected
    cadence (1 within GRACE periods, 0 after LIMIT), times the share of rows that have an event
    time at all — a row without one cannot be on time. Also returns that share. Without an
    expected cadence recency cannot be judged: the share alone, or None when every row has a time.

    Event times are Beijing local time (how timestamps land); ``now`` is aware UTC."""
    share = times.timed / times.rows if times.rows else 1.0
    if times.latest is None:
        return 0.0, share
    if period is None:
        return (share if share < 1.0 else None), share
    local_now = (now.astimezone(UTC) + BEIJING).replace(tzinfo=None)
    age = (local_now - times.latest.replace(tzinfo=None)) / period
    recent = 1.0 if age <= GRACE else max(0.0, (LIMIT - age) / (LIMIT - GRACE))
    return recent * share, share


def missing_event_time_alert(
    system: str, owner: str, column: str, times: EventTimes
) -> Alert | None:
    """An alert for the owner when rows have no event time (they cannot be placed in time)."""
    missing = times.rows - times.timed
    if missing <= 0:
        return None
    share = times.timed / times.rows
    return Alert(
        system, owner, "critical" if times.timed == 0 else "warning", f"timeliness:{column}",
        share, 1.0,
        f"{system} 有 {missing} 行没有事件时间（{column}），无法判断时效",
        f"{system}: {missing} of {times.rows} rows have no event time ({column}); "
        "their timeliness cannot be known",
    )  # fmt: skip
