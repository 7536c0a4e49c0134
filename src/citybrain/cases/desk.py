"""Acting on one case: every transition checked, versioned and recorded as an event.

Optimistic locking: each case carries a version. A clerk passes the version they saw; if someone
else acted in between, the action is refused with :class:`CaseConflict` and nothing is written.
The version column also guards the UPDATE itself, so two writers that read the same version at
the same moment cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from citybrain.cases.opsdb_models import Case, CaseEvent
from citybrain.cases.settings import CaseSettings
from citybrain.cases.sla import add_working_hours
from citybrain.cases.states import (
    ACTIVE_STATUSES,
    OUTCOME_ZH,
    Action,
    IllegalTransition,
    Outcome,
    Status,
    next_status,
)
from citybrain.cases.webhooks import enqueue_notification
from citybrain.core.errors import UserError
from citybrain.core.opsdb import session, utcnow

Clock = Callable[[], datetime]
SYSTEM_ACTOR = "system"


class CaseNotFound(UserError):
    def __init__(self, case_id: int) -> None:
        super().__init__(f"case {case_id} does not exist", hint="run `citybrain cases list`")
        self.case_id = case_id


class CaseConflict(UserError):
    """Someone else changed the case since the caller read it."""

    exit_code = 4

    def __init__(self, case_id: int, action: str, expected: int | None, actual: int | None) -> None:
        seen = f" (you saw version {expected}, it is now {actual})" if expected else ""
        super().__init__(
            f"case {case_id} was changed by someone else while you tried to {action}{seen}",
            hint="reload the case and try again",
        )
        self.case_id = case_id


class MissingValue(UserError):
    """An action that needs a value (a reason, an outcome, a department) was given none."""


def get_case(ops_engine: SqlEngine, case_id: int, *, detail: bool = False) -> Case:
    """One case; ``detail`` also loads its evidence, events and reporters."""
    with session(ops_engine) as db:
        query = select(Case).where(Case.id == case_id)
        if detail:
            query = query.options(
                selectinload(Case.evidence), selectinload(Case.events), selectinload(Case.reporters)
            )
        case = db.scalars(query).one_or_none()
        if case is None:
            raise CaseNotFound(case_id)
        return case


def list_cases(
    ops_engine: SqlEngine,
    *,
    status: str | None = None,
    topic: str | None = None,
    department: str | None = None,
    limit: int | None = None,
) -> list[Case]:
    """Cases, newest first, optionally filtered."""
    query = select(Case).order_by(Case.id.desc())
    if status is not None:
        query = query.where(Case.status == Status(status).value)
    if topic is not None:
        query = query.where(Case.topic == topic)
    if department is not None:
        query = query.where(Case.department == department)
    if limit is not None:
        query = query.limit(limit)
    with session(ops_engine) as db:
        return list(db.scalars(query))


def act(
    ops_engine: SqlEngine,
    case_id: int,
    action: Action | str,
    *,
    actor: str,
    comment: str = "",
    attachments: Sequence[Mapping[str, Any]] = (),
    expected_version: int | None = None,
    outcome: Outcome | str | None = None,
    department: str | None = None,
    hours: float | None = None,
    on_site: str | None = None,
    settings: CaseSettings | None = None,
    clock: Clock = utcnow,
) -> Case:
    """Apply ``action`` to a case as ``actor`` and record it; returns the updated case.

    Raises :class:`IllegalTransition` when the status forbids the action, :class:`CaseConflict`
    when ``expected_version`` is stale or another writer got in first.
    """
    act_on = Action(action)
    try:
        with session(ops_engine) as db:
            case = db.get(Case, case_id)
            if case is None:
                raise CaseNotFound(case_id)
            if expected_version is not None and case.version != expected_version:
                raise CaseConflict(case_id, act_on.value, expected_version, case.version)
            apply_action(
                db,
                case,
                act_on,
                actor=actor,
                comment=comment,
                attachments=attachments,
                outcome=outcome,
                department=department,
                hours=hours,
                on_site=on_site,
                settings=settings or CaseSettings(),
                now=clock(),
            )
            db.flush()
            return case
    except StaleDataError as exc:
        raise CaseConflict(case_id, act_on.value, expected_version, None) from exc


def apply_action(
    db: Session,
    case: Case,
    action: Action,
    *,
    actor: str,
    now: datetime,
    settings: CaseSettings,
    comment: str = "",
    attachments: Sequence[Mapping[str, Any]] = (),
    outcome: Outcome | str | None = None,
    department: str | None = None,
    hours: float | None = None,
    on_site: str | None = None,
) -> CaseEvent:
    """Check and apply one action to a case inside an open session; returns its event."""
    step = next_status(case.id, case.status, action)
    details: dict[str, Any] = {}
    handler = _HANDLERS.get(action)
    # One flush per action, so one version step per action: handlers query (webhooks, reporters)
    # and an autoflush in between would bump the version twice.
    with db.no_autoflush:
        if handler is not None:
            details = handler(
                db, case, now, settings, actor=actor, comment=comment, outcome=outcome,
                department=department, hours=hours, on_site=on_site,
            )  # fmt: skip
        case.status = step.to_status.value
        case.updated_at = now
    event = CaseEvent(
        case_id=case.id,
        action=action.value,
        actor=actor,
        at=now,
        from_status=step.from_status.value,
        to_status=step.to_status.value,
        comment=comment,
        attachments=[dict(a) for a in attachments],
        details=details,
    )
    db.add(event)
    db.flush()
    # Queued after the flush so the payload shows the case as it now is.
    notify = _NOTIFY.get(action)
    for notice, department in notify(case) if notify is not None else []:
        enqueue_notification(db, case, notice, department, now)
    return event


def _dispatch(
    db: Session, case: Case, now: datetime, settings: CaseSettings, **values: Any
) -> dict[str, Any]:
    target = values["department"] or case.department
    if not target:
        raise MissingValue(
            f"case {case.id} has no department to dispatch to",
            hint="name one, or add a routing rule for its topic",
        )
    case.department = target
    case.assignee = None
    case.dispatched_at = now
    case.sla_due_at = settings.sla.due(case.topic, case.level, now)
    return {"department": target, "sla_due_at": case.sla_due_at.isoformat()}


def _accept(
    db: Session, case: Case, now: datetime, settings: CaseSettings, **values: Any
) -> dict[str, Any]:
    case.assignee = values["actor"]
    case.accepted_at = now
    return {"assignee": case.assignee}


def _return(
    db: Session, case: Case, now: datetime, settings: CaseSettings, **values: Any
) -> dict[str, Any]:
    if not str(values["comment"]).strip():
        raise MissingValue(
            f"case {case.id}: returning it to the dispatcher needs a reason",
            hint="say why in the comment",
        )
    returned_by = case.department
    case.assignee = None
    case.extension_requested_hours = None
    return {"department": returned_by}


def _close(
    db: Session, case: Case, now: datetime, settings: CaseSettings, **values: Any
) -> dict[str, Any]:
    if values["outcome"] is None:
        raise MissingValue(
            f"case {case.id}: closing needs an outcome",
            hint="confirmed (属实), rejected (不属实) or unverifiable (无法核实)",
        )
    result = Outcome(values["outcome"])
    case.outcome = result.value
    case.closed_at = now
    case.open_key = None
    case.extension_requested_hours = None
    answer = f"{OUTCOME_ZH[result]} ({result.value})"
    if str(values["comment"]).strip():
        answer += f"：{values['comment']}"
    for reporter in case.reporters:
        reporter.answer = answer
        reporter.answered_at = now
    details: dict[str, Any] = {"outcome": result.value, "reporters_answered": len(case.reporters)}
    if values.get("on_site"):
        details["on_site"] = values["on_site"]  # what the clerk found at the door
    return details


def _request_extension(
    db: Session, case: Case, now: datetime, settings: CaseSettings, **values: Any
) -> dict[str, Any]:
    hours = values["hours"]
    if hours is None or hours <= 0:
        raise MissingValue(f"case {case.id}: an extension request needs hours > 0")
    if not str(values["comment"]).strip():
        raise MissingValue(f"case {case.id}: an extension request needs a reason")
    if case.extension_requested_hours is not None:
        raise IllegalTransition(
            case.id, case.status, "request_extension", "an extension request is already pending"
        )
    case.extension_requested_hours = float(hours)
    return {"hours": float(hours)}


def _decide_extension(approve: bool) -> Callable[..., dict[str, Any]]:
    def handler(
        db: Session, case: Case, now: datetime, settings: CaseSettings, **values: Any
    ) -> dict[str, Any]:
        action = "approve_extension" if approve else "refuse_extension"
        pending = case.extension_requested_hours
        if pending is None:
            raise IllegalTransition(case.id, case.status, action, "no extension request is pending")
        case.extension_requested_hours = None
        if not approve:
            return {"hours": pending}
        base = case.sla_due_at or now
        case.sla_due_at = add_working_hours(max(base, now), pending, settings.sla.calendar)
        return {"hours": pending, "sla_due_at": case.sla_due_at.isoformat()}

    return handler


def _escalate(
    db: Session, case: Case, now: datetime, settings: CaseSettings, **values: Any
) -> dict[str, Any]:
    if case.escalated_at is not None:
        raise IllegalTransition(case.id, case.status, "escalate", "it is already escalated")
    case.escalated_at = now
    case.supervisor = settings.routing.supervisor_of(case.department)
    return {"supervisor": case.supervisor}


_HANDLERS: dict[Action, Callable[..., dict[str, Any]]] = {
    Action.dispatch: _dispatch,
    Action.accept: _accept,
    Action.return_: _return,
    Action.close: _close,
    Action.request_extension: _request_extension,
    Action.approve_extension: _decide_extension(approve=True),
    Action.refuse_extension: _decide_extension(approve=False),
    Action.escalate: _escalate,
}


_NOTIFY: dict[Action, Callable[[Case], list[tuple[str, str | None]]]] = {
    Action.dispatch: lambda case: [("case.dispatched", case.department)],
    Action.escalate: lambda case: [
        ("case.escalated", case.supervisor),
        ("case.escalated", case.department),
    ],
}


def escalate_overdue(
    ops_engine: SqlEngine, *, settings: CaseSettings | None = None, clock: Clock = utcnow
) -> list[int]:
    """Escalate (督办) every active case whose deadline has passed; returns their ids."""
    now = clock()
    config = settings or CaseSettings()
    with session(ops_engine) as db:
        overdue = db.scalars(
            select(Case)
            .where(Case.status.in_([s.value for s in ACTIVE_STATUSES]))
            .where(Case.sla_due_at < now)
            .where(Case.escalated_at.is_(None))
            .order_by(Case.id)
        ).all()
        for case in overdue:
            apply_action(
                db,
                case,
                Action.escalate,
                actor=SYSTEM_ACTOR,
                now=now,
                settings=config,
                comment="超过办理时限，自动督办 (SLA overrun, escalated automatically)",
            )
        return [case.id for case in overdue]
