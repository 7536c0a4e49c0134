"""Ops-database tables of the service API: users, API keys, refresh tokens, unmask grants, audit.

The file name is how ``citybrain.core.opsdb.load_models`` finds these tables for Alembic; the
migration ``v0003_security`` creates exactly them (plus, on PostgreSQL, the trigger that refuses
UPDATE and DELETE on ``audit_log``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from citybrain.core.opsdb.base import Base, UTCDateTime, utcnow

ROLES = (
    "admin",
    "data_steward",
    "analyst",
    "clerk",
    "leader",
    "auditor",
    "public",
    "system",
    "firm",
    "resident",
)
_ROLE_CHECK = f"role IN ({', '.join(repr(r) for r in ROLES)})"


class ApiUser(Base):
    """A person or system that signs in. ``scope`` is a list like ``["street:S1", "grid:G2"]``."""

    __tablename__ = "api_user"
    __table_args__ = (CheckConstraint(_ROLE_CHECK, name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    department: Mapped[str | None] = mapped_column(String(255))
    scope: Mapped[list[str]] = mapped_column(JSON, default=list)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    """A key for system-to-system use; only its SHA-256 is stored, its prefix identifies it."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("api_user.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RefreshToken(Base):
    """One refresh token. Rotation marks it used and issues the next of the same ``family``;
    presenting a used token again revokes the whole family (it was stolen)."""

    __tablename__ = "refresh_token"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("api_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UnmaskGrant(Base):
    """Permission to see personal data unmasked, for a stated purpose, until ``expires_at``."""

    __tablename__ = "unmask_grant"
    __table_args__ = (Index("ix_unmask_grant_user_expires", "user_id", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("api_user.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(Text)
    # Subject ids the grant covers; an empty list covers every subject inside the user's scope.
    subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditLog(Base):
    """One audited act, append-only and hash-chained.

    ``row_hash`` is SHA-256 over the row's canonical content including ``prev_hash``, the hash of
    row ``seq - 1``; ``seq`` is assigned by the writer, not the database, so two writers that raced
    would collide on the primary key instead of forking the chain.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_actor_at", "actor", "at"),
        Index("ix_audit_log_at", "at"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(String(512))
    subjects: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class FirmCommitment(Base):
    """A credit commitment (信用承诺) a firm signed on the portal; migration ``v0010``."""

    __tablename__ = "firm_commitment"
    __table_args__ = (
        Index("ix_firm_commitment_uscc", "uscc"),
        CheckConstraint("kind IN ('compliance', 'tolerance')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))  # compliance 守法经营 | tolerance 容缺受理
    text_zh: Mapped[str] = mapped_column(Text)  # the words signed, as shown then
    grade: Mapped[str] = mapped_column(String(1))  # the firm's grade when it signed
    signed_by: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # tolerance: papers due by
    # its check (migration ``v0012``): 已履约 | 未履约, null while 待核查
    check_result: Mapped[str | None] = mapped_column(String(8))
    checked_by: Mapped[str | None] = mapped_column(String(64))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PhoneCode(Base):
    """A one-time sign-in code sent to a resident's phone; migration ``v0011``. Neither the
    phone nor the code is stored: both as HMACs under the service's signing key."""

    __tablename__ = "phone_code"
    __table_args__ = (Index("ix_phone_code_phone_hash_created_at", "phone_hash", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SmsOutbox(Base):
    """Text messages the offline sender "sent" (no network): a clerk or a test reads them here;
    migration ``v0011``."""

    __tablename__ = "sms_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
