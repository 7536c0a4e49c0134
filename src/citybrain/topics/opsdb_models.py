"""Ops-database tables of the credit topic (守信通): inspection draws, disputes, score history.

The file name is how ``citybrain.core.opsdb.load_models`` finds these tables for Alembic; the
migration ``v0008_credit`` creates exactly them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from citybrain.core.opsdb.base import Base, UTCDateTime, utcnow


class CreditInspectionDraw(Base):
    """One 双随机 draw: everything needed to draw it again and check it gives the same plan."""

    __tablename__ = "credit_inspection_draw"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(BigInteger)
    scores_run_id: Mapped[str] = mapped_column(String(64))
    rates: Mapped[dict[str, Any]] = mapped_column(JSON)  # grade → share inspected
    inspectors: Mapped[list[str]] = mapped_column(JSON)
    per_target: Mapped[int] = mapped_column(Integer)
    targets: Mapped[int] = mapped_column(Integer)
    plan_sha256: Mapped[str] = mapped_column(String(64))
    plan: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # the published table (一公开)


class CreditDispute(Base):
    """An objection to one record behind a grade (异议), and the steward's review of it."""

    __tablename__ = "credit_dispute"
    __table_args__ = (Index("ix_credit_dispute_uscc", "uscc"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(32))
    record_kind: Mapped[str] = mapped_column(String(32))  # penalty | dishonest | commitment
    record_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # upheld | rejected
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class CreditScoreHistory(Base):
    """A grade change outside a topic run (a credit repair), before and after."""

    __tablename__ = "credit_score_history"
    __table_args__ = (Index("ix_credit_score_history_uscc_at", "uscc", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cause: Mapped[str] = mapped_column(String(32))  # repair
    dispute_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    score_before: Mapped[int] = mapped_column(Integer)
    grade_before: Mapped[str] = mapped_column(String(1))
    score_after: Mapped[int] = mapped_column(Integer)
    grade_after: Mapped[str] = mapped_column(String(1))
    run_id: Mapped[str] = mapped_column(String(64))  # the credit_scores run written with it
