"""The audit log: append-only, hash-chained, verifiable.

Each row's ``row_hash`` is SHA-256 over its canonical content (sorted-key JSON of every column but
the hash itself, including ``prev_hash``). Changing, deleting or inserting a row anywhere breaks the
chain from that row on, and ``verify_audit`` names the first row that does not add up.

There is deliberately no update or delete function here. On PostgreSQL the migration adds a trigger
that refuses UPDATE, DELETE and TRUNCATE on ``audit_log`` as well.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from citybrain.api.opsdb_models import AuditLog
from citybrain.core.opsdb import session, utcnow

GENESIS_HASH = "0" * 64
MAX_SUBJECTS = 1000
_VERIFY_BATCH = 5000


def canonical(
    *,
    seq: int,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    endpoint: str,
    subjects: Sequence[str],
    purpose: str | None,
    detail: dict[str, Any],
    prev_hash: str,
) -> bytes:
    content = {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "role": role,
        "action": action,
        "endpoint": endpoint,
        "subjects": list(subjects),
        "purpose": purpose,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def row_hash_of(row: AuditLog) -> str:
    return hashlib.sha256(
        canonical(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            role=row.role,
            action=row.action,
            endpoint=row.endpoint,
            subjects=row.subjects,
            purpose=row.purpose,
            detail=row.detail,
            prev_hash=row.prev_hash,
        )
    ).hexdigest()


def _lock_tail(db: Session) -> None:
    """Serialise appenders so two rows never claim the same predecessor.

    SQLite: every transaction of ours starts with BEGIN IMMEDIATE (see core.opsdb.connect), which
    already holds the write lock. PostgreSQL: a transaction-scoped advisory lock.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(7302101)"))


def append(
    db: Session,
    *,
    actor: str,
    role: str,
    action: str,
    endpoint: str,
    subjects: Sequence[str] = (),
    purpose: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditLog:
    """Append one row in the caller's transaction; it becomes visible when that commits."""
    _lock_tail(db)
    last = db.execute(
        select(AuditLog.seq, AuditLog.row_hash).order_by(AuditLog.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    # A JSON round trip now makes the stored detail exactly what verification will read back.
    detail_clean: dict[str, Any] = json.loads(json.dumps(detail or {}, default=str))
    row = AuditLog(
        seq=seq,
        at=(at or utcnow()).astimezone(UTC),
        actor=actor[:64],
        role=role[:32],
        action=action[:64],
        endpoint=endpoint[:512],
        subjects=[str(s) for s in list(subjects)[:MAX_SUBJECTS]],
        purpose=purpose,
        detail=detail_clean,
        prev_hash=prev_hash,
        row_hash="",
    )
    row.row_hash = row_hash_of(row)
    # A Core INSERT: no identity-map bookkeeping for a row nobody will change.
    db.execute(
        insert(AuditLog).values(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            role=row.role,
            action=row.action,
            endpoint=row.endpoint,
            subjects=row.subjects,
            purpose=row.purpose,
            detail=row.detail,
            prev_hash=row.prev_hash,
            row_hash=row.row_hash,
        )
    )
    return row


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking the chain; ``first_broken_seq`` names the first bad row."""

    passed: bool
    rows_checked: int
    first_broken_seq: int | None = None
    reason: str | None = None

    @property
    def message(self) -> str:
        if self.passed:
            return f"audit log intact: {self.rows_checked} rows, chain verified"
        return f"audit log BROKEN at row {self.first_broken_seq}: {self.reason}"


def verify_audit(engine: Engine) -> VerifyResult:
    """Recompute every row's hash and link, in order; stop at the first that does not add up."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    with session(engine) as db:
        after = 0
        while True:
            rows = db.scalars(
                select(AuditLog).where(AuditLog.seq > after).order_by(AuditLog.seq)
                .limit(_VERIFY_BATCH)
            ).all()  # fmt: skip
            if not rows:
                break
            for row in rows:
                if row.seq != expected_seq:
                    return VerifyResult(
                        False, checked, expected_seq, f"row {expected_seq} is missing"
                    )
                if row.prev_hash != expected_prev:
                    return VerifyResult(
                        False, checked, row.seq, "prev_hash does not match the row before"
                    )
                if row_hash_of(row) != row.row_hash:
                    return VerifyResult(
                        False, checked, row.seq, "content does not match its hash (row altered)"
                    )
                expected_prev = row.row_hash
                expected_seq += 1
                checked += 1
            after = rows[-1].seq
            db.expunge_all()
    return VerifyResult(True, checked)
