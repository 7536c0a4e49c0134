"""Assess every standardised source: the measures, the score, its trend across loads, alerts."""

from __future__ import annotations

from datetime import UTC, datetime

from citybrain.core.engine import Engine
from citybrain.core.stdmodel import STD_TABLES
from citybrain.govern.quality.consistency import consistency
from citybrain.govern.quality.measures import (
    EventTimes,
    add,
    delivered_columns,
    event_column,
    event_timeliness,
    field_quality,
    missing_event_time_alert,
    unchecked_columns,
)
from citybrain.govern.quality.model import (
    Consistency,
    FieldQuality,
    LoadScore,
    QualityReport,
    SourceQuality,
)
from citybrain.govern.quality.score import alerts_for, timeliness, weighted
from citybrain.govern.quality.stored import MeasureStore
from citybrain.govern.standardize import RawSource
from citybrain.ingest.catalog import expected_refresh


def _dimensions(fields: list[FieldQuality], rows: int, duplicates: int | None) -> dict[str, float]:
    dims: dict[str, float] = {}
    if fields:
        dims["completeness"] = sum(f.completeness for f in fields) / len(fields)
        checked = [f for f in fields if f.checked]  # an unchecked field is no 100 %
        if checked:
            dims["validity"] = sum(f.validity for f in checked) / len(checked)
    if duplicates is not None and rows:
        dims["uniqueness"] = 1.0 - duplicates / rows
    return dims


def assess(
    engine: Engine,
    sources_by_table: dict[str, list[RawSource]],
    *,
    only: str | None = None,
    now: datetime | None = None,
    stored: MeasureStore | None = None,
) -> QualityReport:
    """The quality of every source whose std table exists (or of ``only``). ``stored``: figures
    kept from earlier assessments, reused where their tables did not change (and updated with
    what this one measured); the report is the same as without them."""
    now = now or datetime.now(UTC)
    stored = stored if stored is not None else MeasureStore()
    stored.start()
    checks = consistency(engine, stored)
    report = QualityReport()
    for name, sources in sorted(sources_by_table.items()):
        wanted = [s for s in sources if only is None or s.system == only]
        if not wanted or not engine.exists("std", name):
            continue
        std = STD_TABLES[name]
        measured = stored.table(engine, std)
        filled, flags, timed = measured.filled, measured.flags, measured.times
        unchecked = unchecked_columns(engine, std)
        for source in wanted:
            assessed = _source(source, std.name, filled, flags, checks.get(source.system, []), now)
            if unchecked:
                _not_checked(assessed, unchecked)
            # a table with an event time: measured on it, mapped or not (a source that does not
            # deliver it has no row that can be placed in time, and is told so)
            times = timed.get(source.system)
            column = event_column(std)
            if times is not None and column is not None:
                _on_event_time(assessed, source, times, now)
                alert = missing_event_time_alert(source.system, assessed.owner, column, times)
                if alert is not None:
                    report.alerts.append(alert)
            report.sources.append(assessed)
    for assessed in report.sources:
        report.alerts.extend(alerts_for(assessed))
    report.measured = dict(stored.how)
    return report


def _not_checked(assessed: SourceQuality, columns: frozenset[str]) -> None:
    """Fields nothing could check: marked so, and out of the validity dimension."""
    assessed.fields = [
        FieldQuality(f.column, f.rows, f.filled, f.invalid, False) if f.column in columns else f
        for f in assessed.fields
    ]
    validity = _dimensions(assessed.fields, assessed.rows, None).get("validity")
    _rescore(assessed, "validity", validity)


def _on_event_time(
    assessed: SourceQuality, source: RawSource, times: EventTimes, now: datetime
) -> None:
    """Timeliness measured on the data's own event time (it replaces the load-time measure)."""
    period = expected_refresh(source.contract.refresh.schedule)
    on_time, _ = event_timeliness(times, period, now)
    assessed.timeliness = on_time
    _rescore(assessed, "timeliness", on_time)


def _rescore(assessed: SourceQuality, dimension: str, value: float | None) -> None:
    """Set (or, with None, drop) one dimension of a source and weigh its score again."""
    if value is None:
        assessed.dimensions.pop(dimension, None)
    else:
        assessed.dimensions[dimension] = value
    assessed.score = weighted(assessed.dimensions)


def _source(
    source: RawSource,
    table: str,
    filled: dict[tuple[str, str], dict[str, int]],
    flags: dict[tuple[str, str], dict[str, int]],
    checks: list[Consistency],
    now: datetime,
) -> SourceQuality:
    columns = delivered_columns(source, STD_TABLES[table])
    keyed = bool(source.contract.keys)
    all_filled: dict[str, int] = {}
    all_flags: dict[str, int] = {}
    trend: list[LoadScore] = []
    for load_id in source.load_ids:
        load_filled = filled.get((source.system, load_id), {})
        load_flags = flags.get((source.system, load_id), {})
        if not load_filled:
            continue  # every row of this load was superseded by a later one
        add(all_filled, load_filled)
        add(all_flags, load_flags)
        rows = load_filled.get("_rows", 0)
        dups = load_flags.get("_duplicate", 0) if keyed else None
        dims = _dimensions(field_quality(columns, load_filled, load_flags), rows, dups)
        trend.append(LoadScore(load_id, rows, weighted(dims)))
    rows = all_filled.get("_rows", 0)
    fields = field_quality(columns, all_filled, all_flags)
    duplicates = all_flags.get("_duplicate", 0) if keyed else None
    dims = _dimensions(fields, rows, duplicates)
    if checks:
        compared = sum(c.compared for c in checks)
        dims["consistency"] = sum(c.agreeing for c in checks) / compared if compared else 1.0
    on_time = timeliness(source.last_loaded, source.contract.refresh.schedule, now)
    if on_time is not None:
        dims["timeliness"] = on_time
    return SourceQuality(
        system=source.system, table=table, owner=source.contract.owner, rows=rows,
        fields=fields, duplicates=duplicates, consistency=list(checks), timeliness=on_time,
        trend=trend, dimensions=dims, score=weighted(dims),
    )  # fmt: skip
