"""Data quality (数据质量): per-source scores, a source's fields and trend, and open alerts.

Scores and alerts are those ``citybrain run`` (or ``citybrain quality --record``) stored in the ops
database; a source's detail also assesses its fields live, from the std zone. Data stewards and
admins see every source; any other role with ``quality.read`` (a department clerk) sees the
sources its department owns, as the source contracts name the owner — another department's source
is a 404, as if it did not exist.

An alert is *open* while the latest stored assessment of its source still raises it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from citybrain.api.deps import LakeDep, OpsEngine, Principal, get_workspace, require
from citybrain.api.paging import Page, PageParams, pagination
from citybrain.api.security.roles import Permission, Role
from citybrain.core import Workspace
from citybrain.govern import (
    QualityAlert,
    QualityScore,
    contracts_in,
    quality_report,
    score_history,
)

router = APIRouter(prefix="/quality", tags=["quality"])

SourceName = Annotated[
    str, Path(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$", description="a source system's id")
]
# Roles that see every source; the others see their department's.
ALL_SOURCES = frozenset({Role.ADMIN, Role.DATA_STEWARD})
_SOURCES_SORT = ("source", "score", "rows", "recorded_at")
_ALERTS_SORT = ("raised_at", "source", "severity")


class SourceScore(BaseModel):
    source: str
    table: str
    owner: str | None
    rows: int
    score: float
    scores: dict[str, float]  # dimension → 0..1
    recorded_at: datetime


class FieldScore(BaseModel):
    column: str
    rows: int
    filled: int
    invalid: int
    completeness: float
    #: None: nothing could check the values (an address column while no address base is loaded)
    validity: float | None


class ConsistencyCheck(BaseModel):
    check: str
    compared: int
    agreeing: int
    rate: float


class LoadPoint(BaseModel):
    load_id: str
    rows: int
    score: float


class HistoryPoint(BaseModel):
    recorded_at: datetime
    score: float


class SourceDetail(SourceScore):
    fields: list[FieldScore]
    consistency: list[ConsistencyCheck]
    duplicates: int | None
    trend: list[LoadPoint]  # score per load, assessed now from the std zone
    history: list[HistoryPoint]  # stored scores, oldest first


class AlertOut(BaseModel):
    id: int
    source: str
    owner: str
    severity: str  # warning | critical
    dimension: str
    value: float
    threshold: float
    message_zh: str
    message_en: str
    raised_at: datetime


def source_owners(workspace: Workspace) -> dict[str, str]:
    """Source system → owner department, from the workspace's source contracts."""
    from citybrain.ingest import discover_sources

    return {c.id: c.owner for c in contracts_in(discover_sources(workspace))}


def _visible(principal: Principal, owner: str | None) -> bool:
    if principal.role in ALL_SOURCES:
        return True
    return owner is not None and principal.department is not None and owner == principal.department


def _latest_scores(ops_engine: SqlEngine) -> list[QualityScore]:
    """Each source's most recent stored score."""
    with Session(ops_engine) as db:
        latest = (
            select(QualityScore.system, func.max(QualityScore.id).label("id"))
            .group_by(QualityScore.system)
            .subquery()
        )
        rows = db.scalars(select(QualityScore).join(latest, QualityScore.id == latest.c.id)).all()
        db.expunge_all()
    return list(rows)


def _out(row: QualityScore, owner: str | None) -> dict[str, Any]:
    return {
        "source": row.system, "table": row.std_table, "owner": owner, "rows": row.rows,
        "score": row.score, "recorded_at": row.recorded_at,
        "scores": {k: float(v) for k, v in (row.dimensions or {}).items() if v is not None},
    }  # fmt: skip


def _page(items: list[Any], params: PageParams) -> Page[Any]:
    for name, descending in reversed(params.sort):
        items.sort(key=lambda item: getattr(item, name), reverse=descending)
    chunk = items[params.offset : params.offset + params.page_size]
    return Page(items=chunk, total=len(items), page=params.page, page_size=params.page_size)


