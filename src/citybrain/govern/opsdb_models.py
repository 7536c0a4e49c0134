"""Ops-database tables for data governance: quality scores over time and quality alerts.

The file name is how ``citybrain.core.opsdb.load_models`` finds these tables for Alembic; the
migration ``v0004_quality`` creates exactly them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from citybrain.core.opsdb.base import Base, UTCDateTime, utcnow


class QualityScore(Base):
    """One source's quality score at one assessment: the trend across runs."""

    __tablename__ = "quality_score"
    __table_args__ = (Index("ix_quality_score_system_time", "system", "recorded_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    system: Mapped[str] = mapped_column(String(64))
    std_table: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float] = mapped_column(Float)
    dimensions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class QualityAlert(Base):
    """A threshold a source crossed, for its owner department, in zh and en."""

    __tablename__ = "quality_alert"
    __table_args__ = (
        CheckConstraint("level IN ('warning', 'critical')", name="level"),
        Index("ix_quality_alert_system_time", "system", "raised_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    system: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(16))
    dimension: Mapped[str] = mapped_column(String(128))
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    message_zh: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
