"""The case desk (一网统管) over ``citybrain.cases``: list, detail, act, metrics.

Every case route is area-scoped: a case outside the caller's streets, communities and grids does not
exist for them (404). Actions use optimistic locking: send the version you saw, in the body or as
``If-Match``; if someone acted in between, the answer is 409 and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, func, or_, select

from citybrain.api.deps import (
    Principal,
    Security,
    authenticate,
    get_scope,
    get_security,
    get_workspace,
    require,
)
from citybrain.api.paging import Page, PageParams, pagination
from citybrain.api.pii import Masker, get_masker
from citybrain.api.routers.findings import PERSONAL_SUBJECTS
from citybrain.api.routers.topics import Text, TopicFilter
from citybrain.api.security.masking import PiiKind
from citybrain.api.security.roles import Permission
from citybrain.api.security.scope import Scope
from citybrain.cases import (
    Action,
    Case,
    CaseConflict,
    CaseNotFound,
    CaseSettings,
    IllegalTransition,
    MissingValue,
    Outcome,
    Status,
    act,
    allowed_actions,
    case_metrics,
    case_summary,
    event_summary,
    get_case,
    settings_for_workspace,
)
from citybrain.core import UserError, Workspace
from citybrain.core.opsdb import session

router = APIRouter(prefix="/cases", tags=["cases"])

CaseId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a case's id")]
_SORTABLE = {
    "id": Case.id,
    "created_at": Case.created_at,
    "updated_at": Case.updated_at,
    "sla_due_at": Case.sla_due_at,
    "score": Case.score,
    "status": Case.status,
}
# Cases waiting on a department: what a clerk's queue shows.
QUEUE_STATUSES = (Status.dispatched.value, Status.accepted.value, Status.in_progress.value)
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such case in your area"},
    409: {"description": "the case changed since you read it, or its status forbids the action"},
    428: {"description": "state the version you saw (If-Match or version in the body)"},
}


class CaseOut(BaseModel):
    id: int
    topic: str
    subject_type: str
    subject_id: str
    period: str
    source: str
    title: str
    level: str
    score: float
    status: str
    status_zh: str
    outcome: str | None
    outcome_zh: str | None
    department: str | None
    co_departments: list[str]
    routing_rule: str | None
    assignee: str | None
    lon: float | None
    lat: float | None
    grid_id: str | None
    community_id: str | None
    street_id: str | None
    address: str | None
    sla_due_at: str | None
    escalated_at: str | None
    supervisor: str | None
    extension_requested_hours: float | None
    version: int
    created_at: str | None
    updated_at: str | None
    closed_at: str | None


class EvidenceOut(BaseModel):
    period: str
    score: float
    level: str
    model_version: str
    reasons: list[dict[str, Any]]
    attached_at: str | None


class EventOut(BaseModel):
    action: str
    actor: str
    at: str | None
    from_status: str | None
    to_status: str
    comment: str
    attachments: list[dict[str, Any]]
    details: dict[str, Any]


class ReporterOut(BaseModel):
    id: int
    channel: str
    service_code: str
    description: str
    name: str | None
    phone: str | None
    email: str | None
    reported_at: str | None
    answer: str | None
    rating: int | None


class CaseDetail(BaseModel):
    case: CaseOut
    allowed_actions: list[str]
    evidence: list[EvidenceOut]
    history: list[EventOut]
    reporters: list[ReporterOut]


class Attachment(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    url: str | None = Field(None, max_length=1024)
    kind: str = Field("photo", max_length=32)


class ActionIn(BaseModel):
    version: int | None = Field(None, ge=1, description="the case version you saw")
    comment: str = Field("", max_length=4000)
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)


class CloseIn(ActionIn):
    outcome: Outcome


class DispatchIn(ActionIn):
    department: str | None = Field(None, min_length=1, max_length=255)


class ExtensionIn(ActionIn):
    hours: float = Field(gt=0, le=24 * 90)


class CaseMetricsOut(BaseModel):
    scope_limited: bool = Field(description="true: your account is limited to some areas")
    message: str | None = None
    total: int | None = None
    by_status: dict[str, int] = Field(default_factory=dict)
    by_department: dict[str, int] = Field(default_factory=dict)
    by_topic: dict[str, int] = Field(default_factory=dict)
    by_street: dict[str, int] = Field(default_factory=dict)
    overdue: int | None = None
    overdue_rate: float | None = None
    mean_hours_to_close: float | None = None
    mean_working_hours_to_close: float | None = None
    response_rate: float | None = Field(None, description="响应率")
    resolution_rate: float | None = Field(None, description="解决率")
    satisfaction_rate: float | None = Field(None, description="满意率")
    ratings: int | None = None


def get_case_settings(workspace: Annotated[Workspace, Depends(get_workspace)]) -> CaseSettings:
    try:
        return settings_for_workspace(workspace.root)
    except UserError as exc:
        raise HTTPException(503, detail=f"cases.yaml cannot be read: {exc}") from None


def case_out(case: Case, masker: Masker) -> CaseOut:
    data = case_summary(case)
    kind = PERSONAL_SUBJECTS.get(case.subject_type)
    if kind is not None:
        data["subject_id"] = masker.value(case.subject_id, kind, subject=case.subject_id)
    if case.address:
        data["address"] = masker.value(case.address, PiiKind.ADDRESS, subject=case.subject_id)
    return CaseOut.model_validate(data)


def in_scope(scope: Scope) -> ColumnElement[bool]:
    """The SQL condition keeping cases inside the caller's area."""
    return scope.where(
        street=cast(ColumnElement[str], Case.street_id),
        community=cast(ColumnElement[str], Case.community_id),
        grid=cast(ColumnElement[str], Case.grid_id),
    )


