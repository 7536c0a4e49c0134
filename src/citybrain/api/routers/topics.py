"""Installed topics: titles, input readiness, and the map layers and overview tiles they contribute.

The web app renders a topic from this description alone (no per-topic code in the web app).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from citybrain.api.deps import (
    CatalogDep,
    InstalledTopics,
    Lake,
    LakeDep,
    OpsEngine,
    Principal,
    ScopeDep,
    TopicName,
    cases_in_scope,
    get_workspace,
    require,
)
from citybrain.api.pii import PERSONAL_SUBJECTS, Masker, get_masker
from citybrain.api.places import PlacesDep
from citybrain.api.security.masking import PiiKind
from citybrain.api.security.roles import Permission
from citybrain.cases import outcome_labels
from citybrain.core import UserError, Workspace
from citybrain.core.catalog import Catalog
from citybrain.topics import Evaluation, MapLayer, OverviewTile, PagePanel, Topic
from citybrain.topics.evaluation_store import load_evaluation
from citybrain.topics.runner import check_inputs, findings_table_name
from citybrain.topics.settings import workspace_params

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


def _panels(topic: Topic, workspace: Workspace) -> list[PagePanel]:
    """The page's panels under this city's parameters (``[topics.NAME]`` of citybrain.toml)."""
    try:
        params = workspace_params(workspace, topic)
    except UserError as exc:
        raise HTTPException(409, detail=exc.message) from exc
    return topic.page_panels_for(params)


def _info(topic: Topic, catalog: Catalog, lake: Lake, workspace: Workspace) -> TopicInfo:
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
        page_panels=_panels(topic, workspace),
        has_findings=lake.exists("topic", findings_table_name(topic.name)),
    )


@router.get("")
def list_topics(
    _: Annotated[Principal, Depends(require(Permission.TOPICS_READ))],
    catalog: CatalogDep,
    lake: LakeDep,
    installed: InstalledTopics,
    workspace: Annotated[Workspace, Depends(get_workspace)],
) -> list[TopicInfo]:
    """Every installed topic, by name, with whether its inputs are in the catalog."""
    return [_info(cls(), catalog, lake, workspace) for cls in installed.values()]


@router.get("/{topic}", responses={404: {"description": "no such topic installed"}})
def topic_detail(
    topic: TopicName,
    _: Annotated[Principal, Depends(require(Permission.TOPICS_READ))],
    catalog: CatalogDep,
    lake: LakeDep,
    installed: InstalledTopics,
    workspace: Annotated[Workspace, Depends(get_workspace)],
) -> TopicInfo:
    found = installed.get(topic)
    if found is None:
        raise HTTPException(404, detail=f"no topic {topic!r} is installed")
    return _info(found(), catalog, lake, workspace)


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


class LabelOut(BaseModel):
    subject_id: str
    address: str | None = Field(description="the subject's address, masked as your role may see")
    period: str
    label: int = Field(description="1: 属实 (confirmed on site), 0: 不属实 (rejected)")
    label_zh: str


class TopicLabels(BaseModel):
    topic: str
    title_zh: str
    title_en: str
    total: int
    positives: int
    items: list[LabelOut]


@router.get("/{topic}/labels", responses={404: {"description": "no such topic installed"}})
def topic_labels(
    topic: TopicName,
    _: Annotated[Principal, Depends(require(Permission.CASES_READ))],
    installed: InstalledTopics,
    ops_engine: OpsEngine,
    scope: ScopeDep,
    masker: Annotated[Masker, Depends(get_masker)],
    places: PlacesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> TopicLabels:
    """The labels the topic learns from: each subject-month a closed case in your area judged
    属实 (1) or 不属实 (0) on site; 无法核实 / 无法入户 teaches nothing and is left out."""
    found = installed.get(topic)
    if found is None:
        raise HTTPException(404, detail=f"no topic {topic!r} is installed")
    table = outcome_labels(ops_engine, topic, where=cases_in_scope(scope))
    kind = PERSONAL_SUBJECTS.get(found.subject_type)
    rows = table.slice(0, limit).to_pylist()
    addresses = places.addresses(r["subject_id"] for r in rows)
    items = []
    for row in rows:
        subject = row["subject_id"]
        shown = masker.value(subject, kind, subject=subject) if kind is not None else subject
        items.append(
            LabelOut(
                subject_id=shown or subject,
                address=masker.value(addresses.get(subject), PiiKind.ADDRESS, subject=subject),
                period=row["period"],
                label=row["label"],
                label_zh="属实" if row["label"] else "不属实",
            )
        )
    positives = int(sum(table["label"].to_pylist())) if table.num_rows else 0
    return TopicLabels(
        topic=topic, title_zh=found.title_zh, title_en=found.title_en, total=table.num_rows,
        positives=positives, items=items,
    )  # fmt: skip
