"""The figures of the daily report (大数据专报), each read from the catalog, the lake or the ops
database — never typed in.

- data health: systems connected, records aggregated, per system the rows landed and
  quarantined and the last load;
- each topic: findings of its latest run for the day (or the day's month, for monthly topics), by
  level, and the trend over the periods up to the day;
- the epidemic situation per street (疫情态势), from the epidemic topic's latest run, when the
  city switched the topic on (``[topics.epidemic] enabled = true``);
- cases: opened and closed that day, and overdue at its end (as things stood then, whatever
  happened since), by department; and the cases opened for the day's findings whenever that
  was (a replayed or late city's run opens them days after the day its data is about).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import and_, func, or_, select

from citybrain.cases import Case, CaseEvent
from citybrain.cases.states import ACTIVE_STATUSES, Status
from citybrain.core.catalog import Catalog
from citybrain.core.opsdb import connect, session
from citybrain.topics import discover_topics
from citybrain.topics.runner import latest_findings

if TYPE_CHECKING:
    from citybrain.core import Workspace
    from citybrain.core.engine import Engine

TREND_PERIODS = 14
LOCAL = ZoneInfo("Asia/Shanghai")  # a report's day is the city's day


@dataclass(frozen=True)
class SystemHealth:
    system_id: str
    rows_landed: int
    rows_quarantined: int
    last_status: str
    last_load_at: datetime | None


@dataclass(frozen=True)
class TopicFigures:
    name: str
    title_zh: str
    title_en: str
    new: int  # findings for the day (or its month)
    by_level: dict[str, int]
    trend: list[tuple[str, int]]  # (period, findings), oldest first
    points: list[tuple[float, float, str]]  # lon, lat, level of the day's findings
    places: list[tuple[float, float]]  # every distinct place of the run's findings (~100 m)
    top_reasons: list[tuple[str, str, str]]  # subject, zh, en of the highest-scored


@dataclass(frozen=True)
class DepartmentCases:
    department: str
    opened: int
    closed: int
    overdue: int
    for_day: int = 0  # cases for the day's findings (period = the day or its month), any time


@dataclass(frozen=True)
class AirFigures:
    """The day's air quality: every station's daily AQI (HJ 633-2012) from the topic's table."""

    stations: int  # stations with a row that day
    with_aqi: int  # of which with a valid daily AQI
    by_category: list[tuple[str, str, int]]  # zh, en, stations, best category first
    worst: tuple[str, float, str, str] | None  # station, AQI, category zh, primary pollutant
    points: list[tuple[float, float, str]]  # lon, lat, category zh


@dataclass(frozen=True)
class StreetSituation:
    street_id: str
    street: str  # the street's name from the admin areas, else its id
    cases: int
    contacts_high: int
    contacts_medium: int
    risk_arrivals: int
    arrivals_pending: int
    medical_support: int
    screening_coverage: float | None  # of the latest screening round; None: no sheets


@dataclass(frozen=True)
class EpidemicFigures:
    """The epidemic topic's situation per street (``topic/epidemic_street_summary``, its latest
    run), for a city that switched the topic on."""

    run_id: str
    scenario: str  # strict_control | resume_work
    chronic_register: bool  # whether medical support had the chronic-care register
    streets: list[StreetSituation]

    def total(self, name: str) -> int:
        return sum(int(getattr(s, name)) for s in self.streets)


@dataclass
class DailyFigures:
    day: date
    generated_at: datetime
    systems_connected: int = 0
    records_aggregated: int = 0
    datasets: int = 0
    systems: list[SystemHealth] = field(default_factory=list)
    topics: list[TopicFigures] = field(default_factory=list)
    cases: list[DepartmentCases] = field(default_factory=list)
    air: AirFigures | None = None
    epidemic: EpidemicFigures | None = None

    @property
    def cases_opened(self) -> int:
        return sum(c.opened for c in self.cases)

    @property
    def cases_closed(self) -> int:
        return sum(c.closed for c in self.cases)

    @property
    def cases_overdue(self) -> int:
        return sum(c.overdue for c in self.cases)

    @property
    def cases_for_day(self) -> int:
        return sum(c.for_day for c in self.cases)

    @property
    def findings_new(self) -> int:
        return sum(t.new for t in self.topics)

    @property
    def empty(self) -> bool:
        """Nothing to report: no topic has findings in any period, no station AQI, no case."""
        return not any(t.trend for t in self.topics) and self.air is None and not self.cases