@router.get("/sources")
def quality_sources(
    principal: Annotated[Principal, Depends(require(Permission.QUALITY_READ))],
    ops_engine: OpsEngine,
    workspace: Annotated[Workspace, Depends(get_workspace)],
    params: Annotated[PageParams, Depends(pagination(_SOURCES_SORT, "source"))],
) -> Page[SourceScore]:
    """Every source's latest quality score (0–100) and its dimensions (0–1)."""
    owners = source_owners(workspace)
    items = [
        SourceScore(**_out(row, owners.get(row.system)))
        for row in _latest_scores(ops_engine)
        if _visible(principal, owners.get(row.system))
    ]
    return _page(items, params)


@router.get("/sources/{source}", responses={404: {"description": "no quality result for it"}})
def quality_source(
    source: SourceName,
    principal: Annotated[Principal, Depends(require(Permission.QUALITY_READ))],
    ops_engine: OpsEngine,
    workspace: Annotated[Workspace, Depends(get_workspace)],
    lake: LakeDep,
) -> SourceDetail:
    """One source: its latest score, each field's completeness and validity, cross-source
    consistency, the score per load and the stored scores over time."""
    owner = source_owners(workspace).get(source)
    stored = next((r for r in _latest_scores(ops_engine) if r.system == source), None)
    if not _visible(principal, owner) or stored is None:
        raise HTTPException(404, detail=f"no quality result for source {source!r}")
    with lake.engine() as engine:
        report = quality_report(workspace, source=source, engine=engine)
    live = next((s for s in report.sources if s.system == source), None)
    history = [HistoryPoint(recorded_at=p.recorded_at, score=p.score)
               for p in score_history(ops_engine, source)]  # fmt: skip
    return SourceDetail(
        **_out(stored, owner),
        fields=[
            FieldScore(column=f.column, rows=f.rows, filled=f.filled, invalid=f.invalid,
                       completeness=f.completeness,
                       validity=f.validity if f.checked else None)
            for f in (live.fields if live else [])
        ],
        consistency=[
            ConsistencyCheck(check=c.check, compared=c.compared, agreeing=c.agreeing, rate=c.rate)
            for c in (live.consistency if live else [])
        ],
        duplicates=live.duplicates if live else None,
        trend=[LoadPoint(load_id=t.load_id, rows=t.rows, score=t.score)
               for t in (live.trend if live else [])],
        history=history,
    )  # fmt: skip


@router.get("/alerts")
def quality_alerts(
    principal: Annotated[Principal, Depends(require(Permission.QUALITY_READ))],
    ops_engine: OpsEngine,
    params: Annotated[PageParams, Depends(pagination(_ALERTS_SORT, "-raised_at"))],
) -> Page[AlertOut]:
    """Open alerts: those the latest stored assessment of each source raised.

    A source's latest assessment is the newest time it was scored *or* alerted on: a stream that
    has no standard table is never scored, yet its loss alerts must show.
    """
    with Session(ops_engine) as db:
        assessed = union_all(
            select(QualityScore.system.label("system"), QualityScore.recorded_at.label("at")),
            select(QualityAlert.system.label("system"), QualityAlert.raised_at.label("at")),
        ).subquery()
        latest = (
            select(assessed.c.system, func.max(assessed.c.at).label("at"))
            .group_by(assessed.c.system)
            .subquery()
        )
        rows = db.scalars(
            select(QualityAlert).join(
                latest,
                (QualityAlert.system == latest.c.system) & (QualityAlert.raised_at == latest.c.at),
            )
        ).all()
        items = [
            AlertOut(id=r.id, source=r.system, owner=r.owner, severity=r.level,
                     dimension=r.dimension, value=r.value, threshold=r.threshold,
                     message_zh=r.message_zh, message_en=r.message_en, raised_at=r.raised_at)
            for r in rows
            if _visible(principal, r.owner)
        ]  # fmt: skip
    return _page(items, params)
