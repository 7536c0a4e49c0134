"""Masking by role, and unmasking under a grant: the ``Masker`` a handler gets with ``Depends``.

Everyone sees personal data masked. A user whose role holds ``pii.unmask`` may ask for an unmask
grant (``POST /api/v1/unmask-grants``) stating a purpose, for at most ``unmask_max_minutes``,
optionally limited to some subjects; while it lasts, ``Masker.table`` returns those subjects'
rows in clear and writes an audit row naming them and the grant's purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from citybrain.api.deps import Principal, Security, authenticate, get_security
from citybrain.api.opsdb_models import UnmaskGrant
from citybrain.api.security import audit
from citybrain.api.security.masking import PiiKind, mask_array, mask_value
from citybrain.api.security.roles import Permission, allows
from citybrain.core.opsdb import session

# Subject types whose ids are personal data (findings, cases), and how each is masked.
PERSONAL_SUBJECTS: dict[str, PiiKind] = {
    "dwelling": PiiKind.ADDRESS,
    "address": PiiKind.ADDRESS,
    "person": PiiKind.ID_NUMBER,
}

MIN_PURPOSE_LENGTH = 10


@dataclass(frozen=True)
class ActiveGrant:
    id: int
    purpose: str
    subjects: frozenset[str]  # empty: every subject in the user's scope
    expires_at: datetime

    def covers_all(self) -> bool:
        return not self.subjects


def active_grants(db: Session, user_id: int, now: datetime) -> list[ActiveGrant]:
    rows = db.scalars(
        select(UnmaskGrant).where(
            UnmaskGrant.user_id == user_id,
            UnmaskGrant.expires_at > now,
            UnmaskGrant.revoked_at.is_(None),
        )
    )
    return [ActiveGrant(r.id, r.purpose, frozenset(r.subjects), r.expires_at) for r in rows]


def grant_unmask(
    db: Session,
    principal: Principal,
    *,
    purpose: str,
    minutes: int,
    subjects: list[str],
    now: datetime,
    max_minutes: int,
) -> UnmaskGrant:
    if not allows(principal.role, Permission.PII_UNMASK):
        raise PermissionError(f"role {principal.role.value} may not unmask personal data")
    if len(purpose.strip()) < MIN_PURPOSE_LENGTH:
        raise ValueError(f"state the purpose in at least {MIN_PURPOSE_LENGTH} characters")
    minutes = min(minutes, max_minutes)
    grant = UnmaskGrant(
        user_id=principal.user_id,
        purpose=purpose.strip(),
        subjects=sorted(set(subjects)),
        granted_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    db.add(grant)
    db.flush()
    audit.append(
        db,
        actor=principal.actor,
        role=principal.role.value,
        action="pii.unmask.grant",
        endpoint="POST /api/v1/unmask-grants",
        subjects=grant.subjects,
        purpose=grant.purpose,
        detail={"grant_id": grant.id, "expires_at": grant.expires_at.isoformat()},
        at=now,
    )
    return grant


@dataclass
class Masker:
    """Masks personal columns for the calling principal, honouring its active unmask grants."""

    principal: Principal
    security: Security
    endpoint: str
    grants: list[ActiveGrant]

    def table(
        self,
        table: pa.Table,
        columns: Mapping[str, PiiKind | str],
        *,
        subject_column: str | None = None,
    ) -> pa.Table:
        """Mask ``columns`` (name → kind); rows a grant covers stay clear and are audited."""
        clear = self._clear_rows(table, subject_column)
        for name, kind in columns.items():
            index = table.schema.get_field_index(name)
            if index < 0:
                continue
            raw = table[name]
            masked = mask_array(raw, kind)
            value = masked if clear is None else pc.if_else(clear, raw.cast(masked.type), masked)
            table = table.set_column(index, name, value)
        if clear is not None and subject_column is not None:
            shown = table.filter(clear)[subject_column]
            self._audit_unmasked([str(v) for v in pc.unique(shown).to_pylist()])
        return table

    def row(
        self, record: Mapping[str, object], columns: Mapping[str, PiiKind | str], *, subject: str
    ) -> dict[str, object]:
        """One record (a detail page): masked unless a grant covers ``subject`` (then audited)."""
        out = dict(record)
        if self._grant_for(subject) is not None:
            self._audit_unmasked([subject])
            return out
        for name, kind in columns.items():
            if name in out and out[name] is not None:
                out[name] = mask_value(str(out[name]), kind)
        return out

    def unmasked(self, subject: str) -> bool:
        """Whether a grant shows ``subject`` in clear; if so the showing is audited now."""
        if self._grant_for(subject) is None:
            return False
        self._audit_unmasked([subject])
        return True

    def value(self, value: str | None, kind: PiiKind | str, *, subject: str) -> str | None:
        if self._grant_for(subject) is None:
            return mask_value(value, kind)
        self._audit_unmasked([subject])
        return value

    def _grant_for(self, subject: str) -> ActiveGrant | None:
        for grant in self.grants:
            if grant.covers_all() or subject in grant.subjects:
                return grant
        return None

    def _clear_rows(self, table: pa.Table, subject_column: str | None) -> pa.Array | None:
        if not self.grants or subject_column is None:
            return None
        if any(g.covers_all() for g in self.grants):
            return pa.array([True] * table.num_rows)
        allowed = sorted({s for g in self.grants for s in g.subjects})
        ids = table[subject_column].cast(pa.string())
        clear = pc.fill_null(pc.is_in(ids, value_set=pa.array(allowed, pa.string())), False)
        return clear.combine_chunks() if isinstance(clear, pa.ChunkedArray) else clear

    def _audit_unmasked(self, subjects: list[str]) -> None:
        if not subjects:
            return
        purposes = sorted({g.purpose for g in self.grants})
        # Committed before the clear values are returned (a handler runs in a worker thread).
        self.security.audit_now(
            audit.AuditEntry(
                actor=self.principal.actor,
                role=self.principal.role.value,
                action="pii.unmasked",
                endpoint=self.endpoint,
                subjects=subjects,
                purpose="; ".join(purposes),
                detail={"grants": ",".join(str(g.id) for g in self.grants)},
                at=self.security.clock(),
            )
        )


def get_masker(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    security: Annotated[Security, Depends(get_security)],
) -> Masker:
    grants: list[ActiveGrant] = []
    if allows(principal.role, Permission.PII_UNMASK):
        with session(security.ops_engine) as db:
            grants = active_grants(db, principal.user_id, security.clock())
    return Masker(principal, security, f"{request.method} {request.url.path}", grants)