def _data_health(figures: DailyFigures, workspace: Workspace) -> None:
    with Catalog.open(workspace.ops_db_url) as catalog:
        headline = catalog.headline()
        systems = catalog.list_systems()
    figures.systems_connected = headline.systems_connected
    figures.records_aggregated = headline.records_aggregated
    figures.datasets = headline.datasets
    figures.systems = [
        SystemHealth(
            s.system_id,
            s.rows_landed,
            s.rows_quarantined,
            str(s.last_load.status),
            s.last_success_at,
        )
        for s in systems
    ]


def _period_of(day: date, periods: pa.Array) -> str:
    """The day's period in the topic's own granularity: ``2025-03-14`` or ``2025-03``."""
    sample = periods[0].as_py() if len(periods) else ""
    return day.isoformat() if len(str(sample)) >= 10 else day.isoformat()[:7]


def _topic(name: str, topic_class: type, findings: pa.Table, day: date) -> TopicFigures:
    topic = topic_class()
    if findings.num_rows == 0:
        return TopicFigures(name, topic.title_zh, topic.title_en, 0, {}, [], [], [], [])
    periods = findings.column("period").combine_chunks()
    today = _period_of(day, periods)
    counts = pc.value_counts(periods).to_pylist()
    trend = sorted((str(c["values"]), int(c["counts"])) for c in counts if c["values"] <= today)
    mine = findings.filter(pc.equal(findings.column("period"), today))
    levels = pc.value_counts(mine.column("level")).to_pylist() if mine.num_rows else []
    by_level = {str(c["values"]): int(c["counts"]) for c in levels}
    located = mine.filter(pc.and_(pc.is_valid(mine["lon"]), pc.is_valid(mine["lat"])))
    points = list(
        zip(
            located["lon"].to_pylist(),
            located["lat"].to_pylist(),
            located["level"].to_pylist(),
            strict=True,
        )
    )
    rounded = pa.table(
        {
            "lon": pc.round(findings.column("lon"), 3),
            "lat": pc.round(findings.column("lat"), 3),
        }
    ).drop_null()
    distinct = rounded.group_by(["lon", "lat"]).aggregate([])
    places = list(zip(distinct["lon"].to_pylist(), distinct["lat"].to_pylist(), strict=True))
    top = mine.take(pc.sort_indices(mine, [("score", "descending")])[:5]) if mine.num_rows else mine
    reasons = []
    for subject, first in zip(
        top["subject_id"].to_pylist(), top["reasons"].to_pylist(), strict=True
    ):
        if first:
            reasons.append((str(subject), first[0]["text_zh"], first[0]["text_en"]))
    return TopicFigures(
        name,
        topic.title_zh,
        topic.title_en,
        mine.num_rows,
        by_level,
        trend[-TREND_PERIODS:],
        points,
        places[:5000],
        reasons,
    )


@contextmanager
def _lake(workspace: Workspace, engine: Engine | None) -> Iterator[Engine]:
    """The engine given (a pipeline run's, left open) or one opened for the report and closed."""
    if engine is not None:
        yield engine
    else:
        with workspace.engine() as opened:
            yield opened


def _topics(figures: DailyFigures, workspace: Workspace, engine: Engine | None) -> None:
    installed = discover_topics()
    with _lake(workspace, engine) as lake:
        for name, topic_class in sorted(installed.items()):
            findings = latest_findings(lake, name)
            figures.topics.append(_topic(name, topic_class, findings, figures.day))


