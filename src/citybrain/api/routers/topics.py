"""Installed topics: titles, input readiness, and the map layers and overview tiles they contribute.

The web app renders a topic from this description alone (no per-topic code in the web app).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel

from citybrain.api.deps import (
    CatalogDep,
    InstalledTopics,
    Lake,
    LakeDep,
    Principal,
    TopicName,
    get_workspace,
    require,
)
from citybrain.api.security.roles import Permission
from citybrain.core import UserError, Workspace
from citybrain.core.catalog import Catalog
from citybrain.topics import Evaluation, MapLayer, OverviewTile, PagePanel, Topic
from citybrain.topics.evaluation_store import load_evaluation
from citybrain.topics.runner import check_inputs, findings_table_name

router = APIRouter(prefix="/topics", tags=["topics"])


class Readiness(BaseModel):
    ready: bool
    missing_tables: list[str]
    missing_columns: dict[str, list[str]]
    message: str | None


class TopicInfo(BaseModel):
    name: str
    title_zh: str
    title_en: str
    subject_type: str
    version: str
    department_hint: str | None
    inputs: list[str]
    readiness: Readiness
    map_layers: list[MapLayer]
    overview_tiles: list[OverviewTile]
    page_panels: list[PagePanel]
    has_findings: bool


def _info(topic: Topic, catalog: Catalog, lake: Lake) -> TopicInfo:
    check = check_inputs(topic, catalog)
    return TopicInfo(
        name=topic.name,
        title_zh=topic.title_zh,
        title_en=topic.title_en,
        subject_type=topic.subject_type,
        version=topic.version,
        department_hint=topic.department_hint,
        inputs=[spec.dataset for spec in topic.inputs],
        readiness=Readiness(
            ready=check.passed,
            missing_tables=list(check.missing_tables),
            missing_columns={t: list(cols) for t, cols in check.missing_columns},
            message=None if check.passed else check.message(),
        ),
        map_layers=topic.map_layers(),
        overview_tiles=topic.overview_tiles(),
        page_panels=topic.page_panels(),
        has_findings=lake.exists("topic", findings_table_name(topic.name)),
    )


@router.get("")
def list_topics(
    _: Annotated[Principal, Depends(require(Permission.TOPICS_READ))],
    catalog: CatalogDep,
    lake: LakeDep,
    installed: InstalledTopics,
) -> list[TopicInfo]:
    """Every installed topic, by name, with whether its inputs are in the catalog."""
    return [_info(cls(), catalog, lake) for cls in installed.values()]


@router.get("/{topic}", responses={404: {"description": "no such topic installed"}})
def topic_detail(
    topic: TopicName,
    _: Annotated[Principal, Depends(require(Permission.TOPICS_READ))],
    catalog: CatalogDep,
    lake: LakeDep,
    installed: InstalledTopics,
) -> TopicInfo:
    found = installed.get(topic)
    if found is None:
        raise HTTPException(404, detail=f"no topic {topic!r} is installed")
    return _info(found(), catalog, lake)


@router.get("/{topic}/evaluation", responses={404: {"description": "no such topic installed"}})
def topic_evaluation(
    topic: TopicName,
    _: Annotated[Principal, Depends(require(Permission.TOPICS_READ))],
    workspace: Annotated[Workspace, Depends(get_workspace)],
    installed: InstalledTopics,
) -> Evaluation | None:
    """The topic's latest evaluation against ground truth (``citybrain topic evaluate``), with its
    baselines side by side; aggregate figures only, no subjects. ``null`` until it is evaluated."""
    if topic not in installed:
        raise HTTPException(404, detail=f"no topic {topic!r} is installed")
    try:
        return load_evaluation(workspace, topic)
    except UserError as exc:
        raise HTTPException(
            409, detail=f"the stored evaluation of {topic!r} is unreadable"
        ) from exc
