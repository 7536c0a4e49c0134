"""The case desk (一网统管) over ``citybrain.cases``: list, detail, act, metrics.

Every case route is area-scoped: a case outside the caller's streets, communities and grids does not
exist for them (404). Actions use optimistic locking: send the version you saw, in the body or as
``If-Match``; if someone acted in between, the answer is 409 and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pyarrow.compute as pc
from fastapi import (
    APIRouter,
    Depends,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select

from citybrain.api.check_sheet import SheetFacts, SheetPrinter, get_sheet_printer, render_sheet
from citybrain.api.deps import (
    InstalledTopics,
    LakeDep,
    OpsEngine,
    Principal,
    ScopeDep,
    Security,
    Text,
    TopicFilter,
    authenticate,
    cases_in_scope,
    get_security,
    get_workspace,
    require,
)
from citybrain.api.dwelling_usage import dwelling_months
from citybrain.api.paging import Page, PageParams, pagination
from citybrain.api.pii import PERSONAL_SUBJECTS, Masker, get_masker
from citybrain.api.places import AreaNames, Places, PlacesDep
from citybrain.api.security.audit import AuditEntry
from citybrain.api.security.masking import PiiKind
from citybrain.api.security.roles import Permission
from citybrain.api.security.scope import Scope
from citybrain.api.uploads import case_photo_url, upload_name
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
from citybrain.cases.photos import MAX_BYTES as MAX_PHOTO_BYTES
from citybrain.cases.photos import PhotoRefused, check_photo, find_photo, store_photo
from citybrain.core import UserError, Workspace
from citybrain.core.opsdb import session

router = APIRouter(prefix="/cases", tags=["cases"])

DWELLING_SUBJECTS = ("dwelling", "address")  # subjects whose 360 is a golden dwelling

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
    address: str | None = Field(
        description="the standard address in words, masked as the caller's role may see it"
    )
    area_names: AreaNames = Field(description="names of the street, community and grid")
    topic_title_zh: str | None = Field(None, description="the topic's display name, e.g. 群租房")
    topic_title_en: str | None = None
    entity_id: str | None = Field(
        None, description="the dwelling's golden id for its 360 page, once the base is built"
    )
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
    earlier: list[CaseOut] = Field(
        default_factory=list, description="other cases at the same place, newest first"
    )


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


# What the clerk found on site (现场核查) → the case's outcome, which becomes the topic's label.
ON_SITE: dict[str, tuple[Outcome, str]] = {
    "confirmed": (Outcome.confirmed, "属实"),
    "rejected": (Outcome.rejected, "不属实"),
    "no_entry": (Outcome.unverifiable, "无法入户"),
}


class OnSiteIn(ActionIn):
    result: Literal["confirmed", "rejected", "no_entry"] = Field(
        description="属实 confirmed, 不属实 rejected, 无法入户 no_entry (could not get in)"
    )


class SeriesOut(BaseModel):
    signal: str
    text_zh: str | None = Field(None, description="the latest reason's words for this signal")
    text_en: str | None = None
    observed: list[float | None]
    expected: list[float | None] = Field(description="what comparable subjects show")


class EvidenceSeries(BaseModel):
    topic: str
    periods: list[str]
    score: list[float | None]
    level: list[str | None]
    signals: list[SeriesOut]


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


@dataclass(frozen=True)
class CaseWords:
    """What puts a case in words: area names, addresses from the register, topic titles."""

    places: Places
    titles: dict[str, tuple[str, str]]

    def cases(self, cases: list[Case], masker: Masker) -> list[CaseOut]:
        """The cases as the caller may see them, each with its address and area names."""
        lookup = [c.subject_id for c in cases if not c.address]
        found = self.places.addresses(lookup) if lookup else {}
        dwellings = [c.subject_id for c in cases if c.subject_type in DWELLING_SUBJECTS]
        golden = self.places.dwelling_ids(dwellings) if dwellings else {}
        return [
            self._out(c, masker, c.address or found.get(c.subject_id), golden.get(c.subject_id))
            for c in cases
        ]

    def _out(
        self, case: Case, masker: Masker, address: str | None, entity_id: str | None
    ) -> CaseOut:
        data = case_summary(case)
        kind = PERSONAL_SUBJECTS.get(case.subject_type)
        if kind is not None:
            data["subject_id"] = masker.value(case.subject_id, kind, subject=case.subject_id)
        data["address"] = masker.value(address, PiiKind.ADDRESS, subject=case.subject_id)
        if data["address"] and case.title.startswith(case.subject_id):
            # "510109D000006098：近12个月…" reads as "天府大道1号…3栋：近12个月…".
            data["title"] = data["address"] + case.title[len(case.subject_id) :]
        data["area_names"] = self.places.areas(case.street_id, case.community_id, case.grid_id)
        data["entity_id"] = entity_id
        title = self.titles.get(case.topic)
        data["topic_title_zh"], data["topic_title_en"] = title or (None, None)
        return CaseOut.model_validate(data)


async def case_words(places: PlacesDep, installed: InstalledTopics) -> CaseWords:
    titles = {name: (cls.title_zh, cls.title_en) for name, cls in installed.items()}
    return CaseWords(places, titles)


Words = Annotated[CaseWords, Depends(case_words)]


def visible_case(case_id: CaseId, ops_engine: OpsEngine, scope: ScopeDep) -> Case:
    """The case, if it lies inside the caller's area; otherwise 404 (it does not exist for them)."""
    try:
        case = get_case(ops_engine, case_id, detail=True)
    except CaseNotFound:
        raise HTTPException(404, detail=f"case {case_id} does not exist") from None
    if not scope.allows(street=case.street_id, community=case.community_id, grid=case.grid_id):
        raise HTTPException(404, detail=f"case {case_id} does not exist in your area")
    return case


