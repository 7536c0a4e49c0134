"""What the catalog hands out: frozen values, never ORM objects, so no caller holds a session."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from citybrain.core.errors import UserError
from citybrain.core.lake import ZONES

# ``source`` is the department system's own table, outside the lake: where lineage starts.
CATALOG_ZONES = ("source", *ZONES)

RunStatus = Literal["running", "succeeded", "failed"]
FreshnessStatus = Literal["fresh", "stale", "unknown"]


class DatasetKey(NamedTuple):
    """A dataset's identity: its zone and its name within the zone (``raw``, ``hukou.persons``)."""

    zone: str
    name: str

    def __str__(self) -> str:
        return f"{self.zone}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> DatasetKey:
        """``raw/hukou.persons`` → DatasetKey("raw", "hukou.persons")."""
        zone, sep, name = text.partition("/")
        if not sep or not zone or not name:
            raise UserError(f"{text!r} is not a dataset name", hint="write it as zone/name")
        return cls(zone, name)


class DatasetNotFound(UserError):
    """No dataset with that zone and name is in the catalog."""


class LoadNotFound(UserError):
    """No load run with that id is in the catalog."""


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnInfo(_Value):
    name: str
    type: str
    nullable: bool = True
    description: str = ""


class PiiField(_Value):
    name: str
    sensitivity: str


class DatasetSpec(_Value):
    """What a stage tells the catalog about a dataset it writes."""

    zone: str
    name: str
    path: str | None = None
    system_id: str | None = None
    owner_department: str | None = None
    description: str = ""
    columns: tuple[ColumnInfo, ...] = ()
    sensitivity: str | None = None
    pii_fields: tuple[PiiField, ...] = ()
    expected_refresh: timedelta | None = None

    @property
    def key(self) -> DatasetKey:
        return DatasetKey(self.zone, self.name)


class StatPoint(_Value):
    rows: int
    bytes: int | None = None
    load_id: str | None = None
    run_id: str | None = None
    recorded_at: datetime


class Freshness(_Value):
    status: FreshnessStatus
    last_refreshed_at: datetime | None = None
    expected_refresh: timedelta | None = None
    age: timedelta | None = None


class Dataset(DatasetSpec):
    """A catalog entry with its latest size and freshness."""

    id: int
    created_at: datetime
    updated_at: datetime
    latest: StatPoint | None = None
    freshness: Freshness


class DatasetDetail(_Value):
    dataset: Dataset
    history: tuple[StatPoint, ...] = Field(description="record counts over time, oldest first")


class LineageNode(_Value):
    key: DatasetKey
    system_id: str | None = None
    # 0 for the dataset asked about, -n for n steps upstream, +n for n steps downstream.
    depth: int


class LineageEdge(_Value):
    upstream: DatasetKey
    downstream: DatasetKey
    kind: str
    run_id: str | None = None
    updated_at: datetime


class LineageGraph(_Value):
    root: DatasetKey
    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]


class LoadRunInfo(_Value):
    load_id: str
    source_system: str
    run_id: str | None = None
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None = None
    rows_read: int = 0
    rows_landed: int = 0
    rows_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = Field(default_factory=dict)
    bytes: int | None = None
    checksum: str | None = None
    schema_hash: str | None = None
    watermark: str | None = None
    error_message: str | None = None


class LoadOutcome(_Value):
    """How a load ended; for a succeeded load, read = landed + quarantined must hold."""

    status: Literal["succeeded", "failed"]
    rows_read: int = 0
    rows_landed: int = 0
    rows_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = Field(default_factory=dict)
    bytes: int | None = None
    checksum: str | None = None
    schema_hash: str | None = None
    watermark: str | None = None
    error_message: str | None = None


class PipelineStepInfo(_Value):
    """One attempt at one step of a pipeline run."""

    id: int
    run_id: str
    position: int
    name: str
    attempt: int = 1
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None = None
    seconds: float | None = None
    rows_in: int | None = None
    rows_out: int | None = None
    peak_rss_bytes: int | None = None
    summary: str | None = None
    error_message: str | None = None


class PipelineStepOutcome(_Value):
    """How a step attempt ended."""

    status: Literal["succeeded", "failed"]
    seconds: float
    rows_in: int | None = None
    rows_out: int | None = None
    peak_rss_bytes: int | None = None
    summary: str | None = None
    error_message: str | None = None


class PipelineRunInfo(_Value):
    run_id: str
    command: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None = None
    #: the run's plan: ``{"name": step}`` per step, in order
    stages: tuple[dict[str, object], ...] = ()
    error_message: str | None = None
    #: every step attempt, in the order they started (filled by the calls that say so)
    steps: tuple[PipelineStepInfo, ...] = ()

    @property
    def plan(self) -> list[str]:
        return [str(stage["name"]) for stage in self.stages if "name" in stage]


class SystemSummary(_Value):
    """One department system as the loads see it."""

    system_id: str
    loads: int
    succeeded_loads: int
    rows_landed: int = Field(description="over all succeeded loads")
    rows_quarantined: int = Field(description="over all succeeded loads")
    last_load: LoadRunInfo
    last_success_at: datetime | None = None


class HeadlineFigures(_Value):
    systems_connected: int = Field(description="distinct source systems with a succeeded load")
    records_aggregated: int = Field(description="rows landed in the raw zone by succeeded loads")
    datasets: int
    datasets_by_zone: dict[str, int]
    last_load_at: datetime | None = None
