"""How cases are going: counts by status, department, topic and street, and the rates a
hotline centre is judged by.

- overdue rate: cases with a deadline that passed it (still open after it, or closed after it);
- mean time to close: wall-clock and working hours from opening to 办结;
- response rate 响应率: dispatched cases signed for (签收) within ``sla.response_hours``
  working hours;
- resolution rate 解决率: dispatched cases that reached 办结 (or 归档);
- satisfaction rate 满意率: reporters' ratings of 4 or 5 out of all ratings given after closure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from citybrain.cases.opsdb_models import Case, CaseReporter
from citybrain.cases.settings import CaseSettings
from citybrain.cases.sla import working_hours_between
from citybrain.cases.states import ACTIVE_STATUSES, Status
from citybrain.core.opsdb import session, utcnow

SATISFIED_FROM = 4
_CLOSED = (Status.closed.value, Status.archived.value)


@dataclass(frozen=True)
class CaseMetrics:
    total: int
    by_status: dict[str, int] = field(default_factory=dict)
    by_department: dict[str, int] = field(default_factory=dict)
    by_topic: dict[str, int] = field(default_factory=dict)
    by_street: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    overdue_rate: float | None = None
    mean_hours_to_close: float | None = None
    mean_working_hours_to_close: float | None = None
    response_rate: float | None = None
    resolution_rate: float | None = None
    satisfaction_rate: float | None = None
    ratings: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _counts(db: Any, column: InstrumentedAttribute[Any], topic: str | None) -> dict[str, int]:
    query = select(column, func.count()).group_by(column)
    if topic is not None:
        query = query.where(Case.topic == topic)
    return {str(key) if key is not None else "(none)": int(n) for key, n in db.execute(query)}


def case_metrics(
    ops_engine: SqlEngine,
    *,
    topic: str | None = None,
    settings: CaseSettings | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> CaseMetrics:
    config = settings or CaseSettings()
    calendar = config.sla.calendar
    now = clock()
    active = {s.value for s in ACTIVE_STATUSES}
    timing = select(
        Case.status, Case.created_at, Case.dispatched_at, Case.accepted_at, Case.closed_at,
        Case.sla_due_at,
    )  # fmt: skip
    ratings = select(CaseReporter.rating).join(Case, Case.id == CaseReporter.case_id)
    ratings = ratings.where(CaseReporter.rating.is_not(None))
    if topic is not None:
        timing = timing.where(Case.topic == topic)
        ratings = ratings.where(Case.topic == topic)
    with session(ops_engine) as db:
        by_status = _counts(db, Case.status, topic)
        by_department = _counts(db, Case.department, topic)
        by_topic = _counts(db, Case.topic, topic)
        by_street = _counts(db, Case.street_id, topic)
        rows = db.execute(timing).all()
        given = [int(r) for r in db.scalars(ratings) if r is not None]

    with_deadline = overdue = dispatched = responded = resolved = 0
    hours: list[float] = []
    working: list[float] = []
    for status, created, dispatched_at, accepted_at, closed_at, due in rows:
        if due is not None:
            with_deadline += 1
            late_open = status in active and due < now
            late_closed = closed_at is not None and closed_at > due
            overdue += late_open or late_closed
        if dispatched_at is not None:
            dispatched += 1
            resolved += status in _CLOSED
            if accepted_at is not None:
                taken = working_hours_between(dispatched_at, accepted_at, calendar)
                responded += taken <= config.sla.response_hours
        if closed_at is not None:
            hours.append((closed_at - created).total_seconds() / 3600)
            working.append(working_hours_between(created, closed_at, calendar))
    return CaseMetrics(
        total=len(rows),
        by_status=by_status,
        by_department=by_department,
        by_topic=by_topic,
        by_street=by_street,
        overdue=overdue,
        overdue_rate=_ratio(overdue, with_deadline),
        mean_hours_to_close=sum(hours) / len(hours) if hours else None,
        mean_working_hours_to_close=sum(working) / len(working) if working else None,
        response_rate=_ratio(responded, dispatched),
        resolution_rate=_ratio(resolved, dispatched),
        satisfaction_rate=_ratio(sum(r >= SATISFIED_FROM for r in given), len(given)),
        ratings=len(given),
    )
