"""Installed topics: titles, input readiness, and the map layers and overview tiles they contribute.

The web app renders a topic from this description alone (no per-topic code in the web app). This
module also holds the lake reader the data routers share: one in-memory DuckDB engine per app over
the workspace's lake (never the pipeline's database file, which a running pipeline may hold).
"""

from __future__ import annotations

import functools
import gc
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import pyarrow as pa
from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import AfterValidator, BaseModel, StringConstraints

from citybrain.api.deps import Principal, Security, get_security, get_workspace, require
from citybrain.api.security.roles import Permission
from citybrain.core import UserError, Workspace
from citybrain.core.catalog import Catalog
from citybrain.core.engine import Engine, open_engine
from citybrain.topics import (
    Evaluation,
    MapLayer,
    OverviewTile,
    PagePanel,
    Topic,
    discover_topics,
)
from citybrain.topics.evaluation_store import load_evaluation
from citybrain.topics.runner import check_inputs, findings_table_name, latest_findings

router = APIRouter(prefix="/topics", tags=["topics"])

TOPIC_NAME = r"^[a-z0-9][a-z0-9_]{0,47}$"
TopicName = Annotated[
    str, Path(pattern=TOPIC_NAME, description="a topic's name, e.g. group_rental")
]
_NAME = re.compile(TOPIC_NAME)


def _no_dots(value: str) -> str:
    if ".." in value:
        raise ValueError("must not contain '..'")
    return value


# A filter value: paging.FilterValue with its character ranges spelt out. ``\w`` means Unicode word
# characters to Python but ASCII ones to JSON Schema (ECMA) regex, so clients, fuzzers and this
# service would disagree about a value such as "ý"; explicit ranges mean the same everywhere.
Text = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=128,
        pattern=r"^[0-9A-Za-z_\u00c0-\u024f\u3400-\u4dbf\u4e00-\u9fff\uff08\uff09\-.:@ ]+$",
    ),
    AfterValidator(_no_dots),
]
TopicFilter = Annotated[str, StringConstraints(pattern=TOPIC_NAME)]
Period = Annotated[str, StringConstraints(pattern=r"^\d{4}(-\d{2}){0,2}$")]


class Lake:
    """Read-only access to the lake for request handlers, serialised on one engine."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        with self._lock:
            if self._engine is None:
                config = self.workspace.config.engine
                self._engine = open_engine(
                    "duckdb", self.workspace.lake, config, database=":memory:"
                )
            yield self._engine

    def exists(self, zone: str, name: str) -> bool:
        return (self.workspace.lake / zone / name).is_dir()

    def read(self, zone: str, name: str) -> pa.Table | None:
        """A whole lake table as Arrow, or None when it is not there."""
        if not self.exists(zone, name):
            return None
        with self.engine() as engine:
            return engine.to_arrow(engine.table(zone, name))

    def findings(self, topic: str) -> pa.Table:
        """The latest run's findings of ``topic`` (empty with the schema when it never ran)."""
        with self.engine() as engine:
            return latest_findings(engine, topic)


_LAKE_LOCK = threading.Lock()


def get_lake(request: Request) -> Lake:
    state = request.app.state
    with _LAKE_LOCK:
        lake: Lake | None = getattr(state, "lake_reader", None)
        if lake is None:
            lake = Lake(state.workspace)
            state.lake_reader = lake
    return lake


LakeDep = Annotated[Lake, Depends(get_lake)]


_DISCOVERY_LOCK = threading.Lock()


@functools.cache
def _discovered() -> dict[str, type[Topic]]:
    try:
        return discover_topics()
    except UserError:
        return {}


def installed_topics() -> dict[str, type[Topic]]:
    """Topics installed in this environment, read once per process (installing needs a restart)."""
    with _DISCOVERY_LOCK:  # a request arriving during the warm-up waits for it, not a second scan
        return _discovered()


def warm_up() -> None:
    """Scan the installed packages' entry points in the background now: on a cold file system the
    scan takes seconds, which the first request for topics should not pay."""
    threading.Thread(target=_warm_up, name="topics-warm-up", daemon=True).start()


def _warm_up() -> None:
    installed_topics()
    # The topics' imports (scikit-learn, LightGBM …) leave a large heap that lives as long as the
    # process; frozen, the collector stops re-scanning it, whose full passes stalled requests for
    # hundreds of milliseconds.
    gc.freeze()


def known_topic(name: str, lake: Lake) -> bool:
    """Installed, or has findings in the lake (a topic that ran and was uninstalled since)."""
    return _NAME.match(name) is not None and (
        name in installed_topics() or lake.exists("topic", findings_table_name(name))
    )


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
    security: Annotated[Security, Depends(get_security)],
    lake: LakeDep,
) -> list[TopicInfo]:
    """Every installed topic, by name, with whether its inputs are in the catalog."""
    catalog = Catalog(security.engine)
    return [_info(cls(), catalog, lake) for cls in installed_topics().values()]


@router.get("/{topic}", responses={404: {"description": "no such topic installed"}})
def topic_detail(
    topic: TopicName,
    _: Annotated[Principal, Depends(require(Permission.TOPICS_READ))],
    security: Annotated[Security, Depends(get_security)],
    lake: LakeDep,
) -> TopicInfo:
    found = installed_topics().get(topic)
    if found is None:
        raise HTTPException(404, detail=f"no topic {topic!r} is installed")
    return _info(found(), Catalog(security.engine), lake)


@router.get("/{topic}/evaluation", responses={404: {"description": "no such topic installed"}})
def topic_evaluation(
    topic: TopicName,
    _: Annotated[Principal, Depends(require(Permission.TOPICS_READ))],
    workspace: Annotated[Workspace, Depends(get_workspace)],
) -> Evaluation | None:
    """The topic's latest evaluation against ground truth (``citybrain topic evaluate``), with its
    baselines side by side; aggregate figures only, no subjects. ``null`` until it is evaluated."""
    if topic not in installed_topics():
        raise HTTPException(404, detail=f"no topic {topic!r} is installed")
    try:
        return load_evaluation(workspace, topic)
    except UserError as exc:
        raise HTTPException(
            409, detail=f"the stored evaluation of {topic!r} is unreadable"
        ) from exc
