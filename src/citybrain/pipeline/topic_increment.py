"""A periodic topic's step recomputes only the days that new rows touch (issue 25: the nightly run).

A topic whose findings are per day of one time-series input declares it (`PeriodSpec`). Its step
records, beside its findings, what they were made from (`increment_parts`): the declaration, the
topic's stamp (version, parameters, labels), a fingerprint of its other inputs, the Parquet parts
of the time-series input (path, size, modification time), the newest day of a usable row and the
findings table as written. The next plain run finds (`plan_increment`) whether the only change
since is new parts beside the same parts — rows appended, exactly: lake files are written once
under a new name and never changed, a rebuilt table has none of its old parts — and then reads
the new parts' timestamps (their days are the touched days), hands the topic its inputs cut down
to the days whose findings can change (the touched days and their neighbours, and the newest day,
which side tables such as the map's latest snapshot come from) and stores, as the run's findings,
the new findings of those days and the previous run's findings of every other day.

A topic whose findings span all days but come from per-day partial results it keeps in a state
table (`PeriodSpec.state`, road traffic's slot sums) is handed the previous run's state rows of the
other days (`KeptState`) and makes its findings whole itself; no findings are kept for it.

Anything else — no record, ``--from`` / ``--only``, another stamp or declaration, another input
changed, a part removed or rewritten, findings or state touched since, a timestamp the day of
which the engines might read apart (a time zone but UTC) — is the full recompute, as for any
other topic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from citybrain.core.lake import appended_parts, parquet_parts
from citybrain.pipeline.fingerprint import combine, dataset_fingerprint
from citybrain.pipeline.graph import StepResult
from citybrain.topics.findings import FINDINGS_SCHEMA

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import ibis.expr.types as ir

    from citybrain.core.engine import Engine
    from citybrain.pipeline.context import RunContext
    from citybrain.topics.base import KeptState, PeriodSpec, Topic

SPEC, STAMP, OTHERS, SERIES, LATEST, FINDINGS, RUN, STATE = (
    "spec", "stamp", "others", "series", "latest", "findings", "run", "state",
)  # fmt: skip
DAY = r"^\d{4}-\d{2}-\d{2}"
#: time zones of a Parquet timestamp whose day is the day both engines read (Spark writes its
#: timestamps adjusted to UTC and reads them in a UTC session; DuckDB writes them plain)
UTC = ("UTC", "Etc/UTC", "+00:00", "Z")


@dataclass(frozen=True)
class Increment:
    """What an incremental run of a periodic topic does."""

    touched: tuple[date, ...]  # days of the new rows
    days: tuple[date, ...]  # days whose findings are recomputed (all new findings: latest only)
    read: tuple[date, ...]  # days of the time-series input handed to the topic
    latest: date | None  # the newest day of a usable row, new rows included
    kept: pa.Table  # the previous run's findings of the other days
    latest_only: bool = False
    state: KeptState | None = None  # a topic with a state table: what it keeps of it

    def summary(self) -> str:
        kept = (
            "the other days' state kept"
            if self.state is not None
            else f"{self.kept.num_rows:,} findings of other days kept"
        )
        return f"{len(self.days)} days recomputed from the rows of {len(self.read)}, {kept}"


def run_periodic(
    ctx: RunContext,
    topic: Topic,
    spec: PeriodSpec,
    stamp: str,
    labels: pa.Table,
    inputs: Mapping[str, ir.Table],
) -> StepResult:
    """The topic step of a periodic topic: the days new rows touch when only they changed
    (`plan_increment`), else the whole; the summary says which, and why."""
    from citybrain.topics.runner import compute_findings, findings_table_name

    parts = increment_parts(ctx, topic, spec, stamp)
    plan = plan_increment(ctx, topic, spec, findings_table_name(topic.name), parts, inputs)
    if isinstance(plan, Increment):
        handed = handed_inputs(inputs, spec, plan.read)
        new = compute_findings(topic, ctx.workspace, ctx.engine, ctx.catalog, labels=labels,
                               run_id=ctx.run_id, inputs=handed, kept=plan.state,
                               whole_series=inputs[spec.input])  # fmt: skip
        findings = merged_findings(new, plan)
        if findings is not None:
            return _stored(ctx, topic, spec, findings, handed, parts, plan.latest, plan.summary())
        plan = "a new finding's period names no day"
    latest = latest_day(ctx.engine, inputs[spec.input], spec)
    findings, how = whole_findings(ctx, topic, spec, labels, inputs, latest)
    return _stored(ctx, topic, spec, findings, inputs, parts, latest, f"whole{how}: {plan}")


def whole_findings(
    ctx: RunContext,
    topic: Topic,
    spec: PeriodSpec,
    labels: pa.Table | None,
    inputs: Mapping[str, ir.Table],
    latest: date | None,
) -> tuple[pa.Table, str]:
    """A periodic topic's findings over all days: at once, or — when its time-series input has
    more than `CHUNK_ROWS` rows — in chunks of consecutive days, each computed as a nightly run
    computes its days (handed those days and their neighbours, the last chunk the newest day too;
    a topic with a state keeps the chunks before). No step then sorts or groups the whole history
    at once: at a city's size that is hundreds of millions of reports, tens of GB spilled. What a
    topic says a nightly run may judge apart from a full one (muck trucks: a track silent for
    more than a day, a stop longer than a day) may then differ at a chunk's edge too; what must
    be known of every row, the topic reads from `TopicContext.whole_series`. Also says how
    (" in N chunks of days", or "")."""
    from citybrain.topics.runner import compute_findings

    def compute(
        handed: Mapping[str, ir.Table], kept: KeptState | None = None, side_tables: bool = True
    ) -> pa.Table:
        whole = inputs[spec.input] if handed is not inputs else None
        return compute_findings(topic, ctx.workspace, ctx.engine, ctx.catalog, labels=labels,
                                run_id=ctx.run_id, inputs=handed, kept=kept,
                                side_tables=side_tables, whole_series=whole)  # fmt: skip

    chunks = [] if spec.latest_only else day_chunks(ctx.engine, inputs[spec.input], spec)
    if len(chunks) < 2:
        return compute(inputs), ""
    found: list[pa.Table] = []
    for number, days in enumerate(chunks):
        last = number == len(chunks) - 1  # it holds the newest day: the side tables come from it
        read = _around([*days, *([latest] if latest and last else [])], spec.neighbours)
        handed = handed_inputs(inputs, spec, read)
        if spec.state is not None:  # the first chunk keeps nothing; each next one the rows so far
            kept = _state_so_far(ctx, spec, days) if number else None
            found = [compute(handed, kept, last)]  # made whole from the state: the last is all
            continue
        new = compute(handed, side_tables=last).select(FINDINGS_SCHEMA.names)
        new = new.cast(FINDINGS_SCHEMA)
        if not periods_are_days(new):
            return compute(inputs), " (a finding's period names no day: at once)"
        found.append(new.filter(_on(new, days)))
    return pa.concat_tables(found), f" in {len(chunks)} chunks of days"


#: a whole recompute of a periodic topic over more rows of its time-series input than this is made
#: in chunks of days (`whole_findings`)
CHUNK_ROWS = 20_000_000


def day_chunks(
    engine: Engine, series: ir.Table, spec: PeriodSpec, rows: int | None = None
) -> list[list[date]]:
    """Every day from the first to the last of ``series`` (and ``spec.neighbours`` days beyond,
    where a finding or state row of a day without rows can fall), in runs of consecutive days of
    at most ``rows`` rows each (`CHUNK_ROWS`; a day alone may have more); one run when all fit."""
    limit = CHUNK_ROWS if rows is None else rows
    if engine.count(series) <= limit:  # most inputs: a count, not a pass grouping by day
        return []
    dated = series.filter(series[spec.ts].notnull())
    ts = dated[spec.ts]
    counted = dated.group_by(day=ts if ts.type().is_date() else ts.date()).aggregate(
        n=dated.count()
    )
    per_day = {r["day"]: r["n"] for r in engine.to_arrow(counted).to_pylist()}
    if not per_day or sum(per_day.values()) <= limit:
        return []
    first = min(per_day) - timedelta(days=spec.neighbours)
    last = max(per_day) + timedelta(days=spec.neighbours)
    chunks: list[list[date]] = [[]]
    size = 0
    for offset in range((last - first).days + 1):
        d = first + timedelta(days=offset)
        n = per_day.get(d, 0)
        if chunks[-1] and size + n > limit:
            chunks.append([])
            size = 0
        chunks[-1].append(d)
        size += n
    return chunks


def _state_so_far(ctx: RunContext, spec: PeriodSpec, days: list[date]) -> KeptState:
    """The state rows this run's earlier chunks made, but of ``days``."""
    from citybrain.topics.base import KeptState

    assert spec.state is not None
    table = ctx.engine.table("topic", spec.state)
    rows = table.filter(table.run_id == ctx.run_id)
    rows = rows.filter(~rows.day.isin([d.isoformat() for d in days]))
    return KeptState(frozenset(days), rows.drop("run_id"))


