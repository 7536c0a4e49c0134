"""Quality history in the ops database: each assessment's scores and the alerts it raised."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select
from sqlalchemy.orm import Session

from citybrain.core.opsdb import connect, utcnow
from citybrain.govern.opsdb_models import QualityAlert, QualityScore
from citybrain.govern.quality.model import Alert, QualityReport


@contextmanager
def _ops_engine(url: str | SqlEngine) -> Iterator[SqlEngine]:
    if not isinstance(url, str):
        yield url
        return
    ops_engine = connect(url)
    try:
        yield ops_engine
    finally:
        ops_engine.dispose()


@dataclass(frozen=True)
class ScorePoint:
    recorded_at: datetime
    score: float


def record(url: str | SqlEngine, report: QualityReport, *, at: datetime | None = None) -> None:
    """Store the report's scores and alerts (one assessment)."""
    at = at or utcnow()
    with _ops_engine(url) as ops_engine, Session(ops_engine) as db, db.begin():
        for s in report.sources:
            db.add(QualityScore(recorded_at=at, system=s.system, std_table=s.table, rows=s.rows,
                                score=s.score, dimensions=dict(s.dimensions)))  # fmt: skip
        for a in report.alerts:
            db.add(QualityAlert(raised_at=at, system=a.system, owner=a.owner, level=a.level,
                                dimension=a.dimension, value=a.value, threshold=a.threshold,
                                message_zh=a.zh, message_en=a.en))  # fmt: skip


def score_history(url: str | SqlEngine, system: str) -> list[ScorePoint]:
    """A source's scores, oldest first: its trend across runs."""
    with _ops_engine(url) as ops_engine, Session(ops_engine) as db:
        rows = db.execute(
            select(QualityScore.recorded_at, QualityScore.score)
            .where(QualityScore.system == system)
            .order_by(QualityScore.recorded_at, QualityScore.id)
        ).all()
    return [ScorePoint(r[0], float(r[1])) for r in rows]


def recent_alerts(
    url: str | SqlEngine, *, system: str | None = None, limit: int = 100
) -> list[Alert]:
    """The newest alerts first (for the governance page and the owner department)."""
    query = select(QualityAlert).order_by(QualityAlert.raised_at.desc(), QualityAlert.id.desc())
    if system is not None:
        query = query.where(QualityAlert.system == system)
    with _ops_engine(url) as ops_engine, Session(ops_engine) as db:
        rows = db.scalars(query.limit(limit)).all()
        return [
            Alert(
                r.system,
                r.owner,
                "critical" if r.level == "critical" else "warning",
                r.dimension,
                r.value,
                r.threshold,
                r.message_zh,
                r.message_en,
            )
            for r in rows
        ]