def visible_case(
    case_id: CaseId,
    security: Annotated[Security, Depends(get_security)],
    scope: Annotated[Scope, Depends(get_scope)],
) -> Case:
    """The case, if it lies inside the caller's area; otherwise 404 (it does not exist for them)."""
    try:
        case = get_case(security.engine, case_id, detail=True)
    except CaseNotFound:
        raise HTTPException(404, detail=f"case {case_id} does not exist") from None
    if not scope.allows(street=case.street_id, community=case.community_id, grid=case.grid_id):
        raise HTTPException(404, detail=f"case {case_id} does not exist in your area")
    return case


@router.get("")
def list_cases(
    principal: Annotated[Principal, Depends(require(Permission.CASES_READ))],
    security: Annotated[Security, Depends(get_security)],
    scope: Annotated[Scope, Depends(get_scope)],
    masker: Annotated[Masker, Depends(get_masker)],
    paging: Annotated[PageParams, Depends(pagination(tuple(_SORTABLE), "-id"))],
    mine: Annotated[
        bool, Query(description="my queue: my department's cases waiting on it, or mine")
    ] = False,
    status: Status | None = None,
    topic: TopicFilter | None = None,
    department: Text | None = None,
    street_id: Text | None = None,
    level: Literal["high", "medium", "low"] | None = None,
    overdue: Annotated[bool | None, Query(description="only cases past their deadline")] = None,
) -> Page[CaseOut]:
    """Cases in the caller's area, newest first by default; filters combine with AND."""
    conditions: list[Any] = [in_scope(scope)]
    if mine:
        queue = Case.assignee == principal.username
        if principal.department:
            queue = or_(queue, Case.department == principal.department)
        conditions += [queue, Case.status.in_(QUEUE_STATUSES)]
    for column, value in (
        (Case.status, status.value if status else None),
        (Case.topic, topic),
        (Case.department, department),
        (Case.street_id, street_id),
        (Case.level, level),
    ):
        if value is not None:
            conditions.append(column == value)
    if overdue:
        conditions += [Case.status.in_(QUEUE_STATUSES), Case.sla_due_at < security.clock()]
    query = select(Case).where(*conditions)
    with session(security.engine) as db:
        total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = db.scalars(paging.apply(query, _SORTABLE).order_by(Case.id.desc())).all()
        items = [case_out(row, masker) for row in rows]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get("/metrics")
