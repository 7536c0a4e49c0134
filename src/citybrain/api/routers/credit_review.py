"""信用修复审核: the credit steward's queue of firms' disputes, and the decision on each.

A firm disputes one record behind its grade on the portal (``POST /portal/firm/disputes``); the
dispute waits here. The steward upholds it — the record is withdrawn and the grade redone by the
credit topic's own ``repair.review``, the same code ``citybrain credit review`` runs — or rejects
it with a note the firm reads on its page. Both need ``credit.review`` (the data steward's), and
both are audited: the permission's row before the handler acts, and a second row with the
decision and the grade before and after (the CLI's ``credit.repair`` / ``credit.review``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from sqlalchemy import select

from citybrain.api.deps import (
    CreditIndexDep,
    Lake,
    OpsEngine,
    Principal,
    Security,
    get_lake,
    get_security,
    require,
)
from citybrain.api.security import audit
from citybrain.api.security.roles import Permission
from citybrain.core import UserError
from citybrain.core.opsdb import session
from citybrain.topics.builtin.credit.repair import (
    RECORDS,
    decision_detail,
    review,
    shown_records,
)
from citybrain.topics.opsdb_models import CreditDispute

router = APIRouter(prefix="/credit/disputes", tags=["credit"])

Steward = Annotated[Principal, Depends(require(Permission.CREDIT_REVIEW))]
# What the steward sees of a disputed record, beside its kind and number.
SHOWN = {
    "penalty": ("violation", "penalty_kind", "decided_date", "authority"),
    "dishonest": ("court", "duty", "registered_date"),
    "commitment": ("kind", "content", "check_result"),
}


class QueuedDispute(BaseModel):
    id: int
    uscc: str
    firm: str | None = Field(description="the firm's registered name")
    grade: str | None = Field(description="its grade now")
    score: int | None
    kind: str = Field(description="penalty | dishonest | commitment")
    record_id: str
    record: dict[str, str] = Field(description="the disputed record as the lake holds it")
    reason: str = Field(description="the firm's words")
    filed_by: str
    filed_at: datetime
    status: str = Field(description="pending | upheld | rejected")
    reviewed_by: str | None
    review_note: str | None


class Uphold(BaseModel):
    decision: Literal["uphold"]
    note: str = Field("", max_length=2000, description="the steward's note")


class Reject(BaseModel):
    decision: Literal["reject"]
    note: str = Field(min_length=1, max_length=2000, pattern=r"\S",
                      description="why (驳回理由); the firm reads it on its page")  # fmt: skip


Decision = Annotated[Uphold | Reject, Field(discriminator="decision")]


class Decided(BaseModel):
    id: int
    uscc: str
    status: str = Field(description="upheld | rejected")
    grade_before: str | None
    score_before: int | None
    grade_after: str | None
    score_after: int | None
    run_id: str | None = Field(description="the credit run the repair wrote")


def _records(lake: Lake, disputes: list[CreditDispute]) -> dict[tuple[str, str], dict[str, str]]:
    """The disputed records, one lake query per record kind."""
    if not disputes:
        return {}
    ids = {kind: {d.record_id for d in disputes if d.record_kind == kind} for kind in RECORDS}
    with lake.engine() as engine:
        rows = shown_records(engine, SHOWN, ids=ids)
    return {(kind, record_id): fields for kind, record_id, fields in rows}


@router.get("")
def dispute_queue(
    _: Steward,
    index: CreditIndexDep,
    lake: Annotated[Lake, Depends(get_lake)],
    ops_engine: OpsEngine,
    status: Annotated[
        Literal["pending", "decided", "all"], Query(description="pending: the open queue")
    ] = "pending",
) -> list[QueuedDispute]:
    """The firms' credit repair requests: the open ones oldest first (the queue), or the decided
    ones newest first, at most 200."""
    query = select(CreditDispute)
    if status == "pending":
        query = query.where(CreditDispute.status == "pending").order_by(CreditDispute.id)
    else:
        if status == "decided":
            query = query.where(CreditDispute.status != "pending")
        query = query.order_by(CreditDispute.id.desc())
    with session(ops_engine) as db:
        disputes = list(db.scalars(query.limit(200)).all())
        db.expunge_all()
    records = _records(lake, disputes)
    out: list[QueuedDispute] = []
    for d in disputes:
        report = index.report(d.uscc)
        out.append(
            QueuedDispute(
                id=d.id, uscc=d.uscc, firm=report.name if report else None,
                grade=report.grade if report else None, score=report.score if report else None,
                kind=d.record_kind, record_id=d.record_id,
                record=records.get((d.record_kind, d.record_id), {}), reason=d.reason,
                filed_by=d.filed_by, filed_at=d.filed_at, status=d.status,
                reviewed_by=d.reviewed_by, review_note=d.review_note,
            )
        )  # fmt: skip
    return out


@router.post(
    "/{dispute_id}/review",
    responses={
        404: {"description": "no such dispute"},
        409: {"description": "already decided, filed by this steward, or the grade cannot be "
                             "redone (no credit run, the record is gone)"},
    },
)  # fmt: skip
def review_dispute(
    dispute_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
    body: Decision,
    steward: Steward,
    ops_engine: OpsEngine,
    lake: Annotated[Lake, Depends(get_lake)],
    security: Annotated[Security, Depends(get_security)],
) -> Decided:
    """Uphold (the record is withdrawn, the grade redone) or reject a firm's dispute."""
    uphold = body.decision == "uphold"
    with session(ops_engine) as db:
        if db.get(CreditDispute, dispute_id) is None:
            raise HTTPException(404, detail=f"no credit dispute {dispute_id}")
    # The service's own lake engine (DuckDB in memory), not the workspace's DuckDB file, which a
    # pipeline run may hold: the new credit run is Parquet files in the lake either way, and
    # holding the lake's lock meanwhile keeps readers from seeing half of it.
    try:
        with lake.engine() as engine, session(ops_engine) as db:
            dispute, repair = review(
                db, engine, dispute_id, uphold=uphold, by=steward.username, note=body.note.strip()
            )
            detail = decision_detail(dispute, repair)
            audit.append(
                db, actor=steward.actor, role=steward.role.value,
                action="credit.repair" if repair else "credit.review",
                endpoint=f"POST /api/v1/credit/disputes/{dispute_id}/review",
                subjects=[dispute.uscc], detail=detail, at=security.clock(),
            )  # fmt: skip
            return Decided(
                id=dispute.id, uscc=dispute.uscc, status=dispute.status,
                grade_before=repair.grade_before if repair else None,
                score_before=repair.score_before if repair else None,
                grade_after=repair.grade_after if repair else None,
                score_after=repair.score_after if repair else None,
                run_id=repair.run_id if repair else None,
            )  # fmt: skip
    except UserError as exc:
        raise HTTPException(409, detail=str(exc)) from None