def _stored(
    ctx: RunContext,
    topic: Topic,
    spec: PeriodSpec,
    findings: pa.Table,
    inputs: Mapping[str, ir.Table],
    parts: dict[str, str],
    latest: date | None,
    how: str,
) -> StepResult:
    """Store the run's findings; what the next run compares: ``parts``, the newest usable day,
    the findings table as this run left it and the run that wrote it."""
    from citybrain.topics.runner import findings_table_name, store_findings

    engine, workspace = ctx.engine, ctx.workspace
    result = store_findings(topic, engine, ctx.catalog, findings, ctx.run_id)
    written = dataset_fingerprint(
        workspace.lake, workspace.root, f"topic/{findings_table_name(topic.name)}"
    )
    parts = {**parts, LATEST: latest.isoformat() if latest else "", FINDINGS: written,
             RUN: ctx.run_id}  # fmt: skip
    if spec.state is not None:  # as the topic left it
        parts[STATE] = dataset_fingerprint(workspace.lake, workspace.root, f"topic/{spec.state}")
    rows_in = sum(engine.count(table) for table in inputs.values())
    return StepResult(f"{result.findings} findings ({how})", rows_in, result.findings, parts=parts)


def increment_parts(ctx: RunContext, topic: Topic, spec: PeriodSpec, stamp: str) -> dict[str, str]:
    """What the step records of its inputs before it runs (`_stored` adds the rest)."""
    root, lake = ctx.workspace.root, ctx.workspace.lake
    others = [
        (s.dataset, dataset_fingerprint(lake, root, f"{s.zone}/{s.table}"))
        for s in topic.inputs
        if s.dataset != spec.input
    ]
    return {
        SPEC: spec.describe(),
        STAMP: combine([("stamp", stamp), ("config", _config(ctx))]),
        OTHERS: combine(others),
        SERIES: json.dumps(_series_files(ctx, spec)),
    }