def metrics(
    principal: Annotated[Principal, Depends(require(Permission.METRICS_READ))],
    security: Annotated[Security, Depends(get_security)],
    settings: Annotated[CaseSettings, Depends(get_case_settings)],
    topic: TopicFilter | None = None,
) -> CaseMetricsOut:
    """Counts by status, department, topic and street; overdue rate, mean time to close,
    响应率 (response), 解决率 (resolution) and 满意率 (satisfaction). City-wide figures: a caller
    limited to some areas gets ``scope_limited`` and no figures."""
    if not principal.scope.citywide:
        return CaseMetricsOut(
            scope_limited=True,
            message="case metrics are city-wide; your account is limited to some areas",
        )
    figures = case_metrics(security.engine, topic=topic, settings=settings, clock=security.clock)
    return CaseMetricsOut(scope_limited=False, **figures.as_dict())


def _detail(case: Case, masker: Masker) -> CaseDetail:
    reporters = []
    for reporter in case.reporters:
        subject = f"reporter:{reporter.id}"
        personal = masker.row(
            {"name": reporter.name, "phone": reporter.phone, "email": reporter.email},
            {"name": PiiKind.NAME, "phone": PiiKind.PHONE, "email": PiiKind.ID_NUMBER},
            subject=subject,
        )
        reporters.append(
            ReporterOut(
                id=reporter.id,
                channel=reporter.channel,
                service_code=reporter.service_code,
                description=reporter.description,
                name=_str(personal["name"]),
                phone=_str(personal["phone"]),
                email=_str(personal["email"]),
                reported_at=_iso(reporter.reported_at),
                answer=reporter.answer,
                rating=reporter.rating,
            )
        )
    return CaseDetail(
        case=case_out(case, masker),
        allowed_actions=[a.value for a in allowed_actions(Status(case.status))],
        evidence=[
            EvidenceOut(
                period=e.period,
                score=e.score,
                level=e.level,
                model_version=e.model_version,
                reasons=list(e.reasons or []),
                attached_at=_iso(e.attached_at),
            )
            for e in case.evidence
        ],
        history=[EventOut.model_validate(event_summary(event)) for event in case.events],
        reporters=reporters,
    )


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def _iso(moment: Any) -> str | None:
    return None if moment is None else str(moment.isoformat())


@router.get("/{case_id}", responses=_ERRORS)
def case_detail(
    _: Annotated[Principal, Depends(require(Permission.CASES_READ))],
    case: Annotated[Case, Depends(visible_case)],
    masker: Annotated[Masker, Depends(get_masker)],
    response: Response,
) -> CaseDetail:
    """One case with its evidence (findings and reasons), its history and its reporters."""
    response.headers["ETag"] = f'"{case.version}"'
    return _detail(case, masker)


def _invalid(where: str, name: str, message: str) -> RequestValidationError:
    """A 422 in the same shape as every other validation error (a list naming the field)."""
    return RequestValidationError(
        [{"type": "value_error", "loc": (where, name), "msg": message, "input": None}]
    )


def _expected_version(body: ActionIn, if_match: str | None) -> int:
    if body.version is not None:
        return body.version
    if if_match:
        text = if_match.strip().removeprefix("W/").strip('"')
        if text.isdigit() and 0 < int(text) < 2**31:
            return int(text)
        raise _invalid("header", "If-Match", f"{if_match[:40]!r} is not a case version")
    raise HTTPException(
        428, detail="state the case version you saw: If-Match header or version in the body"
    )


def _act(
    request: Request,
    principal: Principal,
    security: Security,
    settings: CaseSettings,
    case: Case,
    action: Action,
    body: ActionIn,
    if_match: str | None,
    **values: Any,
) -> CaseDetail:
    version = _expected_version(body, if_match)
    try:
        act(
            security.engine,
            case.id,
            action,
            actor=principal.username,
            comment=body.comment,
            attachments=[a.model_dump(exclude_none=True) for a in body.attachments],
            expected_version=version,
            settings=settings,
            clock=security.clock,
            **values,
        )
    except CaseConflict as exc:
        raise HTTPException(409, detail=f"{exc}; {exc.hint}") from None
    except IllegalTransition as exc:
        raise HTTPException(409, detail=f"{exc}; {exc.hint}") from None
    except MissingValue as exc:
        raise _invalid("body", "comment" if "reason" in str(exc) else "body", str(exc)) from None
    except CaseNotFound:
        raise HTTPException(404, detail=f"case {case.id} does not exist") from None
    masker = get_masker(request, principal, security)
    return _detail(get_case(security.engine, case.id, detail=True), masker)