def _air(figures: DailyFigures, workspace: Workspace, engine: Engine | None) -> None:
    from citybrain.topics.builtin.air_quality.aqi import CATEGORIES
    from citybrain.topics.builtin.air_quality.topic import DAILY_TABLE

    with _lake(workspace, engine) as lake:
        if not lake.exists("topic", DAILY_TABLE):
            return
        table = lake.table("topic", DAILY_TABLE)
        latest = table.aggregate(run_id=table.run_id.max())
        day = table.semi_join(latest, "run_id").filter(table.date == figures.day.isoformat())
        rows = lake.to_arrow(day.select("sensor_id", "aqi", "category_zh", "primary", "lon", "lat"))
    if rows.num_rows == 0:
        return
    valid = rows.filter(pc.is_valid(rows["aqi"]))
    counts = pc.value_counts(valid["category_zh"]).to_pylist() if valid.num_rows else []
    found = {str(c["values"]): int(c["counts"]) for c in counts}
    by_category = [(zh, en, found[zh]) for _, _, zh, en in CATEGORIES if found.get(zh)]
    worst = None
    if valid.num_rows:
        at = int(pc.index(valid["aqi"], pc.max(valid["aqi"])).as_py())
        worst = (
            str(valid["sensor_id"][at]),
            float(valid["aqi"][at].as_py()),
            str(valid["category_zh"][at]),
            str(valid["primary"][at]),
        )
    located = valid.filter(pc.and_(pc.is_valid(valid["lon"]), pc.is_valid(valid["lat"])))
    points = list(
        zip(
            located["lon"].to_pylist(),
            located["lat"].to_pylist(),
            located["category_zh"].to_pylist(),
            strict=True,
        )
    )
    figures.air = AirFigures(rows.num_rows, valid.num_rows, by_category, worst, points)


def _street_names(lake: Engine) -> dict[str, str]:
    if not lake.exists("std", "admin_area"):
        return {}
    areas = lake.table("std", "admin_area")
    rows = lake.to_arrow(areas.filter(areas.level == "street").select("code", "name"))
    return {str(c): str(n) for c, n in zip(rows["code"].to_pylist(), rows["name"].to_pylist(),
                                              strict=True) if c and n}  # fmt: skip


def _coverage(value: object) -> float | None:
    """A street's screening coverage; None for no sheets (null, or NaN as pandas wrote it)."""
    if value is None:
        return None
    number = float(str(value))
    return None if math.isnan(number) else number


def _epidemic(figures: DailyFigures, workspace: Workspace, engine: Engine | None) -> None:
    from citybrain.topics.builtin.epidemic import Epidemic, EpidemicParams
    from citybrain.topics.builtin.epidemic.topic import SUMMARY_TABLE
    from citybrain.topics.settings import topic_enabled, workspace_params

    if not topic_enabled(workspace, Epidemic.name):
        return
    params = workspace_params(workspace, Epidemic())
    assert isinstance(params, EpidemicParams)
    with _lake(workspace, engine) as lake:
        if not lake.exists("topic", SUMMARY_TABLE):
            return
        table = lake.table("topic", SUMMARY_TABLE)
        latest = table.semi_join(table.aggregate(run_id=table.run_id.max()), "run_id")
        rows = lake.to_arrow(latest).to_pylist()
        names = _street_names(lake)
    if not rows:
        return
    names["(unplaced)"] = "本区无住址 (no dwelling here)"
    streets = [
        StreetSituation(
            str(r["street_id"]), names.get(str(r["street_id"]), str(r["street_id"])),
            int(r["cases"]), int(r["contacts_high"]), int(r["contacts_medium"]),
            int(r["risk_arrivals"]), int(r["arrivals_pending"]), int(r["medical_support"]),
            _coverage(r.get("screening_coverage")),
        )
        for r in rows
    ]  # fmt: skip
    streets.sort(key=lambda s: (-s.cases, -(s.contacts_high + s.contacts_medium), s.street_id))
    figures.epidemic = EpidemicFigures(
        str(rows[0]["run_id"]),
        params.scenario,
        all(bool(r.get("chronic_register", False)) for r in rows),
        streets,
    )