def _config(ctx: RunContext) -> str:
    """citybrain's version and the configuration but the topics' settings (the stamp holds the
    topic's own parameters; another topic's do not bear on it)."""
    from citybrain import __version__

    config = ctx.workspace.config.model_dump(
        mode="json", exclude={"logging", "api", "map", "topics"}
    )
    return combine([("citybrain", __version__), ("config", repr(sorted(config.items())))])


def _series_files(ctx: RunContext, spec: PeriodSpec) -> list[list[str | int]]:
    zone, _, table = spec.input.partition(".")
    parts = parquet_parts(ctx.workspace.lake / zone / table)
    return [[path, size, mtime] for path, (size, mtime) in sorted(parts.items())]


def _recorded_files(text: str) -> dict[str, tuple[int, int]]:
    """`_series_files` as recorded (JSON), as `parquet_parts` gives them."""
    return {str(path): (int(size), int(mtime)) for path, size, mtime in json.loads(text)}


def plan_increment(
    ctx: RunContext,
    topic: Topic,
    spec: PeriodSpec,
    table: str,
    parts: dict[str, str],
    inputs: Mapping[str, ir.Table],
) -> Increment | str:
    """The incremental run, when the only change since the step's last run is rows appended to
    the time-series input; else why the topic is recomputed whole. ``parts``: `increment_parts`
    now."""
    previous = ctx.previous
    if not ctx.incremental:
        return "--from / --only"
    if previous is None or RUN not in previous:
        return "no record of a last run"
    if previous.get(SPEC) != parts[SPEC] or previous.get(STAMP) != parts[STAMP]:
        return "version, parameters, labels or configuration changed"
    if previous.get(OTHERS) != parts[OTHERS]:
        return "another input changed"
    root, lake = ctx.workspace.root, ctx.workspace.lake
    if previous.get(FINDINGS) != dataset_fingerprint(lake, root, f"topic/{table}"):
        return "its findings were changed since"
    new = appended_parts(
        _recorded_files(previous.get(SERIES, "[]")), _recorded_files(parts[SERIES])
    )
    if new is None:
        return f"{spec.input} was rewritten, not appended to"
    folder = lake / spec.input.replace(".", "/", 1)
    touched = _days_of(folder, new, spec.ts)
    if touched is None:
        return f"the days of the new rows of {spec.input} cannot be read from their parts"
    series = inputs[spec.input]
    newer = latest_day(ctx.engine, series, spec, within=touched)
    old = date.fromisoformat(previous[LATEST]) if previous.get(LATEST) else None
    latest = max((d for d in (old, newer) if d is not None), default=None)
    if spec.state is not None:  # findings made whole from the state: none kept
        return _with_state(ctx, spec, previous, touched, latest)
    kept = _previous_findings(ctx.engine, table, previous[RUN])
    if kept is None:
        return "a finding of its last run names no day"
    days: tuple[date, ...]
    if spec.latest_only:
        days = (latest,) if latest else ()
        kept = kept.slice(0, 0)
    else:
        days = tuple(sorted(_around(touched, spec.neighbours)))
        kept = kept.filter(pc.invert(_on(kept, days)))
    read = _around([*days, *([latest] if latest else [])], spec.neighbours)
    return Increment(tuple(touched), days, tuple(sorted(read)), latest, kept, spec.latest_only)