@router.get("")
def list_cases(
    principal: Annotated[Principal, Depends(require(Permission.CASES_READ))],
    security: Annotated[Security, Depends(get_security)],
    ops_engine: OpsEngine,
    scope: ScopeDep,
    masker: Annotated[Masker, Depends(get_masker)],
    words: Words,
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
    conditions: list[Any] = [cases_in_scope(scope)]
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
    with session(ops_engine) as db:
        total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = db.scalars(paging.apply(query, _SORTABLE).order_by(Case.id.desc())).all()
        items = words.cases(list(rows), masker)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get("/metrics")
def metrics(
    principal: Annotated[Principal, Depends(require(Permission.METRICS_READ))],
    security: Annotated[Security, Depends(get_security)],
    ops_engine: OpsEngine,
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
    figures = case_metrics(ops_engine, topic=topic, settings=settings, clock=security.clock)
    return CaseMetricsOut(scope_limited=False, **figures.as_dict())


def _earlier(case: Case, ops_engine: OpsEngine, scope: ScopeDep) -> list[Case]:
    """Other cases of the same subject or at the same address, in the caller's area."""
    same = Case.subject_id == case.subject_id
    if case.address:
        same = or_(same, Case.address == case.address)
    query = (
        select(Case)
        .where(same, Case.id != case.id, cases_in_scope(scope))
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(20)
    )
    with session(ops_engine) as db:
        return list(db.scalars(query))


def _detail(case: Case, masker: Masker, words: CaseWords, earlier: list[Case]) -> CaseDetail:
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
        case=words.cases([case], masker)[0],
        earlier=words.cases(earlier, masker),
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
    words: Words,
    ops_engine: OpsEngine,
    scope: ScopeDep,
    response: Response,
) -> CaseDetail:
    """One case with its address and area names in words, its evidence (findings and reasons),
    its history, its reporters and the earlier cases at the same place."""
    response.headers["ETag"] = f'"{case.version}"'
    return _detail(case, masker, words, _earlier(case, ops_engine, scope))


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


IfMatch = Annotated[str | None, Header(max_length=64, description='the version seen, e.g. "3"')]


@dataclass(frozen=True)
class CaseDesk:
    """One action on one visible case by the caller: what every action route is handed."""

    request: Request
    principal: Principal
    security: Security
    ops_engine: OpsEngine
    settings: CaseSettings
    case: Case
    if_match: str | None
    words: CaseWords
    scope: Scope

    def act(self, action: Action, body: ActionIn, **values: Any) -> CaseDetail:
        """Apply ``action`` if the case is still at the version the caller saw; the case after."""
        case_id = self.case.id
        try:
            act(
                self.ops_engine,
                case_id,
                action,
                actor=self.principal.username,
                comment=body.comment,
                attachments=[a.model_dump(exclude_none=True) for a in body.attachments],
                expected_version=_expected_version(body, self.if_match),
                settings=self.settings,
                clock=self.security.clock,
                **values,
            )
        except (CaseConflict, IllegalTransition) as exc:
            raise HTTPException(409, detail=f"{exc}; {exc.hint}") from None
        except MissingValue as exc:
            field = "comment" if "reason" in str(exc) else "body"
            raise _invalid("body", field, str(exc)) from None
        except CaseNotFound:
            raise HTTPException(404, detail=f"case {case_id} does not exist") from None
        masker = get_masker(self.request, self.principal, self.security)
        after = get_case(self.ops_engine, case_id, detail=True)
        return _detail(after, masker, self.words, _earlier(after, self.ops_engine, self.scope))


# ``async``: it only gathers what its own dependencies found (a plain ``def`` costs a thread hop).
async def case_desk(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    security: Annotated[Security, Depends(get_security)],
    ops_engine: OpsEngine,
    settings: Annotated[CaseSettings, Depends(get_case_settings)],
    case: Annotated[Case, Depends(visible_case)],
    words: Words,
    scope: ScopeDep,
    if_match: IfMatch = None,
) -> CaseDesk:
    return CaseDesk(
        request, principal, security, ops_engine, settings, case, if_match, words, scope
    )


Desk = Annotated[CaseDesk, Depends(case_desk)]
WRITE = [Depends(require(Permission.CASES_WRITE))]
DISPATCH = [Depends(require(Permission.CASES_DISPATCH))]


@router.post("/{case_id}/accept", responses=_ERRORS, dependencies=WRITE)
def accept(desk: Desk, body: ActionIn) -> CaseDetail:
    """签收: take the case on."""
    return desk.act(Action.accept, body)


@router.post("/{case_id}/start", responses=_ERRORS, dependencies=WRITE)
def start(desk: Desk, body: ActionIn) -> CaseDetail:
    """开始处置: start handling it."""
    return desk.act(Action.start, body)


@router.post("/{case_id}/note", responses=_ERRORS, dependencies=WRITE)
def note(desk: Desk, body: ActionIn) -> CaseDetail:
    """A note, photos or forms from the site; the status stays."""
    return desk.act(Action.attach, body)


@router.post("/{case_id}/return", responses=_ERRORS, dependencies=WRITE)
def return_to_dispatcher(desk: Desk, body: ActionIn) -> CaseDetail:
    """退回: hand it back to the dispatcher; the comment says why."""
    return desk.act(Action.return_, body)


@router.post("/{case_id}/archive", responses=_ERRORS, dependencies=DISPATCH)
def archive(desk: Desk, body: ActionIn) -> CaseDetail:
    """归档: file a closed case."""
    return desk.act(Action.archive, body)


@router.post("/{case_id}/dispatch", responses=_ERRORS, dependencies=DISPATCH)
def dispatch(desk: Desk, body: DispatchIn) -> CaseDetail:
    """派发: send the case to a department (its routed one unless named)."""
    return desk.act(Action.dispatch, body, department=body.department)


@router.post("/{case_id}/close", responses=_ERRORS, dependencies=WRITE)
def close(desk: Desk, body: CloseIn) -> CaseDetail:
    """办结: close with an outcome — confirmed 属实, rejected 不属实, unverifiable 无法核实."""
    return desk.act(Action.close, body, outcome=body.outcome)


@router.post("/{case_id}/on-site", responses=_ERRORS, dependencies=WRITE)
def on_site(desk: Desk, body: OnSiteIn) -> CaseDetail:
    """现场核查结果: close with what the clerk found — 属实, 不属实 or 无法入户 (closed as
    unverifiable) — and a note; a confirmed or rejected case becomes a label for the topic."""
    outcome, words = ON_SITE[body.result]
    note = body.comment.strip()
    body = body.model_copy(update={"comment": f"现场核查：{words}" + (f"。{note}" if note else "")})
    return desk.act(Action.close, body, outcome=outcome, on_site=body.result)


class PhotoOut(BaseModel):
    """A stored photo, ready to be sent as an attachment of an action."""

    name: str
    url: str
    kind: str = "photo"
    sha256: str
    size: int
    media_type: str


@router.post(
    "/{case_id}/photos",
    status_code=201,
    dependencies=WRITE,
    responses={
        404: _ERRORS[404],
        413: {"description": "over 10 MB"},
        415: {"description": "not a JPEG, PNG or WebP image"},
    },
)
def upload_photo(
    case: Annotated[Case, Depends(visible_case)],
    workspace: Annotated[Workspace, Depends(get_workspace)],
    file: UploadFile,
) -> PhotoOut:
    """现场照片: store a photo by its content (SHA-256; the same photo is stored once); send the
    answer as one of ``attachments`` with the on-site result or a note. Only a picture that decodes
    is taken; its position is kept, as evidence of where the clerk stood."""
    name = upload_name(file, "photo")
    data = file.file.read(MAX_PHOTO_BYTES + 1)
    try:
        checked = check_photo(data, name, keep_location=True)
        stored = store_photo(workspace.root, checked.data, name)
    except PhotoRefused as exc:
        raise HTTPException(exc.status, detail=str(exc)) from None
    return PhotoOut(
        name=name, url=case_photo_url(case.id, stored.sha256), sha256=stored.sha256,
        size=stored.size, media_type=stored.media_type,
    )  # fmt: skip


@router.get("/{case_id}/photos/{sha}", responses={404: _ERRORS[404]})
def case_photo(
    _: Annotated[Principal, Depends(require(Permission.CASES_READ))],
    case: Annotated[Case, Depends(visible_case)],
    workspace: Annotated[Workspace, Depends(get_workspace)],
    sha: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")],
) -> FileResponse:
    """A photo attached to this case (only photos its history names are served)."""
    url = case_photo_url(case.id, sha)
    named = any(a.get("url") == url for e in case.events for a in e.attachments or [])
    stored = find_photo(workspace.root, sha) if named else None
    if stored is None:
        raise HTTPException(404, detail=f"case {case.id} has no such photo")
    return FileResponse(
        stored.path,
        media_type=stored.media_type,
        headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/{case_id}/evidence/series", responses={404: _ERRORS[404]})
def evidence_series(
    _: Annotated[Principal, Depends(require(Permission.FINDINGS_READ))],
    case: Annotated[Case, Depends(visible_case)],
    lake: LakeDep,
) -> EvidenceSeries:
    """The case subject's signals month by month from its topic's latest findings: what was
    observed against what comparable subjects show (for group rental: water per person against
    flats of the same building and size, deliveries, recipient phones, residence-permit churn)."""
    table = lake.findings(case.topic)
    mine = table.filter(pc.equal(table["subject_id"], case.subject_id)).sort_by("period")
    rows = mine.select(["period", "score", "level", "reasons"]).to_pylist()
    periods = [str(r["period"]) for r in rows]
    by_signal: dict[str, SeriesOut] = {}
    for i, row in enumerate(rows):
        for reason in row["reasons"] or []:
            name = reason.get("signal") or "?"
            series = by_signal.setdefault(
                name,
                SeriesOut(signal=name, observed=[None] * len(rows), expected=[None] * len(rows)),
            )
            series.observed[i] = reason.get("observed")
            series.expected[i] = reason.get("expected")
            series.text_zh, series.text_en = reason.get("text_zh"), reason.get("text_en")
    return EvidenceSeries(
        topic=case.topic,
        periods=periods,
        score=[r["score"] for r in rows],
        level=[r["level"] for r in rows],
        signals=list(by_signal.values()),
    )


class MonthlyOut(BaseModel):
    key: str = Field(description="water (t), electricity (kWh), gas (m³) or deliveries (items)")
    observed: list[float | None] = Field(description="the dwelling's own, month by month")
    peers: list[float | None] = Field(description="the median of similar dwellings")


class DwellingMonthsOut(BaseModel):
    periods: list[str]
    building: str | None = Field(description="the building in words, e.g. 锦城小区3栋")
    peers: int = Field(description="how many similar dwellings the median is taken over")
    peers_by_area: bool = Field(
        description="true: of similar floor area in the building; false: the whole building"
    )
    series: list[MonthlyOut]
    permits_issued: list[int] = Field(description="residence permits issued there, per month")
    permits_cancelled: list[int]


@router.get("/{case_id}/evidence/dwelling", responses={404: _ERRORS[404]})
def evidence_dwelling(
    _: Annotated[Principal, Depends(require(Permission.FINDINGS_READ))],
    case: Annotated[Case, Depends(visible_case)],
    lake: LakeDep,
) -> DwellingMonthsOut:
    """The case's dwelling month by month in raw figures: metered water, electricity and gas and
    deliveries against the median of similar dwellings in the same building (same estate and
    building, similar floor area), and residence permits issued and cancelled there. Empty for a
    case whose subject is not a dwelling."""
    if case.subject_type not in DWELLING_SUBJECTS:
        return DwellingMonthsOut(
            periods=[], building=None, peers=0, peers_by_area=False, series=[],
            permits_issued=[], permits_cancelled=[],
        )  # fmt: skip
    with lake.engine() as engine:
        months = dwelling_months(engine, case.subject_id)
    return DwellingMonthsOut.model_validate(months, from_attributes=True)


LEVEL_ZH = {"high": "高", "medium": "中", "low": "低"}


def _sheet_facts(detail: CaseDetail) -> SheetFacts:
    c = detail.case
    names = c.area_names
    areas = [
        names.street or c.street_id,
        names.community or c.community_id,
        names.grid or c.grid_id,
    ]
    latest = max(detail.evidence, key=lambda e: e.period, default=None)
    return SheetFacts(
        case_id=c.id, title=c.title, topic=c.topic, topic_title=c.topic_title_zh or c.topic,
        address=c.address, areas=" / ".join(a for a in areas if a) or "—",
        subject_id=c.subject_id, period=c.period, level_zh=LEVEL_ZH.get(c.level, c.level),
        score=c.score, department=c.department, deadline=(c.sla_due_at or "")[:16] or None,
        reasons=latest.reasons if latest else [],
        earlier=[f"#{e.id} {(e.created_at or '')[:10]} {e.title} · {e.outcome_zh or e.status_zh}"
                 for e in detail.earlier],
    )  # fmt: skip


@router.get(
    "/{case_id}/check-sheet.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 404: _ERRORS[404],
               503: {"description": "Chromium, which prints the sheet, is not installed"}},
)  # fmt: skip
def check_sheet(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.CASES_READ))],
    security: Annotated[Security, Depends(get_security)],
    case: Annotated[Case, Depends(visible_case)],
    masker: Annotated[Masker, Depends(get_masker)],
    words: Words,
    workspace: Annotated[Workspace, Depends(get_workspace)],
    ops_engine: OpsEngine,
    scope: ScopeDep,
    printer: Annotated[SheetPrinter, Depends(get_sheet_printer)],
) -> Response:
    """现场核查单: the case's on-site check sheet as a PDF (A4, Chinese fonts) — the address as
    your role may see it, the areas, what to check, the evidence in brief, earlier cases here, and
    room for the findings, the result and signatures. Printing it is audited."""
    detail = _detail(case, masker, words, _earlier(case, ops_engine, scope))
    now = security.clock()
    html = render_sheet(_sheet_facts(detail), workspace.config.name, now, principal.username)
    security.audit_read(
        AuditEntry(
            actor=principal.actor, role=principal.role.value, action="cases.check_sheet",
            endpoint=f"GET {request.url.path}", subjects=[case.subject_id],
            detail={"case_id": case.id}, at=now,
        )
    )  # fmt: skip
    try:
        pdf = printer(html)
    except UserError as exc:
        raise HTTPException(503, detail=str(exc)) from None
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="check-sheet-{case.id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/{case_id}/extension/request", responses=_ERRORS, dependencies=WRITE)
def request_extension(desk: Desk, body: ExtensionIn) -> CaseDetail:
    """申请延期: ask for more working hours; the comment says why."""
    return desk.act(Action.request_extension, body, hours=body.hours)


@router.post("/{case_id}/extension/approve", responses=_ERRORS, dependencies=DISPATCH)
def approve_extension(desk: Desk, body: ActionIn) -> CaseDetail:
    """批准延期: grant the pending extension; the deadline moves."""
    return desk.act(Action.approve_extension, body)


@router.post("/{case_id}/extension/refuse", responses=_ERRORS, dependencies=DISPATCH)
def refuse_extension(desk: Desk, body: ActionIn) -> CaseDetail:
    """驳回延期: refuse the pending extension; the deadline stays."""
    return desk.act(Action.refuse_extension, body)
