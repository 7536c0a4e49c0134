"""What a topic plugin declares: inputs, parameters, ``run`` and ``evaluate``, and what it shows.

Built-in topics use exactly this API; a third-party topic registers a ``Topic`` subclass under the
``citybrain.topics`` entry-point group and appears in the CLI, the case desk and the web app.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from citybrain.topics.findings import Level

if TYPE_CHECKING:
    from collections.abc import Mapping

    import ibis.expr.types as ir

    from citybrain.core.engine import Engine
    from citybrain.core.workspace import Workspace


#: Columns standardisation adds to std rows, which every topic may read without declaring them:
#: where a row came from, its quality flags, and (on place-bearing tables) the matched address and
#: its admin areas. Kept equal to ``govern.standardize`` by tests/topics/test_enforcement.py.
IMPLICIT_COLUMNS = (
    "source_system",
    "load_id",
    "source_row",
    "quality_flags",
    "address_id",
    "address_level",
    "address_confidence",
    "grid_id",
    "community_id",
    "street_id",
)


class UndeclaredColumn(Exception):
    """A topic read a column of an input it did not declare (a bug in the topic, not user data)."""


class InputSpec(BaseModel):
    """A standard table a topic reads, and the columns it needs from it."""

    model_config = ConfigDict(frozen=True)

    zone: Literal["std", "base", "topic"] = "std"
    table: str
    columns: tuple[str, ...] = ()
    optional: bool = False

    @property
    def dataset(self) -> str:
        return f"{self.zone}.{self.table}"

    def allowed(self, available: tuple[str, ...]) -> tuple[str, ...]:
        """The columns of ``available`` a topic declaring this input may read: the declared
        ones and the implicit ones; every column when none are declared."""
        if not self.columns:
            return available
        return tuple(c for c in available if c in self.columns or c in IMPLICIT_COLUMNS)


@dataclass(frozen=True)
class PeriodSpec:
    """A topic whose findings are per period (a day) of one time-series input declares it, so that
    a nightly run recomputes only the periods new rows touch (`citybrain.pipeline.topic_increment`).

    The promise: the findings of a day depend only on the rows of ``input`` whose ``ts`` falls on
    that day or within ``neighbours`` days of it (and on the topic's other inputs, whole); rows
    without a timestamp bear on none; every finding's ``period`` begins with the day it belongs to
    (``YYYY-MM-DD``, e.g. ``2023-03-14 08:15``). ``latest_only``: the findings are those of the
    newest period only (a "now" topic): none of the previous findings are kept. Side tables the
    topic writes must come from its newest period only (the map's latest snapshot): the newest
    day (of a row ``usable`` says the topic uses, every row by default) is always handed over.
    A whole recompute over a large input is made in chunks of days the same way
    (`citybrain.pipeline.topic_increment.whole_findings`): a topic writes its side tables only when
    ``TopicContext.side_tables`` (the chunk with the newest day).

    ``state``: a topic whose findings are not per day but made from per-day partial results (a
    day's sums) keeps those in this topic-zone table (a ``day`` column, ``YYYY-MM-DD``; a
    ``run_id`` column: the run that made it, every day in it) and makes its findings whole from
    them each run. On an incremental run it is handed `KeptState` (``TopicContext.kept``): the
    days it recomputes and the previous run's rows of every other day; the pipeline keeps no
    findings.
    """

    input: str  # the time-series input, e.g. "std.bike_position"
    ts: str = "ts"  # its timestamp (or date) column
    grain: Literal["day"] = "day"
    neighbours: int = 0
    latest_only: bool = False
    usable: Callable[[ir.Table], ir.BooleanValue] | None = field(default=None, compare=False)
    state: str | None = None

    def describe(self) -> str:
        """What decides the periods, as text (a changed declaration recomputes everything)."""
        return (
            f"{self.input}.{self.ts} per {self.grain}, neighbours {self.neighbours}, "
            f"latest only {self.latest_only}, usable {getattr(self.usable, '__qualname__', None)}"
            f", state {self.state}"
        )


@dataclass(frozen=True)
class KeptState:
    """What a periodic topic with a state table (`PeriodSpec.state`) is handed on an incremental
    run: the days it recomputes (its new state rows of other days do not count: they were made
    from part of their rows) and the previous run's state rows of every other day."""

    days: frozenset[date]
    rows: ir.Table

    @property
    def day_texts(self) -> list[str]:
        """The recomputed days as the state's ``day`` column writes them."""
        return sorted(d.isoformat() for d in self.days)


class TopicParams(BaseModel):
    """Base of every topic's parameters: thresholds that turn scores into findings and levels."""

    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="score at or above which a finding is raised"
    )
    high: float = Field(
        0.8, ge=0.0, le=1.0, description="score at or above which the level is high"
    )


class LegendEntry(BaseModel):
    """One value of the property a layer is coloured by, its colour and its words."""

    value: str  # "" stands for a missing value
    color: str
    label_zh: str
    label_en: str


class MapLayer(BaseModel):
    """A map layer a topic contributes to the one map (一张图).

    By default it shows the topic's latest findings. With ``source`` it shows a table the topic
    writes in the topic zone (``lon``, ``lat`` and ``run_id`` columns): the latest run's rows, and
    of those only the latest value of ``latest`` when given (e.g. the day), with ``properties`` for
    the popup, each point coloured by ``color_by`` as the ``legend`` says (the legend in words).
    """

    id: str
    title_zh: str
    title_en: str
    kind: Literal["points", "h3", "lines", "polygons"] = "points"
    color: str = "#d9480f"
    source: str | None = None
    latest: str | None = None
    properties: list[str] = Field(default_factory=list)
    color_by: str | None = None
    legend: list[LegendEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _coloured(self) -> MapLayer:
        if self.color_by is not None and not self.legend:
            raise ValueError(f"map layer {self.id!r}: color_by needs a legend")
        if self.source is None and (self.latest or self.properties or self.color_by):
            raise ValueError(f"map layer {self.id!r}: latest, properties, color_by need a source")
        return self


class OverviewTile(BaseModel):
    """A figure a topic contributes to the overview screen (一屏会商)."""

    id: str
    title_zh: str
    title_en: str
    unit_zh: str = ""
    unit_en: str = ""


class PagePanel(BaseModel):
    """A panel a topic contributes to its page (专题页), drawn by the web app with no topic code.

    ``note`` shows the text (how to read the findings, what the signals mean); ``breakdown`` charts
    the latest findings counted by ``by`` (level or street), from the findings summary.
    """

    id: str
    title_zh: str
    title_en: str
    kind: Literal["note", "breakdown"] = "note"
    by: Literal["level", "street"] | None = None
    text_zh: str = ""
    text_en: str = ""

    @model_validator(mode="after")
    def _complete(self) -> PagePanel:
        if self.kind == "breakdown" and self.by is None:
            raise ValueError(f"page panel {self.id!r}: a breakdown needs 'by' (level or street)")
        if self.kind == "note" and not (self.text_zh and self.text_en):
            raise ValueError(f"page panel {self.id!r}: a note needs text_zh and text_en")
        return self


class Evaluation(BaseModel):
    """A topic's findings scored against ground truth; baselines side by side."""

    topic: str
    precision: float
    recall: float
    f1: float
    precision_at_100: float | None = None
    threshold: float | None = None
    support: int = 0
    flagged: int = 0
    baselines: dict[str, dict[str, float]] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)


@dataclass
class TopicContext:
    """What a running topic may use: the workspace, its engine, parameters and labels."""

    workspace: Workspace
    engine: Engine
    run_id: str
    params: TopicParams
    model_version: str
    # Confirmed / rejected case outcomes (subject_id, period, label), once cases exist.
    labels: pa.Table | None = None
    artifacts_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: the declared inputs, ``"std.complaint"`` → table, as the runner hands them (None: a
    #: context built by hand, for a test or an evaluation, reads the lake)
    inputs: Mapping[str, ir.Table] | None = None
    #: on an incremental run of a topic with a state table (`PeriodSpec.state`): what it keeps
    kept: KeptState | None = None
    #: False while a whole recompute is made in chunks of days and this chunk is not the last
    #: one: side tables from the newest period (the map's latest snapshot) are left to the last
    side_tables: bool = True
    #: the whole time-series input (`PeriodSpec.input`) when the topic is handed some of its days
    #: (a nightly run, a chunk of a whole recompute): for what must be known of every row, read
    #: as a small aggregate (the plates that ever report a load status), never row by row
    whole_series: ir.Table | None = None

    @contextmanager
    def staging(self) -> Iterator[Callable[[str, ir.Table], ir.Table]]:
        """Compute an intermediate once: within the block, ``stage(name, table)`` writes
        ``table`` to the lake as the work table ``topic/<name>`` and returns it read back. A topic
        whose queries all start from one expensive intermediate (every person record keyed by
        identity) would otherwise have the engine recompute it in each query: a lazy expression
        is a recipe, not a result. Name work tables ``<topic>_work_<part>``; they are removed
        when the block ends, also on an error."""
        written: list[str] = []

        def stage(name: str, table: ir.Table) -> ir.Table:
            written.append(name)
            self.engine.write(table, "topic", name, mode="replace", ordered=False)
            return self.engine.table("topic", name)

        try:
            yield stage
        finally:
            for name in written:
                shutil.rmtree(self.engine.table_dir("topic", name), ignore_errors=True)

    def input(self, dataset: str) -> ir.Table:
        """A declared input (``"std.complaint"``): what the runner handed the topic."""
        if self.inputs is None:
            zone, _, table = dataset.partition(".")
            return self.engine.table(zone, table)
        try:
            return self.inputs[dataset]
        except KeyError:
            from citybrain.core.errors import UserError

            raise UserError(
                f"the topic reads {dataset}, which it does not declare in its inputs "
                "or which is not in the lake",
                hint=f"declared and present: {', '.join(sorted(self.inputs)) or 'none'}",
            ) from None


class Topic(ABC):
    """A topic (专题): finds one kind of problem and explains every finding."""

    name: ClassVar[str]
    title_zh: ClassVar[str]
    title_en: ClassVar[str]
    subject_type: ClassVar[str]
    version: ClassVar[str] = "1"
    inputs: ClassVar[tuple[InputSpec, ...]] = ()
    params_model: ClassVar[type[TopicParams]] = TopicParams
    department_hint: ClassVar[str | None] = None  # default receiving department for case routing
    #: findings per day of one time-series input (`PeriodSpec`); None: recomputed whole
    periodic: ClassVar[PeriodSpec | None] = None

    def default_params(self) -> TopicParams:
        return self.params_model()

    def period_spec(self, params: TopicParams) -> PeriodSpec | None:
        """The topic's `PeriodSpec` under ``params`` (a topic whose periods depend on them
        overrides this); by default ``periodic``."""
        return self.periodic

    @property
    def model_version(self) -> str:
        """What every finding of this topic records as its model version."""
        return f"{self.name}-{self.version}"

    @abstractmethod
    def run(self, ctx: TopicContext) -> pa.Table:
        """Return findings conforming to ``FINDINGS_SCHEMA`` (levels, reasons, location)."""

    def evaluate(self, findings: pa.Table, truth_dir: Path, ctx: TopicContext) -> Evaluation:
        """Score findings against ground truth; topics without truth keep this default."""
        raise NotImplementedError(f"topic {self.name} has no ground truth to evaluate against")

    def map_layers(self) -> list[MapLayer]:
        return []

    def overview_tiles(self) -> list[OverviewTile]:
        return []

    def page_panels(self) -> list[PagePanel]:
        """Panels for its page beyond the findings, map, trend and evaluation every topic has."""
        return []

    def page_panels_for(self, params: TopicParams) -> list[PagePanel]:
        """The page's panels under a city's parameters (``[topics.NAME]`` of citybrain.toml, as
        the topics API passes them): a topic whose page depends on them overrides this; by
        default the panels of ``page_panels()``."""
        return self.page_panels()

    def level_thresholds(self, params: TopicParams) -> dict[Level, float]:
        return {Level.high: params.high, Level.medium: params.threshold}