def _with_state(
    ctx: RunContext,
    spec: PeriodSpec,
    previous: dict[str, str],
    touched: list[date],
    latest: date | None,
) -> Increment | str:
    """The increment of a topic with a state table: the touched days (and neighbours) made
    again, the previous run's state rows of the other days kept (`KeptState`)."""
    from citybrain.topics.base import KeptState

    assert spec.state is not None
    root, lake, engine = ctx.workspace.root, ctx.workspace.lake, ctx.engine
    state = spec.state
    if not engine.exists("topic", state) or previous.get(STATE) != dataset_fingerprint(
        lake, root, f"topic/{state}"
    ):
        return f"its state table {state} was changed since"
    days = frozenset(_around(touched, spec.neighbours))
    table = engine.table("topic", state)
    rows = table.filter(table.run_id == previous[RUN])
    if days:
        rows = rows.filter(~rows.day.isin(sorted(d.isoformat() for d in days)))
    kept = KeptState(days, rows.drop("run_id"))
    read = _around(days, spec.neighbours)
    empty = FINDINGS_SCHEMA.empty_table()
    return Increment(tuple(touched), tuple(sorted(days)), tuple(sorted(read)), latest, empty,
                     state=kept)  # fmt: skip


def _around(days: Iterable[date], n: int) -> set[date]:
    return {d + timedelta(days=k) for d in days for k in range(-n, n + 1)}


def _days_of(folder: Path, files: list[str], column: str) -> list[date] | None:
    """The days of the rows of ``files`` (their timestamps read from the Parquet parts alone);
    ``None`` when their day may not be the engines' reading (a time zone other than UTC) or the
    column is not in the parts."""
    days: set[date] = set()
    for name in files:
        try:
            values = pq.read_table(folder / name, columns=[column]).column(column)
        except (KeyError, ValueError, OSError, pa.ArrowInvalid):
            return None  # e.g. a partition column, not in the part
        kind = values.type
        if pa.types.is_timestamp(kind) and kind.tz in (None, *UTC):
            values = pc.cast(values, pa.date32())
        elif not pa.types.is_date(kind):
            return None
        days.update(d for d in pc.unique(values).to_pylist() if d is not None)
    return sorted(days)


