"""Stream loss as a quality alert: counted from the manifests and from the sensors' cadence."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa

from citybrain.core.opsdb import upgrade
from citybrain.core.workspace import Workspace
from citybrain.govern.quality import quality_report, recent_alerts
from citybrain.govern.quality.stream_gaps import DIMENSION, cadence_gaps, stream_alerts
from citybrain.ingest import load_contract
from citybrain.ingest.connectors.base import Chunk
from citybrain.ingest.connectors.memory import MemoryReader, records_chunk
from citybrain.ingest.contract import StreamCadence
from citybrain.ingest.load import land_stream
from citybrain.ingest.manifest import Manifest

CONTRACT = """id: air_stream
name: 空气质量微站
owner: 区生态环境局
connector: {kind: mqtt, topic: 'air/#', sequence: msg_id,
            cadence: {sensor: sensor_id, time: observed_at, every_seconds: 3600}}
"""
START = datetime(2026, 1, 1)


def readings(hours: int, skip: set[tuple[str, int]]) -> list[dict[str, object]]:
    return [
        {"msg_id": i, "sensor_id": s, "observed_at": (START + timedelta(hours=h)).isoformat()}
        for i, (s, h) in enumerate((s, h) for h in range(hours) for s in ("A", "B"))
        if (s, h) not in skip
    ]


def test_cadence_counts_empty_slots_per_sensor_from_its_first_reading() -> None:
    rows = readings(10, {("A", 3), ("A", 4), ("B", 7)})
    rows += [{"sensor_id": "C", "observed_at": (START + timedelta(hours=8)).isoformat()}]
    rows.append(dict(rows[0]))  # a repeat counts once
    table = pa.Table.from_pylist(rows)
    cadence = StreamCadence(sensor="sensor_id", time="observed_at", every_seconds=3600)
    # hour 9 is the newest slot (still filling): A and B expect 9 each, C (from hour 8) one
    assert cadence_gaps(table, cadence) == (19, 3)


def land(workspace: Workspace, rows: list[dict[str, object]], missing: int, path: Path) -> Manifest:
    contract = load_contract(path)
    chunk: Chunk = records_chunk(rows, first_row=1)

    def mark(manifest: Manifest) -> None:
        manifest.rows_missing = missing
        manifest.missing_by_reason = {"sequence_gap": missing} if missing else {}

    return land_stream(
        workspace.lake, contract, lambda zone: MemoryReader("mqtt://x/air/#", [chunk]),
        before_commit=mark,
    )  # fmt: skip


def test_a_stream_that_lost_readings_raises_an_alert_naming_source_and_count(
    tmp_path: Path,
) -> None:
    workspace = Workspace.init(tmp_path / "ws", name="示例高新区")
    path = workspace.root / "sources" / "air_stream.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(CONTRACT, encoding="utf-8")
    assert stream_alerts(workspace) == []
    land(workspace, readings(6, set()), 0, path)
    assert stream_alerts(workspace) == []  # every slot filled, nothing missing
    land(workspace, readings(12, {("A", h) for h in range(6, 11)} | {("B", h) for h in range(6)}),
         5, path)  # fmt: skip
    [alert] = stream_alerts(workspace)
    assert (alert.system, alert.owner, alert.dimension, alert.value) == (
        "air_stream",
        "区生态环境局",
        DIMENSION,
        5.0,
    )
    assert "应收未收 5 条" in alert.zh and "5 readings expected but not received" in alert.en
    assert "5 by reporting cadence" in alert.en  # A missed hours 6-10
    upgrade(workspace.ops_db_url)
    report = quality_report(workspace, record=True)
    assert [a.dimension for a in report.alerts] == [DIMENSION]
    assert [a.value for a in recent_alerts(workspace.ops_db_url)] == [5.0]