def _cases(figures: DailyFigures, workspace: Workspace) -> None:
    """Cases by department for the city's day ``figures.day`` (00:00–24:00 Asia/Shanghai).

    Overdue is as of the end of the day: opened by then, due by then, and in work then — its
    status at that moment is the one its last event before it led to (a case closed or returned
    since still counts: its current status would hide it from every past day's report); a case
    with no event history counts as in work then unless it was closed before. The due time is
    the current one (after any extension)."""
    start = datetime.combine(figures.day, time(0), tzinfo=LOCAL)
    end = start + timedelta(days=1)
    department = func.coalesce(Case.department, "未分派")
    still_open = [s.value for s in ACTIVE_STATUSES]
    done = [Status.closed.value, Status.archived.value]
    last = (
        select(CaseEvent.case_id.label("case_id"), func.max(CaseEvent.id).label("event_id"))
        .where(CaseEvent.at < end)
        .group_by(CaseEvent.case_id)
        .subquery()
    )
    then = (
        select(last.c.case_id, CaseEvent.to_status.label("status"))
        .join(CaseEvent, CaseEvent.id == last.c.event_id)
        .subquery()
    )
    no_history = or_(
        Case.status.in_(still_open),
        and_(Case.status.in_(done), Case.closed_at.is_not(None), Case.closed_at >= end),
    )
    open_then = or_(then.c.status.in_(still_open), and_(then.c.status.is_(None), no_history))
    day = figures.day.isoformat()
    queries = {
        "opened": select(department, func.count())
        .where(Case.created_at >= start, Case.created_at < end)
        .group_by(department),
        "closed": select(department, func.count())
        .where(Case.closed_at >= start, Case.closed_at < end)
        .group_by(department),
        "overdue": select(department, func.count())
        .select_from(Case)
        .outerjoin(then, then.c.case_id == Case.id)
        .where(Case.created_at < end, Case.sla_due_at < end, open_then)
        .group_by(department),
        "for_day": select(department, func.count())
        .where(Case.period.in_([day, day[:7]]))
        .group_by(department),
    }
    ops_engine = connect(workspace.ops_db_url)
    counts: dict[str, dict[str, int]] = {}
    try:
        with session(ops_engine) as db:
            for kind, query in queries.items():
                for name, n in db.execute(query).all():
                    counts.setdefault(str(name), {})[kind] = int(n)
    finally:
        ops_engine.dispose()
    figures.cases = [
        DepartmentCases(
            name, c.get("opened", 0), c.get("closed", 0), c.get("overdue", 0), c.get("for_day", 0)
        )
        for name, c in sorted(counts.items())
    ]


def _latest_day(lake: Engine, table_name: str, column: str) -> date | None:
    """The latest day (``YYYY-MM-DD``) in ``column`` of a topic table's latest run."""
    if not lake.exists("topic", table_name):
        return None
    table = lake.table("topic", table_name)
    latest = table.semi_join(table.aggregate(run_id=table.run_id.max()), "run_id")
    days = latest.filter(latest[column].cast("string").length() == 10)
    found = lake.to_arrow(days.aggregate(day=days[column].cast("string").max())).column(0)
    text = found[0].as_py() if len(found) else None
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:  # a period like 2025-W11 is not a day
        return None


def data_day(workspace: Workspace, *, engine: Engine | None = None) -> tuple[date, str]:
    """The day a pipeline run's report is about, and why: the latest day of the topics' latest
    findings and of the stations' daily AQI (the data's own date, which for a replayed or late
    city is not today), never after today in the city; today when no topic has daily results."""
    from citybrain.topics.builtin.air_quality.topic import DAILY_TABLE
    from citybrain.topics.runner import findings_table_name

    today = datetime.now(LOCAL).date()
    with _lake(workspace, engine) as lake:
        found = [_latest_day(lake, findings_table_name(n), "period") for n in discover_topics()]
        found.append(_latest_day(lake, DAILY_TABLE, "date"))
    days = [d for d in found if d is not None]
    if not days:
        return today, "today (no topic has daily findings yet)"
    latest = max(days)
    if latest > today:
        return today, f"today (the findings run to {latest.isoformat()}, after today)"
    return latest, "the latest day of the topics' results"


def daily_figures(workspace: Workspace, day: date, *, engine: Engine | None = None) -> DailyFigures:
    """The report's figures for ``day``; ``engine``: a lake engine already open (a pipeline
    run's), else one is opened and closed here."""
    figures = DailyFigures(day=day, generated_at=datetime.now(UTC))
    _data_health(figures, workspace)
    _topics(figures, workspace, engine)
    _air(figures, workspace, engine)
    _epidemic(figures, workspace, engine)
    _cases(figures, workspace)
    return figures