def _on(findings: pa.Table, days: Iterable[date]) -> pa.ChunkedArray:
    """Whether each finding's period begins with one of ``days``."""
    day = pc.utf8_slice_codeunits(findings.column("period"), 0, 10)
    return pc.is_in(day, value_set=pa.array([d.isoformat() for d in days], pa.string()))


def periods_are_days(findings: pa.Table) -> bool:
    """Whether every finding's period begins with its day (``YYYY-MM-DD``), as `PeriodSpec`
    promises; findings that do not cannot be kept per day."""
    if findings.num_rows == 0:
        return True
    matched = pc.match_substring_regex(findings.column("period"), DAY)
    return bool(pc.all(pc.fill_null(matched, False)).as_py())


def _previous_findings(engine: Engine, table: str, run_id: str) -> pa.Table | None:
    if not engine.exists("topic", table):
        return None
    stored = engine.table("topic", table)
    rows = engine.to_arrow(stored.filter(stored.run_id == run_id).drop("run_id"))
    rows = rows.select(FINDINGS_SCHEMA.names).cast(FINDINGS_SCHEMA)
    return rows if periods_are_days(rows) else None


def latest_day(
    engine: Engine, series: ir.Table, spec: PeriodSpec, within: Iterable[date] | None = None
) -> date | None:
    """The newest day of a row ``spec.usable`` says the topic uses (of the rows on ``within``
    days only, when given: the new rows' days, the rest being as the last run found them)."""
    rows = series if within is None else series.filter(on_days(series, spec.ts, within))
    if spec.usable is not None:
        rows = rows.filter(spec.usable(rows))
    newest = engine.to_arrow(rows.aggregate(newest=rows[spec.ts].max())).column(0)[0].as_py()
    if newest is None:
        return None
    return newest.date() if isinstance(newest, datetime) else newest


def on_days(table: ir.Table, column: str, days: Iterable[date]) -> ir.BooleanValue:
    """Rows whose ``column`` (a timestamp or a date) falls on one of ``days``: one range per run
    of consecutive days, so that the engine can skip the parts outside them."""
    ts = table[column]
    is_date = ts.type().is_date()
    ranges: list[list[date]] = []
    for d in sorted(set(days)):
        if ranges and d == ranges[-1][1] + timedelta(days=1):
            ranges[-1][1] = d
        else:
            ranges.append([d, d])
    if not ranges:
        return ibis.literal(False)
    conditions = []
    for first, last in ranges:
        if is_date:
            conditions.append((ts >= ibis.literal(first)) & (ts <= ibis.literal(last)))
        else:
            start = datetime.combine(first, datetime.min.time())
            end = datetime.combine(last + timedelta(days=1), datetime.min.time())
            conditions.append((ts >= ibis.literal(start)) & (ts < ibis.literal(end)))
    return ibis.or_(*conditions)


def handed_inputs(
    inputs: Mapping[str, ir.Table], spec: PeriodSpec, days: Iterable[date]
) -> dict[str, ir.Table]:
    """``inputs`` with the time-series input cut down to ``days``."""
    series = inputs[spec.input]
    return {**inputs, spec.input: series.filter(on_days(series, spec.ts, days))}


def merged_findings(new: pa.Table, plan: Increment) -> pa.Table | None:
    """The run's findings: the new ones of the recomputed days (all of them, for a latest-only
    topic) and the kept ones; ``None`` when a new finding's period names no day."""
    mine = new.select(FINDINGS_SCHEMA.names).cast(FINDINGS_SCHEMA)
    if plan.state is not None:
        return mine  # made whole from the state
    if not periods_are_days(new):
        return None
    if not plan.latest_only:  # a neighbour's findings were made from part of its rows
        mine = mine.filter(_on(mine, plan.days))
    return pa.concat_tables([plan.kept, mine])
