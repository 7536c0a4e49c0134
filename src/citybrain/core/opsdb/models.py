"""Ops-database tables for the catalog and for runs.

These models are the reference; the migrations in ``migrations/versions`` must create exactly them,
and a test (tests/core/opsdb/test_migrate.py) fails the moment the two drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from citybrain.core.opsdb.base import Base, UTCDateTime, utcnow

RUN_STATUSES = ("running", "succeeded", "failed")
_STATUS_CHECK = "status IN ('running', 'succeeded', 'failed')"


class CatalogDataset(Base):
    """One dataset of one zone (``source``, ``raw``, ``std``, ``base``, ``topic`` …)."""

    __tablename__ = "catalog_dataset"
    __table_args__ = (UniqueConstraint("zone", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    path: Mapped[str | None] = mapped_column(String(1024))
    system_id: Mapped[str | None] = mapped_column(String(128), index=True)
    owner_department: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    # [{"name", "type", "nullable", "description"}, ...] — the shape the catalog API exposes.
    schema_json: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sensitivity: Mapped[str | None] = mapped_column(String(32))
    # [{"name", "sensitivity"}, ...]
    pii_fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Seconds, not an interval type: SQLite has none, and seconds compare the same everywhere.
    expected_refresh_seconds: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CatalogDatasetStats(Base):
    """A dataset's size at one moment; the series of them is its record count over time."""

    __tablename__ = "catalog_dataset_stats"
    __table_args__ = (Index("ix_catalog_dataset_stats_dataset_time", "dataset_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_dataset.id", ondelete="CASCADE"),
    )
    rows: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    load_id: Mapped[str | None] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CatalogLineage(Base):
    """An edge upstream → downstream; a re-run updates the edge instead of repeating it."""

    __tablename__ = "catalog_lineage"
    __table_args__ = (
        UniqueConstraint("upstream_id", "downstream_id", "kind"),
        CheckConstraint("upstream_id <> downstream_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    upstream_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_dataset.id", ondelete="CASCADE"),
    )
    downstream_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_dataset.id", ondelete="CASCADE"),
        index=True,
    )
    # ingest / standardize / resolve / topic / … — free text, so a new stage needs no migration.
    kind: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LoadRun(Base):
    """One load of one source system into the raw zone; read = landed + quarantined."""

    __tablename__ = "load_run"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        Index("ix_load_run_source_started", "source_system", "started_at"),
    )

    load_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_system: Mapped[str] = mapped_column(String(128))
    run_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_landed: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_quarantined: Mapped[int] = mapped_column(BigInteger, default=0)
    quarantined_by_reason: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(128))
    schema_hash: Mapped[str | None] = mapped_column(String(128))
    # Text because a watermark may be a timestamp, a number or an opaque token, per source.
    watermark: Mapped[str | None] = mapped_column(String(255))
    error_message: Mapped[str | None] = mapped_column(Text)


class PipelineRun(Base):
    """One ``citybrain run`` (or a single stage command), with what each stage did."""

    __tablename__ = "pipeline_run"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        Index("ix_pipeline_run_started", "started_at"),
    )

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    command: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # [{"name", "status", "started_at", "finished_at", ...}, ...] — stages add their own keys.
    stages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error_message: Mapped[str | None] = mapped_column(Text)


class PipelineStep(Base):
    """One attempt at one step of a pipeline run: how it went, rows in and out, time, memory.

    A resumed run adds a new attempt for each step it runs again; the figures of the attempts
    that were killed or failed stay, so ``citybrain runs`` shows what happened.
    """

    __tablename__ = "pipeline_step"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        UniqueConstraint("run_id", "name", "attempt"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("pipeline_run.run_id", ondelete="CASCADE")
    )
    #: the step's place in the run's plan (0 first)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seconds: Mapped[float | None] = mapped_column(Float)
    rows_in: Mapped[int | None] = mapped_column(BigInteger)
    rows_out: Mapped[int | None] = mapped_column(BigInteger)
    #: the highest resident memory of the process while the step ran, in bytes
    peak_rss_bytes: Mapped[int | None] = mapped_column(BigInteger)
    summary: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
