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

Detectors are found through the entry-point group ``citybrain.stream_detectors`` (a topic's
package registers its detector there beside its ``citybrain.topics`` entry) or given as
``module:Class`` to ``citybrain stream --detector``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from citybrain.core.errors import UserError

ENTRY_POINT_GROUP = "citybrain.stream_detectors"


@dataclass(frozen=True)
class StreamBatch:
    """One committed load of a live source: its rows as landed."""

    system: str
    load_id: str
    table: pa.Table
    rows_quarantined: int = 0
    rows_missing: int = 0
    rows_repeated: int = 0  # landed again after a crash (at least once) and left out of ``table``


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
