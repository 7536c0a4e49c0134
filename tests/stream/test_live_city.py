"""The live city on Debian's Mosquitto: muck-truck pings published as the sim publishes them land
through the live contract, reach the muck-truck detector, and its alert is at once a live event,
a live finding and a case routed to the department; a consumer killed after a batch committed but
before it was acknowledged gets the batch again, lands it once and counts it once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from citybrain.api.live import StreamEvents
from citybrain.cases import department_hints
from citybrain.cases.opsdb_models import Case
from citybrain.core.opsdb import connect, session, upgrade
from citybrain.core.workspace import Workspace
from citybrain.ingest import SourceContract, load_contract
from citybrain.ingest.manifest import Manifest
from citybrain.ingest.rawzone import RawZone
from citybrain.ingest.streams import load_mqtt
from citybrain.sim.mqtt import LIVE_SYSTEMS, publish
from citybrain.stream.detectors.bike_positions import BikePositionDetector
from citybrain.stream.detectors.muck_trucks import MuckTruckDetector
from citybrain.stream.findings import LiveFindings, live_findings_table
from citybrain.stream.livesources import MUCK_TRUCK_SOURCE, live_contracts, write_live_sources
from citybrain.stream.runner import StreamRunner
from citybrain.stream.store import StreamStore
from citybrain.topics.builtin.muck_trucks.topic import MuckTrucks

if TYPE_CHECKING:
    from fixtures.mqtt import MqttBroker

pytestmark = pytest.mark.mqtt
PLATE = "川A12345"
DEPARTMENT = "区综合行政执法局（城管）"


class Killed(BaseException):
    """The consumer dies here: after the batch committed, before its acknowledgement."""


def pings(first: int, n: int, start: datetime) -> pa.RecordBatch:
    """``n`` pings of one loaded truck driving north at ~24 km/h, one every 2 minutes, as the
    city's GPS delivers them (epoch milliseconds, UTC)."""
    times = [start + timedelta(minutes=2 * i) for i in range(first, first + n)]
    return pa.RecordBatch.from_pydict(
        {
            "gps_id": pa.array(range(first, first + n), pa.int64()),
            "vehicle_no": [PLATE] * n,
            "gps_time": [int(t.timestamp() * 1000) for t in times],
            "lng": [104.05] * n,
            "lat": [30.55 + 0.0072 * i for i in range(first, first + n)],  # 800 m per 2 min
            "speed": [24.0] * n,
            "direction": [0] * n,
            "acc": [1] * n,
            "load_status": [1] * n,
        }
    )


def send(broker: MqttBroker, batch: pa.RecordBatch, prefix: str) -> int:
    live = LIVE_SYSTEMS["muck_truck_gps"]
    who = f"pub-{time.monotonic_ns()}"
    return publish([batch], broker.host, broker.port, topic_prefix=prefix,
                   sensor_column=live.device_column, client_id=who)  # fmt: skip


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def workspace(tmp_path: Path, mqtt_broker: MqttBroker) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    upgrade(ws.ops_db_url)
    write_live_sources(ws.root / "sources", mqtt_broker.host, mqtt_broker.port)
    return ws


def truck_contract(ws: Workspace, prefix: str) -> SourceContract:
    """The shipped live contract on a topic of this test's own (the broker is shared)."""
    contract = load_contract(ws.root / "sources" / f"{MUCK_TRUCK_SOURCE}.yaml")
    connector = contract.connector.model_copy(
        update={"topic": f"{prefix}/#", "batch_rows": 10, "batch_seconds": 0.2}
    )
    return contract.model_copy(update={"connector": connector})


def test_the_sim_streams_what_the_live_contracts_subscribe_to(tmp_path: Path) -> None:
    written = write_live_sources(tmp_path, "broker.example", 1884)
    assert [p.name for p in written] == [p.name for p in live_contracts()]
    topics = {load_contract(p).connector.topic for p in written}  # type: ignore[union-attr]
    assert topics == {f"{s.topic_prefix}/#" for s in LIVE_SYSTEMS.values()}
    assert {MuckTruckDetector().sources[0], BikePositionDetector().sources[0]} == {
        load_contract(p).id for p in written
    }


