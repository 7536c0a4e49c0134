"""Unmask grants: see personal data in clear, for a stated purpose, for a limited time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from citybrain.api.deps import Principal, Security, Text, get_security, require
from citybrain.api.opsdb_models import UnmaskGrant
from citybrain.api.pii import MIN_PURPOSE_LENGTH, grant_unmask
from citybrain.api.security.roles import Permission
from citybrain.core.opsdb import session

router = APIRouter(prefix="/unmask-grants", tags=["unmask"])


class GrantIn(BaseModel):
    purpose: str = Field(min_length=MIN_PURPOSE_LENGTH, max_length=1000)
    minutes: int = Field(15, ge=1, le=24 * 60)
    subjects: list[Text] = Field(default_factory=list, max_length=1000)


class GrantOut(BaseModel):
    id: int
    purpose: str
    subjects: list[str]
    granted_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, grant: UnmaskGrant) -> GrantOut:
        return cls(
            id=grant.id,
            purpose=grant.purpose,
            subjects=list(grant.subjects),
            granted_at=grant.granted_at,
            expires_at=grant.expires_at,
        )


@router.post("", status_code=201)
def create_grant(
    body: GrantIn,
    principal: Annotated[Principal, Depends(require(Permission.PII_UNMASK))],
    security: Annotated[Security, Depends(get_security)],
) -> GrantOut:
    """Open a time-limited grant; the purpose and the subjects go into the audit log."""
    with session(security.ops_engine) as db:
        grant = grant_unmask(
            db,
            principal,
            purpose=body.purpose,
            minutes=body.minutes,
            subjects=list(body.subjects),
            now=security.clock(),
            max_minutes=security.settings.unmask_max_minutes,
        )
        return GrantOut.of(grant)


@router.get("")
def my_grants(
    principal: Annotated[Principal, Depends(require(Permission.SELF))],
    security: Annotated[Security, Depends(get_security)],
) -> list[GrantOut]:
    """The caller's grants that have not expired."""
    with session(security.ops_engine) as db:
        rows = db.scalars(
            select(UnmaskGrant)
            .where(
                UnmaskGrant.user_id == principal.user_id,
                UnmaskGrant.expires_at > security.clock(),
                UnmaskGrant.revoked_at.is_(None),
            )
            .order_by(UnmaskGrant.id)
        )
        return [GrantOut.of(g) for g in rows]