IfMatch = Annotated[str | None, Header(max_length=64, description='the version seen, e.g. "3"')]


def _action_route(
    path: str, action: Action, permission: Permission, summary: str
) -> Callable[..., CaseDetail]:
    def handler(
        request: Request,
        principal: Annotated[Principal, Depends(authenticate)],
        security: Annotated[Security, Depends(get_security)],
        settings: Annotated[CaseSettings, Depends(get_case_settings)],
        case: Annotated[Case, Depends(visible_case)],
        body: ActionIn,
        if_match: IfMatch = None,
    ) -> CaseDetail:
        return _act(request, principal, security, settings, case, action, body, if_match)

    handler.__doc__ = summary
    handler.__name__ = f"case_{path.replace('-', '_').replace('/', '_')}"
    # The permission goes on the route: a closure's variable cannot sit in a string annotation.
    router.post(
        f"/{{case_id}}/{path}", responses=_ERRORS, dependencies=[Depends(require(permission))]
    )(handler)
    return handler


_action_route("accept", Action.accept, Permission.CASES_WRITE, "签收: take the case on.")
_action_route("start", Action.start, Permission.CASES_WRITE, "开始处置: start handling it.")
_action_route(
    "note", Action.attach, Permission.CASES_WRITE,
    "A note, photos or forms from the site; the status stays.",
)  # fmt: skip
_action_route(
    "return", Action.return_, Permission.CASES_WRITE,
    "退回: hand it back to the dispatcher; the comment says why.",
)  # fmt: skip
_action_route("archive", Action.archive, Permission.CASES_DISPATCH, "归档: file a closed case.")


@router.post("/{case_id}/dispatch", responses=_ERRORS)
def dispatch(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.CASES_DISPATCH))],
    security: Annotated[Security, Depends(get_security)],
    settings: Annotated[CaseSettings, Depends(get_case_settings)],
    case: Annotated[Case, Depends(visible_case)],
    body: DispatchIn,
    if_match: IfMatch = None,
) -> CaseDetail:
    """派发: send the case to a department (its routed one unless named)."""
    return _act(
        request, principal, security, settings, case, Action.dispatch, body, if_match,
        department=body.department,
    )  # fmt: skip


@router.post("/{case_id}/close", responses=_ERRORS)
def close(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.CASES_WRITE))],
    security: Annotated[Security, Depends(get_security)],
    settings: Annotated[CaseSettings, Depends(get_case_settings)],
    case: Annotated[Case, Depends(visible_case)],
    body: CloseIn,
    if_match: IfMatch = None,
) -> CaseDetail:
    """办结: close with an outcome — confirmed 属实, rejected 不属实, unverifiable 无法核实."""
    return _act(
        request, principal, security, settings, case, Action.close, body, if_match,
        outcome=body.outcome,
    )  # fmt: skip


@router.post("/{case_id}/extension/request", responses=_ERRORS)
def request_extension(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.CASES_WRITE))],
    security: Annotated[Security, Depends(get_security)],
    settings: Annotated[CaseSettings, Depends(get_case_settings)],
    case: Annotated[Case, Depends(visible_case)],
    body: ExtensionIn,
    if_match: IfMatch = None,
) -> CaseDetail:
    """申请延期: ask for more working hours; the comment says why."""
    return _act(
        request, principal, security, settings, case, Action.request_extension, body, if_match,
        hours=body.hours,
    )  # fmt: skip


_action_route(
    "extension/approve", Action.approve_extension, Permission.CASES_DISPATCH,
    "批准延期: grant the pending extension; the deadline moves.",
)  # fmt: skip
_action_route(
    "extension/refuse", Action.refuse_extension, Permission.CASES_DISPATCH,
    "驳回延期: refuse the pending extension; the deadline stays.",
)  # fmt: skip
