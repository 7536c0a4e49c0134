"""Figures for the overview screen (一屏会商).

``/overview`` is public: the web app shows it before anyone signs in, and it holds city-wide counts
with nothing personal in them. ``/overview/topics`` is per topic and inside the caller's area.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import case, func, select

from citybrain.api.deps import (
    CatalogDep,
    InstalledTopics,
    LakeDep,
    OpsEngine,
    Principal,
    ScopeDep,
    Security,
    cases_in_scope,
    get_security,
    get_workspace,
    public,
    require,
    scoped_findings,
)
from citybrain.api.security.roles import Permission
from citybrain.api.security.scope import Scope
from citybrain.cases import Case, Status
from citybrain.core import Workspace
from citybrain.core.opsdb import session
from citybrain.core.opsdb.models import CatalogDataset, CatalogDatasetStats
from citybrain.topics.runner import findings_table_name

router = APIRouter(tags=["overview"])


class Overview(BaseModel):
    city: str
    systems_connected: int
    records_aggregated: int
    datasets: int


@router.get("/overview", dependencies=[Depends(public)])
def overview(
    workspace: Annotated[Workspace, Depends(get_workspace)],
    catalog: CatalogDep,
) -> Overview:
    headline = catalog.headline()
    return Overview(
        city=workspace.config.name,
        systems_connected=headline.systems_connected,
        records_aggregated=headline.records_aggregated,
        datasets=headline.datasets,
    )


class TileValue(BaseModel):
    """A tile a topic contributes, with its figure: the latest run's findings in the latest
    period, inside the caller's area."""

    id: str
    title_zh: str
    title_en: str
    unit_zh: str
    unit_en: str
    value: int
    period: str | None


class TopicFigures(BaseModel):
    topic: str
    title_zh: str
    title_en: str
    findings: int  # the latest run's, in the caller's area
    by_level: dict[str, int]
    by_period: dict[str, int]  # the trend: the latest run's findings per period
    latest_period: str | None
    last_run_at: datetime | None  # freshness: when the topic last stored findings
    open_cases: int
    overdue_cases: int  # open with their deadline passed
    tiles: list[TileValue]


def _counts(table: pa.Table, column: str) -> dict[str, int]:
    counted = pc.value_counts(table[column]).to_pylist() if table.num_rows else []
    return {str(c["values"]): int(c["counts"]) for c in counted if c["values"] is not None}


def _last_runs(ops_engine: SqlEngine) -> dict[str, datetime]:
    query = (
        select(CatalogDataset.name, func.max(CatalogDatasetStats.recorded_at))
        .join(CatalogDatasetStats, CatalogDatasetStats.dataset_id == CatalogDataset.id)
        .where(CatalogDataset.zone == "topic")
        .group_by(CatalogDataset.name)
    )
    with session(ops_engine) as db:
        return {str(name): at for name, at in db.execute(query)}


def _case_counts(ops_engine: SqlEngine, scope: Scope, now: datetime) -> dict[str, tuple[int, int]]:
    """Open and overdue cases per topic in the caller's area (counted in SQL)."""
    late = case((Case.sla_due_at < now, 1), else_=0)
    is_open = Case.status.not_in([Status.closed.value, Status.archived.value])
    query = (
        select(Case.topic, func.count(), func.sum(late))
        .where(cases_in_scope(scope), is_open)
        .group_by(Case.topic)
    )
    with session(ops_engine) as db:
        return {str(t): (int(n), int(overdue or 0)) for t, n, overdue in db.execute(query)}


@router.get("/overview/topics")
def topic_figures(
    _: Annotated[Principal, Depends(require(Permission.FINDINGS_READ))],
    security: Annotated[Security, Depends(get_security)],
    ops_engine: OpsEngine,
    scope: ScopeDep,
    lake: LakeDep,
    installed_topics: InstalledTopics,
) -> list[TopicFigures]:
    """Per topic (installed or with findings): findings, trend, freshness, open and overdue cases,
    and the values of the tiles it contributes, all inside the caller's area."""
    installed = {name: cls() for name, cls in installed_topics.items()}
    last_runs = _last_runs(ops_engine)
    ran = {n.removesuffix("_findings") for n in last_runs if n.endswith("_findings")}
    cases_by_topic = _case_counts(ops_engine, scope, security.clock())
    out = []
    for name in sorted(set(installed) | ran | set(cases_by_topic)):
        topic = installed.get(name)
        table = scoped_findings(lake.findings(name), scope)
        by_period = _counts(table, "period")
        latest = max(by_period) if by_period else None
        in_latest = by_period.get(latest, 0) if latest else 0
        tiles = [
            TileValue(**tile.model_dump(), value=in_latest, period=latest)
            for tile in (topic.overview_tiles() if topic else [])
        ]
        open_cases, overdue = cases_by_topic.get(name, (0, 0))
        out.append(
            TopicFigures(
                topic=name,
                title_zh=topic.title_zh if topic else name,
                title_en=topic.title_en if topic else name,
                findings=table.num_rows,
                by_level=_counts(table, "level"),
                by_period=dict(sorted(by_period.items())),
                latest_period=latest,
                last_run_at=last_runs.get(findings_table_name(name)),
                open_cases=open_cases,
                overdue_cases=overdue,
                tiles=tiles,
            )
        )
    return out
