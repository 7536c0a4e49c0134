"""The portal's enterprise pages (企业): my credit grade, its reasons and history, 信用修复, and the
policies the policy_push topic found my firm qualifies for (政策主动推送).

A firm signs in with an account the city issued to it (role ``firm``; the account's department is
the firm's USCC — ``citybrain user create NAME --role firm --department USCC``). Every route here
answers about that firm only: the USCC comes from the account, never from the request. A dispute
of one record is filed with the credit topic's own ``repair.file_dispute`` and waits in the
steward's queue (``citybrain credit review``); an upheld one gives a new grade, shown here with the
history.

A firm's request (企业诉求) is a report of its own kind through the same intake as a resident's:
a case routed to its department, a receipt number to follow it by and rate the answer (the
public receipt routes in ``portal``); the firm's USCC is in the report's external id, so the
firm lists its own requests and nobody else's. A credit commitment (信用承诺) the firm's grade
allows is signed here and kept in the ops database (``firm_commitment``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from sqlalchemy import select

from citybrain.api import addresses
from citybrain.api.credit import CreditReason
from citybrain.api.deps import (
    CreditIndexDep,
    Lake,
    OpsEngine,
    Principal,
    Security,
    get_lake,
    get_security,
    get_workspace,
    public,
    require,
)
from citybrain.api.opsdb_models import FirmCommitment
from citybrain.api.receipts import ENTERPRISE_REQUEST, HINTS, portal_settings, receipt_for
from citybrain.api.security import accounts, audit, tokens
from citybrain.api.security.roles import Permission, Role
from citybrain.cases import CaseConflict, IllegalTransition, Report, desk
from citybrain.cases.intake import submit_report
from citybrain.cases.opsdb_models import Case, CaseEvent, CaseReporter
from citybrain.core import UserError, Workspace
from citybrain.core.opsdb import session
from citybrain.topics.builtin.credit.repair import file_dispute, shown_records
from citybrain.topics.builtin.policy_push.catalogue import load_catalogue
from citybrain.topics.builtin.policy_push.topic import SUBJECT_TYPE, PolicyPush
from citybrain.topics.opsdb_models import CreditDispute, CreditScoreHistory

router = APIRouter(prefix="/portal/firm", tags=["portal"])

USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
# What a firm sees of each of its records (the legal representative's name is not among them).
RECORD_FIELDS = {
    "penalty": ("violation", "penalty_kind", "amount", "decided_date", "authority"),
    "dishonest": ("court", "duty", "performance", "registered_date", "published_date"),
    "commitment": ("kind", "content", "committed_date", "check_result"),
}


def firm_of(principal: Principal) -> str:
    """The USCC of the signed-in firm account (only firm accounts hold ``portal.firm``); 404
    when the account names no enterprise (its department must be the firm's USCC)."""
    uscc = (principal.department or "").strip().upper()
    if not USCC.match(uscc):
        raise HTTPException(404, detail="this account names no enterprise (no USCC)")
    return uscc


def _firm(principal: Annotated[Principal, Depends(require(Permission.PORTAL_FIRM))]) -> str:
    return firm_of(principal)


FirmDep = Annotated[str, Depends(_firm)]


# --- signing in as the firm --------------------------------------------------------------------


class FirmSignIn(BaseModel):
    uscc: str = Field(min_length=18, max_length=18, pattern=r"^[0-9A-Za-z]{18}$",
                      description="统一社会信用代码 as typed (case does not matter)")  # fmt: skip
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class FirmSession(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")
    uscc: str


SIGN_IN_REFUSED = "wrong USCC, account or password (统一社会信用代码、账号或密码不正确)"


@router.post(
    "/session", dependencies=[Depends(public)],
    responses={401: {"description": "wrong USCC, account or password"},
               423: {"description": "locked after repeated failures"}},
)  # fmt: skip
def firm_session(
    body: FirmSignIn, request: Request, security: Annotated[Security, Depends(get_security)]
) -> FirmSession:
    """Sign in as the firm: its USCC and the account the city issued to it. The server checks
    that the account is a firm account of exactly this USCC; any mismatch is refused with the
    same answer as a wrong password (and audited as a failed sign-in)."""
    settings = security.settings
    now = security.clock()
    uscc = body.uscc.strip().upper()
    refused: str | None = None
    locked: datetime | None = None
    user_id = 0
    with session(security.ops_engine) as db:
        try:
            user = accounts.sign_in(
                db, body.username, body.password, now,
                max_attempts=settings.lockout_attempts,
                lockout=timedelta(minutes=settings.lockout_minutes),
            )  # fmt: skip
        except accounts.LoginRefused as exc:
            refused, locked = SIGN_IN_REFUSED, exc.locked_until
        else:
            if user.role != Role.FIRM.value or (user.department or "").strip().upper() != uscc:
                refused = SIGN_IN_REFUSED  # not this firm's account: answered as a wrong password
            user_id = user.id
        audit.append(
            db, actor=body.username[:64], role=Role.FIRM.value if refused is None else "",
            action="auth.login" if refused is None else "auth.login_failed",
            endpoint="POST /api/v1/portal/firm/session",
            detail={"uscc": uscc, "client": request.client.host if request.client else "unknown"},
            at=now,
        )  # fmt: skip
    if locked is not None:
        raise HTTPException(423, detail=f"account locked; try again after {locked.isoformat()}")
    if refused is not None:
        raise HTTPException(401, detail=refused, headers={"WWW-Authenticate": "Bearer"})
    lifetime = timedelta(minutes=settings.access_token_minutes)
    token = tokens.issue_access_token(security.signing_key, user_id, now, lifetime)
    return FirmSession(access_token=token, expires_in=int(lifetime.total_seconds()), uscc=uscc)


class GradePoint(BaseModel):
    at: str = Field(description="the month graded, or the moment of a repair")
    score: int
    grade: str
    cause: str = Field(description="run (a credit topic run) or repair (信用修复)")


class Record(BaseModel):
    kind: str = Field(description="penalty | dishonest | commitment")
    record_id: str
    fields: dict[str, str]
    dispute: str | None = Field(None, description="pending | upheld | rejected")


class MyCredit(BaseModel):
    uscc: str
    name: str | None
    score: int | None
    grade: str | None
    period: str | None
    reasons: list[CreditReason]
    history: list[GradePoint]
    records: list[Record]


class DisputeOut(BaseModel):
    id: int
    kind: str
    record_id: str
    reason: str
    status: str
    filed_at: datetime
    review_note: str | None


def _history(lake: Lake, ops: Any, uscc: str) -> list[GradePoint]:
    """Each credit run's grade of the firm, oldest first; a run a repair wrote is the repair."""
    with session(ops) as db:
        repairs = {
            r.run_id: r.at
            for r in db.scalars(select(CreditScoreHistory).where(CreditScoreHistory.uscc == uscc))
        }
    if not lake.exists("topic", "credit_scores"):
        return []
    with lake.engine() as engine:
        table = engine.table("topic", "credit_scores")
        rows = engine.to_arrow(
            table.filter(table.uscc == uscc).select("run_id", "period", "score", "grade")
        ).sort_by("run_id")
    points: list[GradePoint] = []
    for row in rows.to_pylist():
        repaired = repairs.get(row["run_id"])
        points.append(
            GradePoint(
                at=repaired.isoformat(timespec="minutes") if repaired else str(row["period"]),
                score=int(row["score"]), grade=str(row["grade"]),
                cause="repair" if repaired else "run",
            )
        )  # fmt: skip
    return points


def _records(lake: Lake, uscc: str, disputes: dict[tuple[str, str], str]) -> list[Record]:
    with lake.engine() as engine:
        rows = shown_records(engine, RECORD_FIELDS, uscc=uscc, limit=200)
    return [
        Record(kind=kind, record_id=record_id, fields=fields,
               dispute=disputes.get((kind, record_id)))
        for kind, record_id, fields in rows
    ]  # fmt: skip


def _disputes(ops: Any, uscc: str) -> list[CreditDispute]:
    with session(ops) as db:
        rows = db.scalars(
            select(CreditDispute).where(CreditDispute.uscc == uscc).order_by(CreditDispute.id)
        ).all()
        db.expunge_all()
        return list(rows)


@router.get("/credit")
def my_credit(
    uscc: FirmDep,
    index: CreditIndexDep,
    lake: Annotated[Lake, Depends(get_lake)],
    ops_engine: OpsEngine,
) -> MyCredit:
    """My firm's credit grade with its reasons, its grades over time and the records behind it."""
    report = index.report(uscc)
    disputes = {(d.record_kind, d.record_id): d.status for d in _disputes(ops_engine, uscc)}
    return MyCredit(
        uscc=uscc, name=report.name if report else None, score=report.score if report else None,
        grade=report.grade if report else None, period=report.period if report else None,
        reasons=report.reasons if report else [], history=_history(lake, ops_engine, uscc),
        records=_records(lake, uscc, disputes),
    )  # fmt: skip


class DisputeIn(BaseModel):
    kind: str = Field(pattern=r"^(penalty|dishonest|commitment)$")
    record_id: str = Field(min_length=1, max_length=128)
    reason: str = Field(min_length=2, max_length=2000, pattern=r"\S")


@router.get("/disputes")
def my_disputes(uscc: FirmDep, ops_engine: OpsEngine) -> list[DisputeOut]:
    """My firm's credit repair requests and how the steward decided them."""
    return [
        DisputeOut(id=d.id, kind=d.record_kind, record_id=d.record_id, reason=d.reason,
                   status=d.status, filed_at=d.filed_at, review_note=d.review_note)
        for d in _disputes(ops_engine, uscc)
    ]  # fmt: skip


@router.post(
    "/disputes",
    status_code=201,
    responses={
        404: {"description": "no such record of mine"},
        409: {"description": "already disputed"},
    },
)
def dispute_record(
    body: DisputeIn,
    principal: Annotated[Principal, Depends(require(Permission.PORTAL_FIRM))],
    lake: Annotated[Lake, Depends(get_lake)],
    ops_engine: OpsEngine,
    security: Annotated[Security, Depends(get_security)],
) -> DisputeOut:
    """信用修复: object to one of my firm's records; it goes to the credit steward's queue."""
    uscc = firm_of(principal)
    if any(d.record_kind == body.kind and d.record_id == body.record_id and d.status == "pending"
           for d in _disputes(ops_engine, uscc)):  # fmt: skip
        raise HTTPException(409, detail="this record already has a pending dispute")
    try:
        with lake.engine() as engine, session(ops_engine) as db:
            dispute = file_dispute(db, engine, uscc=uscc, kind=body.kind,
                                   record_id=body.record_id, reason=body.reason,
                                   by=principal.username)  # fmt: skip
            audit.append(
                db, actor=principal.actor, role=principal.role.value, action="credit.dispute",
                endpoint="POST /api/v1/portal/firm/disputes", subjects=[uscc],
                detail={"dispute_id": dispute.id, "kind": body.kind, "record": body.record_id},
                at=security.clock(),
            )  # fmt: skip
            out = DisputeOut(
                id=dispute.id, kind=dispute.record_kind, record_id=dispute.record_id,
                reason=dispute.reason, status=dispute.status, filed_at=dispute.filed_at,
                review_note=None,
            )  # fmt: skip
    except UserError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return out


# --- policies pushed to my firm (政策主动推送) ---------------------------------------------------


class PolicyReason(BaseModel):
    signal: str
    observed: float | None
    expected: float | None
    text_zh: str
    text_en: str


class PolicyForMe(BaseModel):
    policy: str = Field(description="the policy's key in the catalogue")
    title_zh: str
    title_en: str
    department: str = Field(description="who grants it")
    period: str
    level: str
    reasons: list[PolicyReason] = Field(description="why my firm qualifies, one per rule")
    case_status: str | None = Field(None, description="the service case's status, if one")
    outcome: str | None = Field(None, description="applied | declined | not eligible, when done")
    answer: str | None = Field(None, description="my firm's answer on the case: apply | decline")


def _golden_ids(lake: Lake, uscc: str) -> list[str]:
    """The golden enterprise ids the firm's registrations resolved to (usually one)."""
    if not (lake.exists("std", "enterprise_registration")
            and lake.exists("base", "enterprise_link")):  # fmt: skip
        return []
    with lake.engine() as engine:
        reg = engine.table("std", "enterprise_registration")
        links = engine.table("base", "enterprise_link")
        mine = reg.filter(reg.uscc == uscc).select(_key=reg.registration_id.cast("string"))
        linked = links.filter(links.source_table == "enterprise_registration")
        ids = linked.semi_join(mine, linked.source_key == mine._key).golden_enterprise_id
        found = engine.to_arrow(ids.as_table().distinct())
    return sorted(str(v) for v in found.column(0).to_pylist() if v is not None)


@router.get("/policies")
def my_policies(
    uscc: FirmDep,
    lake: Annotated[Lake, Depends(get_lake)],
    workspace: Annotated[Workspace, Depends(get_workspace)],
    ops_engine: OpsEngine,
) -> list[PolicyForMe]:
    """The policies the policy_push topic's latest run found my firm qualifies for, with the
    reasons, and where the enterprise service centre's case for each stands."""
    catalogue = {p.key: p for p in load_catalogue(workspace.root)}
    goldens = _golden_ids(lake, uscc)
    if not goldens:
        return []
    wanted = [f"{key}:{g}" for key in catalogue for g in goldens]
    findings = lake.findings(PolicyPush.name)
    mine = findings.filter(
        pc.and_(pc.equal(findings["subject_type"], SUBJECT_TYPE),
                pc.is_in(findings["subject_id"], pa.array(wanted, pa.string())))
    ).sort_by([("score", "descending"), ("subject_id", "ascending")])  # fmt: skip
    with session(ops_engine) as db:
        cases = db.execute(
            select(Case.subject_id, Case.status, Case.outcome)
            .where(Case.topic == PolicyPush.name, Case.subject_type == SUBJECT_TYPE,
                   Case.subject_id.in_(wanted))
            .order_by(Case.id)
        ).all()  # fmt: skip
    case_of = {c.subject_id: (c.status, c.outcome) for c in cases}  # the newest case wins
    answers = _answers(ops_engine, wanted)
    out = []
    for row in mine.to_pylist():  # a firm's few policies
        policy = catalogue[row["subject_id"].partition(":")[0]]
        status, outcome = case_of.get(row["subject_id"], (None, None))
        out.append(
            PolicyForMe(
                policy=policy.key, title_zh=policy.zh, title_en=policy.en,
                department=policy.department, period=row["period"], level=row["level"],
                reasons=[PolicyReason(**{k: r[k] for k in PolicyReason.model_fields})
                         for r in row["reasons"] or []],
                case_status=status, outcome=outcome, answer=answers.get(row["subject_id"]),
            )
        )  # fmt: skip
    return out


_ANSWER_ZH = {"apply": "企业答复：拟申报", "decline": "企业答复：放弃申报"}


def _answers(ops: Any, subjects: list[str]) -> dict[str, str]:
    """Each subject's latest firm answer (apply | decline), from its case's events."""
    with session(ops) as db:
        rows = db.execute(
            select(Case.subject_id, CaseEvent.comment)
            .join(CaseEvent, CaseEvent.case_id == Case.id)
            .where(Case.topic == PolicyPush.name, Case.subject_type == SUBJECT_TYPE,
                   Case.subject_id.in_(subjects), CaseEvent.actor.startswith("firm:"))
            .order_by(CaseEvent.id)
        ).all()  # fmt: skip
    found: dict[str, str] = {}
    for subject, comment in rows:  # a firm's few answers
        for answer, words in _ANSWER_ZH.items():
            if comment.startswith(words):
                found[subject] = answer
    return found


class PolicyAnswer(BaseModel):
    answer: str = Field(pattern=r"^(apply|decline)$", description="apply 申报 | decline 放弃")
    note: str | None = Field(None, max_length=500)


@router.post(
    "/policies/{policy}/answer",
    responses={404: {"description": "no open service case of this policy for my firm"},
               409: {"description": "the case changed meanwhile"}},
)  # fmt: skip
def answer_policy(
    policy: Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")],
    body: PolicyAnswer,
    principal: Annotated[Principal, Depends(require(Permission.PORTAL_FIRM))],
    lake: Annotated[Lake, Depends(get_lake)],
    workspace: Annotated[Workspace, Depends(get_workspace)],
    ops_engine: OpsEngine,
    security: Annotated[Security, Depends(get_security)],
) -> list[PolicyForMe]:
    """Apply for or decline a policy pushed to my firm: the answer goes on the open service case
    (an attached note for the enterprise service centre, which records the outcome)."""
    uscc = firm_of(principal)
    subjects = [f"{policy}:{g}" for g in _golden_ids(lake, uscc)]
    with session(ops_engine) as db:
        case_id = db.scalar(
            select(Case.id).where(Case.topic == PolicyPush.name, Case.subject_type == SUBJECT_TYPE,
                                  Case.subject_id.in_(subjects), Case.open_key.is_not(None))
            .order_by(Case.id.desc()).limit(1)
        )  # fmt: skip
    if case_id is None:
        raise HTTPException(404, detail=f"no open service case of policy {policy} for your firm")
    comment = _ANSWER_ZH[body.answer] + (f"（{body.note.strip()}）" if body.note else "")
    try:
        desk.act(ops_engine, case_id, "attach", actor=f"firm:{principal.username}",
                 comment=comment, clock=security.clock)  # fmt: skip
    except (IllegalTransition, CaseConflict) as exc:
        raise HTTPException(409, detail=str(exc)) from None
    return my_policies(uscc, lake, workspace, ops_engine)


# --- 企业诉求: an enterprise's request, a service case of its own ---------------------------------


class FirmRequestIn(BaseModel):
    description: str = Field(min_length=2, max_length=2000, pattern=r"\S")
    contact: str | None = Field(None, max_length=64, description="who to call back")
    phone: str | None = Field(None, max_length=32, pattern=r"^[0-9+\- ]*$")
    request_id: str | None = Field(
        None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
        description="the firm's own id of this request: sending it again files nothing new",
    )  # fmt: skip


class FirmReceipt(BaseModel):
    receipt: str = Field(description="follow and rate it at /api/v1/portal/receipts/{receipt}")
    case_id: int
    department: str | None
    address: str | None = Field(
        None, description="the firm's registered address the case is placed at, when it has one"
    )
    notice_zh: str
    notice_en: str


class FirmRequestOut(BaseModel):
    receipt: str
    description: str
    status: str
    department: str | None
    reported_at: datetime
    rating: int | None


def _external_prefix(uscc: str) -> str:
    return f"firm:{uscc}:"


def _registered_address(lake: Lake, uscc: str) -> str | None:
    """The firm's registered address (住所) from its latest registration record, if any."""
    if not lake.exists("std", "enterprise_registration"):
        return None
    with lake.engine() as engine:
        reg = engine.table("std", "enterprise_registration")
        if "address" not in reg.columns:
            return None
        mine = reg.filter((reg.uscc == uscc) & reg.address.notnull())
        order = [mine[c].desc() for c in ("registered_date", "registration_id") if c in reg.columns]
        found = engine.to_arrow(mine.order_by(order).select("address").limit(1))
    values = [str(v).strip() for v in found.column(0).to_pylist() if str(v).strip()]
    return values[0] if values else None


@router.post("/requests", status_code=201)
def file_request(
    body: FirmRequestIn,
    uscc: FirmDep,
    index: CreditIndexDep,
    request: Request,
    ops_engine: OpsEngine,
    lake: Annotated[Lake, Depends(get_lake)],
    workspace: Annotated[Workspace, Depends(get_workspace)],
    security: Annotated[Security, Depends(get_security)],
) -> FirmReceipt:
    """企业诉求: my firm raises a request; it becomes a service case routed to the department like
    a resident's report (the enterprise service centre unless the city routes it elsewhere),
    placed at the firm's registered address when the address register knows it (so the case
    lies in the firm's street and grid), and answered with a receipt number to follow and rate
    it by. Two firms' requests are never merged, however close the firms are."""
    report = index.report(uscc)
    name = (report.name if report else None) or uscc
    external = _external_prefix(uscc) + (body.request_id or uuid.uuid4().hex)
    registered = _registered_address(lake, uscc)
    # the address book only when there is an address to place (its first build takes seconds)
    book = addresses.address_book(request.app.state, lake) if registered else None
    place = addresses.place(book, registered) if book is not None and registered else None
    filed = Report(
        service_code=ENTERPRISE_REQUEST.service_code, channel="enterprise",
        description=body.description.strip(), name=f"{name}（{body.contact}）" if body.contact
        else name, phone=body.phone or None, external_id=external,
        lon=place.lon if place else None, lat=place.lat if place else None,
        address=(place.matched if place else None) or registered,
    )  # fmt: skip
    # A request is its firm's own: it never joins another firm's case, however close.
    result = submit_report(ops_engine, filed, settings=portal_settings(workspace.root),
                           areas=book.areas if place is not None and book is not None else None,
                           hints=HINTS, clock=security.clock, merge_nearby=False)  # fmt: skip
    with session(ops_engine) as db:
        case = db.get(Case, result.case_id)
        department = case.department if case else None
    receipt = receipt_for(security.signing_key, result.reporter_id)
    return FirmReceipt(
        receipt=receipt, case_id=result.case_id, department=department, address=filed.address,
        notice_zh=f"企业诉求已受理，回执号 {receipt}，由{department or '相关部门'}办理",
        notice_en=f"Request received. Receipt number {receipt}; handled by "
        f"{department or 'the department concerned'}.",
    )  # fmt: skip


@router.get("/requests")
def my_requests(
    uscc: FirmDep, ops_engine: OpsEngine, security: Annotated[Security, Depends(get_security)]
) -> list[FirmRequestOut]:
    """My firm's requests, newest first, each with its receipt number and where it stands."""
    with session(ops_engine) as db:
        rows = db.execute(
            select(CaseReporter, Case.status, Case.department)
            .join(Case, Case.id == CaseReporter.case_id)
            .where(CaseReporter.channel == "enterprise",
                   CaseReporter.external_id.startswith(_external_prefix(uscc), autoescape=True))
            .order_by(CaseReporter.id.desc())
            .limit(200)
        ).all()  # fmt: skip
        return [
            FirmRequestOut(
                receipt=receipt_for(security.signing_key, r.id), description=r.description or "",
                status=status, department=department, reported_at=r.reported_at, rating=r.rating,
            )
            for r, status, department in rows
        ]  # fmt: skip


# --- 信用承诺: credit commitments a firm signs where its grade allows --------------------------


@dataclass(frozen=True)
class CommitmentKind:
    title_zh: str
    title_en: str
    text_zh: str
    grades: frozenset[str]  # the grades that may sign it
    days: int | None  # a tolerance commitment's papers are due this many days after signing


COMMITMENTS: dict[str, CommitmentKind] = {
    "compliance": CommitmentKind(
        "守法经营承诺", "Commitment to lawful operation",
        "本企业承诺依法依规经营，所提交材料真实有效；如有违反，愿意接受有关部门依法处理，"
        "并记入企业信用记录。",
        frozenset("ABC"), None,
    ),
    "tolerance": CommitmentKind(
        "容缺受理承诺", "Apply now, complete the papers later (容缺受理)",
        "本企业承诺在30日内补齐容缺受理所缺的申请材料；逾期未补齐的，愿意承担相应责任，"
        "并记入企业信用记录。",
        frozenset("AB"), 30,
    ),
}  # fmt: skip


class CommitmentOffer(BaseModel):
    kind: str
    title_zh: str
    title_en: str
    text_zh: str
    allowed: bool
    why_zh: str | None = Field(None, description="why my firm cannot sign it now")
    why_en: str | None = None


class SignedCommitment(BaseModel):
    id: int
    kind: str
    title_zh: str
    text_zh: str
    grade: str
    signed_by: str
    signed_at: datetime
    due_at: datetime | None


class MyCommitments(BaseModel):
    grade: str | None
    offers: list[CommitmentOffer]
    signed: list[SignedCommitment]


class CommitmentIn(BaseModel):
    kind: str = Field(pattern=r"^(compliance|tolerance)$")
    accept: bool = Field(description="the firm has read the text and signs it (must be true)")


def _signed(ops: Any, uscc: str) -> list[SignedCommitment]:
    with session(ops) as db:
        rows = db.scalars(
            select(FirmCommitment).where(FirmCommitment.uscc == uscc).order_by(FirmCommitment.id)
        ).all()
        return [
            SignedCommitment(id=r.id, kind=r.kind, title_zh=COMMITMENTS[r.kind].title_zh,
                             text_zh=r.text_zh, grade=r.grade, signed_by=r.signed_by,
                             signed_at=r.signed_at, due_at=r.due_at)
            for r in rows
        ]  # fmt: skip


def _refusal(kind: str, grade: str | None, signed: list[SignedCommitment], now: datetime
             ) -> tuple[str, str] | None:  # fmt: skip
    """Why my firm may not sign ``kind`` now (zh, en), or None when it may."""
    offer = COMMITMENTS[kind]
    if grade is None:
        return "贵企业尚无信用等级，暂不能签署", "your firm has no credit grade yet"
    if grade not in offer.grades:
        grades = sorted(offer.grades)
        return (f"信用等级{grade}不能签署（须为{'、'.join(grades)}级）",
                f"grade {grade} cannot sign it (grades {', '.join(grades)})")  # fmt: skip
    if any(s.kind == kind and (s.due_at is None or s.due_at > now) for s in signed):
        return "已签署且仍在有效期内", "already signed and still in force"
    return None


@router.get("/commitments")
def my_commitments(
    uscc: FirmDep,
    index: CreditIndexDep,
    ops_engine: OpsEngine,
    security: Annotated[Security, Depends(get_security)],
) -> MyCommitments:
    """The commitments my firm may sign at its grade, and those it signed."""
    report = index.report(uscc)
    grade = report.grade if report else None
    signed = _signed(ops_engine, uscc)
    now = security.clock()
    offers = []
    for kind, offer in COMMITMENTS.items():
        why = _refusal(kind, grade, signed, now)
        offers.append(
            CommitmentOffer(kind=kind, title_zh=offer.title_zh, title_en=offer.title_en,
                            text_zh=offer.text_zh, allowed=why is None,
                            why_zh=why[0] if why else None, why_en=why[1] if why else None)
        )  # fmt: skip
    return MyCommitments(grade=grade, offers=offers, signed=signed)


@router.post(
    "/commitments",
    status_code=201,
    responses={409: {"description": "my grade does not allow it, or already signed"}},
)
def sign_commitment(
    body: CommitmentIn,
    principal: Annotated[Principal, Depends(require(Permission.PORTAL_FIRM))],
    index: CreditIndexDep,
    ops_engine: OpsEngine,
    security: Annotated[Security, Depends(get_security)],
) -> SignedCommitment:
    """信用承诺: my firm signs a commitment its grade allows; kept in the ops database, audited."""
    uscc = firm_of(principal)
    if not body.accept:
        raise HTTPException(409, detail="the commitment is signed only with accept: true (须同意)")
    report = index.report(uscc)
    grade = report.grade if report else None
    now = security.clock()
    why = _refusal(body.kind, grade, _signed(ops_engine, uscc), now)
    if why is not None:
        raise HTTPException(409, detail=f"{why[0]} ({why[1]})")
    assert grade is not None
    offer = COMMITMENTS[body.kind]
    with session(ops_engine) as db:
        row = FirmCommitment(
            uscc=uscc, kind=body.kind, text_zh=offer.text_zh, grade=grade,
            signed_by=principal.username, signed_at=now,
            due_at=now + timedelta(days=offer.days) if offer.days else None,
        )  # fmt: skip
        db.add(row)
        db.flush()
        audit.append(
            db, actor=principal.actor, role=principal.role.value, action="credit.commitment",
            endpoint="POST /api/v1/portal/firm/commitments", subjects=[uscc],
            detail={"commitment_id": row.id, "kind": body.kind, "grade": grade}, at=now,
        )  # fmt: skip
        return SignedCommitment(id=row.id, kind=row.kind, title_zh=offer.title_zh,
                                text_zh=row.text_zh, grade=grade, signed_by=row.signed_by,
                                signed_at=now, due_at=row.due_at)  # fmt: skip
