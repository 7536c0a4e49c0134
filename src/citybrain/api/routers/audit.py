"""The audit log, for auditors: read it, filter it, verify its hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import Text as SqlText
from sqlalchemy import cast, func, select

from citybrain.api.deps import OpsEngine, Principal, Text, require
from citybrain.api.opsdb_models import AuditLog
from citybrain.api.paging import Page, PageParams, Timestamp, pagination
from citybrain.api.security.audit import verify_audit
from citybrain.api.security.roles import Permission
from citybrain.core.opsdb import session

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEntry(BaseModel):
    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    endpoint: str
    subjects: list[str]
    purpose: str | None
    detail: dict[str, Any]
    row_hash: str


class Verification(BaseModel):
    passed: bool
    rows_checked: int
    first_broken_seq: int | None
    reason: str | None
    message: str


_SORTABLE = {"seq": AuditLog.seq, "at": AuditLog.at, "actor": AuditLog.actor}


@router.get("")
def read_audit(
    _: Annotated[Principal, Depends(require(Permission.AUDIT_READ))],
    ops_engine: OpsEngine,
    paging: Annotated[PageParams, Depends(pagination(tuple(_SORTABLE), "-seq"))],
    actor: Annotated[Text | None, Query(description="exact user name")] = None,
    action: Annotated[Text | None, Query(description="e.g. entities.read")] = None,
    subject: Annotated[Text | None, Query(description="a subject id")] = None,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
) -> Page[AuditEntry]:
    """Audit rows, newest first by default; filters combine with AND."""
    conditions: list[Any] = []
    if actor is not None:
        conditions.append(AuditLog.actor == actor)
    if action is not None:
        conditions.append(AuditLog.action == action)
    if since is not None:
        conditions.append(AuditLog.at >= since)
    if until is not None:
        conditions.append(AuditLog.at < until)
    with session(ops_engine) as db:
        query = select(AuditLog).where(*conditions)
        if subject is not None:
            # JSON containment differs by database; match the quoted id inside the stored array.
            query = query.where(
                cast(AuditLog.subjects, SqlText).contains(f'"{subject}"', autoescape=True)
            )
        total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = db.scalars(paging.apply(query, _SORTABLE)).all()
        items = [
            AuditEntry(
                seq=r.seq,
                at=r.at,
                actor=r.actor,
                role=r.role,
                action=r.action,
                endpoint=r.endpoint,
                subjects=list(r.subjects),
                purpose=r.purpose,
                detail=dict(r.detail),
                row_hash=r.row_hash,
            )
            for r in rows
        ]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get("/verify")
def verify(
    _: Annotated[Principal, Depends(require(Permission.AUDIT_READ))],
    ops_engine: OpsEngine,
) -> Verification:
    """Recompute the hash chain; ``first_broken_seq`` names the first row that was tampered with."""
    result = verify_audit(ops_engine)
    return Verification(
        passed=result.passed,
        rows_checked=result.rows_checked,
        first_broken_seq=result.first_broken_seq,
        reason=result.reason,
        message=result.message,
    )