def test_pings_become_an_alert_a_live_finding_and_a_case_once_across_a_kill(
    workspace: Workspace, mqtt_broker: MqttBroker
) -> None:
    prefix = f"cblive/{time.monotonic_ns()}"
    contract = truck_contract(workspace, prefix)
    lake = workspace.lake
    ops = connect(workspace.ops_db_url)
    store = StreamStore(ops)
    # the muck-truck topic's own routing hint (all installed topics' would take seconds to import)
    findings = LiveFindings(workspace, ops, hints=department_hints([MuckTrucks()]))

    def consume(until: Callable[[StreamRunner], bool]) -> StreamRunner:
        runner = StreamRunner(
            workspace, [contract], [MuckTruckDetector()], store=store, findings=findings
        )
        stop = threading.Event()
        consumer = threading.Thread(target=runner.run, args=(stop,))
        consumer.start()
        try:
            wait_for(lambda: runner.status.ready and until(runner), 60, "the consumer")
        finally:
            stop.set()
            consumer.join(30)
        assert not consumer.is_alive() and not runner.status.errors
        return runner

    # The consumer has run before: its durable session and the detector's state exist.
    consume(lambda runner: True)
    # 10:00 in the city (+08:00): outside the city's 22:00-06:00 hours for muck trucks.
    start = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)
    sent = send(mqtt_broker, pings(0, 10, start), prefix)

    # 1. Killed after the first batch committed, before the broker had its acknowledgement.
    def die(manifest: Manifest) -> None:
        raise Killed(manifest.load_id)

    with pytest.raises(Killed):
        load_mqtt(lake, contract, on_load=die, max_seconds=20)
    first = RawZone(lake, contract.id).manifests()
    assert [m.rows_landed for m in first] == [10]

    # 2. Restarted with the detector, its findings and cases: the committed batch is taken in
    # from the raw zone, the broker's second delivery of it is acknowledged, not landed again.
    def landed_and_sent(runner: StreamRunner) -> bool:
        nonlocal sent
        if sent == 10 and runner.status.sources[contract.id].repeated == 10:
            sent += send(mqtt_broker, pings(10, 10, start), prefix)
        return runner.status.total("landed") >= 10

    consume(landed_and_sent)

    zone = RawZone(lake, contract.id)
    landed = [
        v for m in zone.manifests() if m.raw_path and m.rows_landed
        for v in pq.read_table(m.raw_path).column("gps_id").to_pylist()
    ]  # fmt: skip
    assert sorted(map(int, landed)) == list(range(sent)) and sent == 20  # once each
    saved = store.load("muck_trucks")
    assert saved is not None and saved.state["counts"]["received"] == sent
    assert saved.state["counts"]["repeated"] == 0

    events = StreamEvents(ops).fetch(0, 1000)
    alerts = [e for e in events if e.type == "truck.violation"]
    assert [(e.data["plate"], e.data["kind"], e.data["day"]) for e in alerts] == [
        (PLATE, "outside_hours", "2024-06-03")
    ]
    assert {e.data["plate"] for e in events if e.type == "vehicle.position"} == {PLATE}

    with workspace.engine() as engine:
        stored = engine.to_arrow(engine.table("topic", live_findings_table("muck_trucks")))
    assert stored.column("subject_id").to_pylist() == [PLATE]
    assert stored.column("period").to_pylist() == ["2024-06-03"]
    assert "准运时段外" in stored.column("reasons")[0][0]["text_zh"].as_py()

    with session(ops) as db:
        cases = list(db.scalars(select(Case).where(Case.topic == "muck_trucks")))
    assert [(c.subject_id, c.department) for c in cases] == [(PLATE, DEPARTMENT)]


def test_sim_replays_a_live_systems_newest_hours_in_time_order(tmp_path: Path) -> None:
    from citybrain.sim.mqtt import live_rows

    folder = tmp_path / "muck_truck_gps"
    folder.mkdir()
    hour = 3_600_000
    old = pa.table({"vehicle_no": ["A"], "gps_time": [0]})
    new = pa.table({"vehicle_no": ["B", "A", "C", "B"], "gps_time": [5 * hour, 9 * hour, 8 * hour,
                                                                    2 * hour]})  # fmt: skip
    pq.write_table(old, folder / "gps_2024-01.parquet")
    pq.write_table(new, folder / "gps_2024-02.parquet")
    live = LIVE_SYSTEMS["muck_truck_gps"]
    recent = pa.Table.from_batches(list(live_rows(folder, live, 4.5, None)))
    assert recent.column("gps_time").to_pylist() == [5 * hour, 8 * hour, 9 * hour]
    everything = pa.Table.from_batches(list(live_rows(folder, live, None, 3)))
    assert everything.column("vehicle_no").to_pylist() == ["A", "B", "A"]  # files in order, limit
