"""Ops-database tables for cases (一网统管).

The file name is how ``citybrain.core.opsdb.load_models`` finds these tables for Alembic; the
migration ``v0002_cases`` creates exactly them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citybrain.core.opsdb.base import Base, UTCDateTime, utcnow

CASE_STATUSES = ("new", "dispatched", "accepted", "in_progress", "returned", "closed", "archived")
CASE_OUTCOMES = ("confirmed", "rejected", "unverifiable")
CASE_LEVELS = ("high", "medium", "low")
DELIVERY_STATUSES = ("pending", "delivered", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Case(Base):
    """One problem a department must handle and answer: from a finding, a report or a patrol."""

    __tablename__ = "case_record"
    __table_args__ = (
        CheckConstraint(_in("status", CASE_STATUSES), name="status"),
        CheckConstraint(f"outcome IS NULL OR {_in('outcome', CASE_OUTCOMES)}", name="outcome"),
        CheckConstraint(_in("level", CASE_LEVELS), name="level"),
        Index("ix_case_record_topic_status", "topic", "status"),
        Index("ix_case_record_department_status", "department", "status"),
        Index("ix_case_record_subject", "topic", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(255))
    period: Mapped[str] = mapped_column(String(32))
    # "finding" | "open311" | "patrol" | "drone" | …: where the case came from.
    source: Mapped[str] = mapped_column(String(32), default="finding")
    title: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[str] = mapped_column(String(16), default="medium")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    grid_id: Mapped[str | None] = mapped_column(String(64))
    community_id: Mapped[str | None] = mapped_column(String(64))
    street_id: Mapped[str | None] = mapped_column(String(64), index=True)
    address: Mapped[str | None] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(24), default="new")
    outcome: Mapped[str | None] = mapped_column(String(24))
    department: Mapped[str | None] = mapped_column(String(255))
    # Further departments the routing rule named (co-handlers), in rule order.
    co_departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    routing_rule: Mapped[str | None] = mapped_column(String(255))
    assignee: Mapped[str | None] = mapped_column(String(255))
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_requested_hours: Mapped[float | None] = mapped_column(Float)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supervisor: Mapped[str | None] = mapped_column(String(255))
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "topic|subject_type|subject_id" while the case is open, NULL once closed: the unique
    # constraint on it is what makes "never two open cases for one subject and topic" hold even
    # when two openers race (NULLs never collide, on SQLite and PostgreSQL alike).
    open_key: Mapped[str | None] = mapped_column(String(512), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own idiom

    evidence: Mapped[list[CaseEvidence]] = relationship(
        back_populates="case", order_by="CaseEvidence.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )
    reporters: Mapped[list[CaseReporter]] = relationship(
        back_populates="case", order_by="CaseReporter.id", cascade="all, delete-orphan"
    )


class CaseEvidence(Base):
    """A finding attached to a case; each new finding for the same open subject adds one."""

    __tablename__ = "case_evidence"
    __table_args__ = (UniqueConstraint("case_id", "period", "model_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(255))
    period: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[str] = mapped_column(String(64))
    # [{"signal", "observed", "expected", "contribution", "text_zh", "text_en"}, ...]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="evidence")


class CaseEvent(Base):
    """One transition (or a note) on a case: who, when, from which status to which, and why."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str] = mapped_column(Text, default="")
    # [{"name", "url" | "path", "kind"}, ...] — photos, forms, recordings from the site.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Action-specific values: the outcome, a department, extension hours …
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    case: Mapped[Case] = relationship(back_populates="events")


class CaseReporter(Base):
    """A citizen report or patrol event merged into a case; each is answered when it closes."""

    __tablename__ = "case_reporter"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    # The caller's own id (a patrol event id, a drone frame id); NULL for anonymous web reports.
    external_id: Mapped[str | None] = mapped_column(String(255))
    service_code: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(512))
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    media_url: Mapped[str | None] = mapped_column(String(1024))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column(Integer)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship(back_populates="reporters")


class DepartmentWebhook(Base):
    """Where a department wants to hear about its cases, and the secret that signs each call."""

    __tablename__ = "case_department_webhook"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str] = mapped_column(String(255), unique=True)
    url: Mapped[str] = mapped_column(String(1024))
    secret: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One notification to a department: queued, then tried with backoff; every attempt logged."""

    __tablename__ = "case_webhook_delivery"
    __table_args__ = (
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        Index("ix_case_webhook_delivery_status", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str] = mapped_column(String(255))
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_record.id", ondelete="SET NULL"), index=True
    )
    event: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(1024))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # [{"at", "status_code", "error", "ms"}, ...]
    attempt_log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
