"""Stream loss (数据流缺失): readings a stream's source sent that never arrived, per source.

Two counts, each an alert for the owning department that names the source and the number:

- **at the broker** — the loads' manifests: ``rows_missing`` (sequence gaps, or the broker's own
  drop counter where no sequence is declared), plus the broker's drops and forgotten sessions;
- **by cadence** — where the contract declares ``connector.cadence`` (one reading per sensor every
  ``every_seconds``): per sensor, the reporting slots from its first reading to the stream's
  newest slot (that one excluded: it may still be filling) that hold no reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from citybrain.core.workspace import Workspace
from citybrain.govern.quality.model import Alert
from citybrain.govern.quality.stored import MeasureStore, basis
from citybrain.govern.standardize.sources import contracts_in
from citybrain.ingest import SourceContract, discover_sources
from citybrain.ingest.contract import MqttConnector, StreamCadence
from citybrain.ingest.manifest import Manifest
from citybrain.ingest.rawzone import RawZone

DIMENSION = "stream_loss"


@dataclass
class StreamLoss:
    """What one stream source lost, over all its loads."""

    system: str
    owner: str
    missing: int = 0  # expected but not received, as the loads' manifests count it
    by_reason: dict[str, int] = field(default_factory=dict)
    broker_dropped: int = 0
    sessions_lost: int = 0
    cadence_missing: int | None = None  # None: the contract declares no cadence
    cadence_expected: int = 0

    @property
    def lost(self) -> bool:
        counts = (self.missing, self.broker_dropped, self.sessions_lost, self.cadence_missing)
        return any(counts)


def manifest_loss(system: str, owner: str, manifests: Sequence[Manifest]) -> StreamLoss:
    loss = StreamLoss(system, owner)
    for m in manifests:
        if m.status != "completed":
            continue
        loss.missing += m.rows_missing
        for reason, n in m.missing_by_reason.items():
            loss.by_reason[reason] = loss.by_reason.get(reason, 0) + n
        if m.stream is not None:
            loss.broker_dropped += m.stream.broker_dropped
            loss.sessions_lost += int(m.stream.session_lost)
    return loss


def cadence_gaps(readings: pa.Table, cadence: StreamCadence) -> tuple[int, int]:
    """(slots expected, slots without a reading) over ``readings`` with the cadence's sensor and
    time columns; vectorised: one distinct (sensor, slot) pass, then a sum per sensor."""
    sensor, when = readings.column(cadence.sensor), readings.column(cadence.time)
    if not pa.types.is_timestamp(when.type):
        when = pc.cast(pc.cast(when, pa.string()), pa.timestamp("s"), safe=False)
    seconds = pc.cast(pc.cast(when, pa.timestamp("s")), pa.int64())
    slot = pc.divide(seconds, cadence.every_seconds)  # integer division on int64
    cells = pa.table({"sensor": pc.cast(sensor, pa.string()), "slot": slot}).drop_null()
    if cells.num_rows == 0:
        return 0, 0
    newest = pc.max(cells.column("slot")).as_py()
    cells = cells.filter(pc.less(cells.column("slot"), newest))
    cells = cells.group_by(["sensor", "slot"]).aggregate([])  # distinct: repeats count once
    per_sensor = cells.group_by("sensor").aggregate([("slot", "min"), ("slot", "count")])
    expected = pc.sum(pc.subtract(newest, per_sensor.column("slot_min"))).as_py() or 0
    received = pc.sum(per_sensor.column("slot_count")).as_py() or 0
    return int(expected), int(expected - received)


def _landed_parts(zone: RawZone) -> list[str]:
    return [
        str(part)
        for m in zone.manifests()
        if m.status == "completed" and m.raw_path and m.rows_landed
        for part in (sorted(Path(m.raw_path).glob("*.parquet")) or [Path(m.raw_path)])
    ]


def _landed(paths: list[str], cadence: StreamCadence) -> pa.Table | None:
    if not paths:
        return None
    dataset = ds.dataset(paths, format="parquet")
    if {cadence.sensor, cadence.time} - set(dataset.schema.names):
        return None
    return dataset.to_table(columns=[cadence.sensor, cadence.time])


def _size_and_time(path: str) -> tuple[int, int]:
    stat = Path(path).stat()
    return stat.st_size, stat.st_mtime_ns


def _cadence_figures(paths: list[str], cadence: StreamCadence) -> tuple[int, int] | None:
    readings = _landed(paths, cadence)
    return None if readings is None else cadence_gaps(readings, cadence)


def stream_loss(
    workspace: Workspace, contract: SourceContract, stored: MeasureStore | None = None
) -> StreamLoss:
    """What a stream source lost; with ``stored``, the cadence gaps of landed readings that did
    not change since they were kept are not counted again."""
    zone = RawZone(workspace.lake, contract.id)
    loss = manifest_loss(contract.id, contract.owner, zone.manifests())
    connector = contract.connector
    if isinstance(connector, MqttConnector) and connector.cadence is not None:
        cadence, paths = connector.cadence, _landed_parts(zone)
        files = [(path, *_size_and_time(path)) for path in paths]
        inputs = basis(cadence.model_dump(mode="json"), files)
        figures = (stored or MeasureStore()).remember(
            f"stream:{contract.id}", inputs, lambda: _cadence_figures(paths, cadence)
        )
        if figures is not None:
            loss.cadence_expected, loss.cadence_missing = figures
    return loss


def stream_alerts(
    workspace: Workspace,
    *,
    only: str | None = None,
    stored: MeasureStore | None = None,
    contracts: list[SourceContract] | None = None,
) -> list[Alert]:
    """An alert per stream source (or for ``only``) that lost readings, for its owner.
    ``contracts``: the workspace's, when the caller has read them already."""
    if contracts is None:
        contracts = contracts_in(discover_sources(workspace))
    alerts: list[Alert] = []
    for contract in contracts:
        if not isinstance(contract.connector, MqttConnector) or only not in (None, contract.id):
            continue
        loss = stream_loss(workspace, contract, stored)
        if loss.lost:
            alerts.append(alert_for(loss))
    return alerts


def alert_for(loss: StreamLoss) -> Alert:
    missing = max(loss.missing, loss.cadence_missing or 0)
    parts_zh = [f"应收未收 {missing:,} 条"]
    parts_en = [f"{missing:,} readings expected but not received"]
    if loss.by_reason.get("sequence_gap"):
        parts_zh.append(f"序号跳号 {loss.by_reason['sequence_gap']:,} 条")
        parts_en.append(f"{loss.by_reason['sequence_gap']:,} by sequence gaps")
    if loss.cadence_missing:
        parts_zh.append(f"按上报频率缺 {loss.cadence_missing:,} 条")
        parts_en.append(f"{loss.cadence_missing:,} by reporting cadence")
    if loss.broker_dropped:
        parts_zh.append(f"消息代理报告丢弃 {loss.broker_dropped:,} 条")
        parts_en.append(f"the broker reports {loss.broker_dropped:,} dropped")
    if loss.sessions_lost:
        parts_zh.append(f"代理丢失订阅会话 {loss.sessions_lost} 次")
        parts_en.append(f"the broker lost our session {loss.sessions_lost} time(s)")
    return Alert(
        loss.system, loss.owner, "critical", DIMENSION, float(missing), 0.0,
        f"{loss.system} 数据流缺失：" + "；".join(parts_zh),
        f"{loss.system} stream loss: " + "; ".join(parts_en),
    )  # fmt: skip
