"""Incremental detectors: what a topic plugs into the streaming path.

A detector declares the sources it reads (their system ids) and is handed each landed micro-batch
of them, in commit order, with its state from the batch before::

    class SensorCount:
        name = "sensor_count"
        sources = ("air_quality_sensors",)

        def initial_state(self) -> dict[str, Any]:
            return {"per_sensor": {}}

        def process(self, batch: StreamBatch, state: dict[str, Any]) -> list[StreamEvent]:
            ...  # update ``state`` in place; return the events (alerts) this batch raises

The state is a JSON value (dicts, lists, strings, numbers): the runner saves it in the ops
database in the same transaction as the batch's events and the detector's cursor, so after a crash
the detector resumes from the last batch it finished, never from a half-applied one. A batch is
the landed rows of one load (an Arrow table, contract column names), never the raw messages: a
detector sees what the raw zone holds.

A detector that needs what the workspace knows (a truck's permitted hours, the construction
sites) may define ``bind(context)``: the runner calls it once before the first batch with a
:class:`DetectorContext` (the workspace; ``context.engine()`` opens its lake). A ``bind`` that
fails is reported in the status line; the detector then runs without that knowledge.

An event whose ``finding`` is set (one row of the findings schema, as a topic returns them) is an
alert: the runner stores it as a live finding of its topic and opens or updates a case through the
routing (see :mod:`citybrain.stream.findings`), in the same step as the event goes on the feed.

Detectors are found through the entry-point group ``citybrain.stream_detectors`` (a topic's
package registers its detector there beside its ``citybrain.topics`` entry) or given as
``module:Class`` to ``citybrain stream --detector``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pyarrow as pa

from citybrain.core.errors import UserError

if TYPE_CHECKING:
    from citybrain.core.engine import Engine
    from citybrain.core.workspace import Workspace

ENTRY_POINT_GROUP = "citybrain.stream_detectors"


@dataclass(frozen=True)
class StreamBatch:
    """One committed load of a live source: its rows as landed."""

    system: str
    load_id: str
    table: pa.Table
    rows_quarantined: int = 0
    rows_missing: int = 0
    rows_repeated: int = 0  # sent again after a crash; acknowledged, not landed twice


@dataclass(frozen=True)
class StreamEvent:
    """An event for the live feed (``/api/v1/events``). ``type`` is ``<channel>.<what>``
    (``vehicle.position``, ``truck.violation``); a listener needs ``permission`` (a
    :class:`~citybrain.api.security.roles.Permission` value) and, when the event is placed in an
    area, that area in its scope."""

    type: str
    data: Mapping[str, Any] = field(default_factory=dict)
    permission: str = "findings.read"
    street_id: str | None = None
    community_id: str | None = None
    grid_id: str | None = None
    finding: Mapping[str, Any] | None = None  # an alert: one findings-schema row (see above)


@dataclass(frozen=True)
class DetectorContext:
    """What a detector may read before its first batch: the workspace and its lake."""

    workspace: Workspace

    def engine(self) -> Engine:
        """An engine over the workspace's lake (close it: ``with context.engine() as engine``).

        DuckDB runs in memory: lake tables are Parquet folders, and the workspace's DuckDB file
        may be held by the API or a pipeline run in another process."""
        return lake_engine(self.workspace)


def lake_engine(workspace: Workspace) -> Engine:
    """An engine over ``workspace``'s lake that does not open its DuckDB file."""
    from citybrain.core.engine import open_engine

    config = workspace.config.engine
    if config.kind == "duckdb":
        return open_engine("duckdb", workspace.lake, config, database=":memory:")
    return workspace.engine()


@runtime_checkable
class StreamDetector(Protocol):
    name: str  # unique; the key of its saved state
    sources: Sequence[str]  # system ids of the live sources it reads

    def initial_state(self) -> dict[str, Any]: ...

    def process(self, batch: StreamBatch, state: dict[str, Any]) -> Sequence[StreamEvent]: ...


def load_detector(spec: str) -> StreamDetector:
    """``module:Class`` (or ``module:instance``) → a detector."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise UserError(
            f"detector {spec!r}: write it as module:Class", hint="e.g. mycity.det:Trucks"
        )
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise UserError(f"detector {spec!r} cannot be imported: {exc}") from None
    return _instance(spec, target)


def discover_detectors() -> dict[str, StreamDetector]:
    """The detectors registered in the ``citybrain.stream_detectors`` entry-point group."""
    found: dict[str, StreamDetector] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        detector = _instance(entry.value, entry.load())
        found[detector.name] = detector
    return found


def _instance(spec: str, target: Any) -> StreamDetector:
    detector = target() if isinstance(target, type) else target
    if not isinstance(detector, StreamDetector):
        raise UserError(
            f"detector {spec!r} is not a stream detector",
            hint="it needs name, sources, initial_state() and process(batch, state)",
        )
    return detector
