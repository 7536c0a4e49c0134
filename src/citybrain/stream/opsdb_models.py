"""Ops-database tables of the streaming path: the live events it emits and its detectors' state.

The file name is how ``citybrain.core.opsdb.load_models`` finds these tables for Alembic; the
migration ``v0007_stream`` creates exactly them. The two are written in one transaction per batch
(see :mod:`citybrain.stream.store`), so a detector's state, its cursor and the events it emitted
for a batch are all saved or none is: a consumer killed at any moment neither loses nor repeats
what a batch did.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from citybrain.core.opsdb.base import Base, UTCDateTime, utcnow


class LiveEventRecord(Base):
    """One event of the live feed written by a process other than the API (``citybrain stream``);
    every API process polls this table's ids as the bus source ``stream``."""

    __tablename__ = "live_event"
    __table_args__ = (Index("ix_live_event_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    type: Mapped[str] = mapped_column(
        String(64)
    )  # <channel>.<what>: stream.batch, vehicle.position
    permission: Mapped[str] = mapped_column(String(32))  # what a listener's role needs
    system: Mapped[str | None] = mapped_column(String(64), nullable=True)
    load_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    street_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    community_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    grid_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DetectorStateRecord(Base):
    """An incremental detector's state and, per source, the last load it has taken in."""

    __tablename__ = "stream_detector_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
