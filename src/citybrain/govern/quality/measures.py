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


def event_times(engine: Engine, table: ir.Table, std: StdTable) -> dict[str, EventTimes]:
    """Per source: rows, rows with an event time, the latest event time — in the engine."""
    column = event_column(std)
    if column is None:
        return {}
    value = table[column]
    grouped = table.group_by("source_system").agg(
        rows=table.count(), timed=value.notnull().sum(), latest=value.max()
    )
    return {
        row["source_system"]: EventTimes(int(row["rows"]), int(row["timed"] or 0), row["latest"])
        for row in engine.to_arrow(grouped).to_pylist()
    }


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
