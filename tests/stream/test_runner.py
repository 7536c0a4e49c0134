"""The stream consumer on Debian's Mosquitto: published readings land in the raw zone, reach an
incremental detector (a per-sensor counter defined here) and show on the live feed as the API
reads it; a consumer SIGKILLed with a batch open, or after a batch committed but before its
detector finished, restarts with no reading lost or counted twice and the detector's state intact.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from citybrain.api.live import StreamEvents
from citybrain.core.opsdb import connect, upgrade
from citybrain.core.workspace import Workspace
from citybrain.ingest import SourceContract, load_contract
from citybrain.ingest.rawzone import RawZone
from citybrain.sim.mqtt import air_quality_stream, publish
from citybrain.stream.runner import StreamRunner
from citybrain.stream.store import StreamStore

if TYPE_CHECKING:
    from fixtures.mqtt import MqttBroker

pytestmark = pytest.mark.mqtt
SENSORS = 10

DETECTOR = textwrap.dedent(
    '''
    """A test detector: readings counted per sensor; it can be held inside a batch to be killed."""
    import os
    import time
    from pathlib import Path


    class SensorCount:
        name = "sensor_count"
        sources = (os.environ["CB_TEST_SYSTEM"],)

        def initial_state(self):
            return {"per_sensor": {}, "messages": []}

        def process(self, batch, state):
            hold = Path(os.environ.get("CB_TEST_HOLD", "/nonexistent"))
            if batch.table.num_rows and hold.exists():  # killed in here: after commit, before save
                hold.unlink()
                (hold.parent / "holding").write_text(batch.load_id)
                time.sleep(120)
            if not batch.table.num_rows:
                return []
            counts = state["per_sensor"]
            for sensor in batch.table.column("sensor_id").to_pylist():
                counts[sensor] = counts.get(sensor, 0) + 1
            state["messages"].extend(batch.table.column("msg_id").to_pylist())
            from citybrain.stream.detector import StreamEvent
            return [StreamEvent("sensor.count", {"rows": batch.table.num_rows})]
    '''
)


@pytest.fixture
def system() -> str:
    return f"air_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def detector_module(tmp_path: Path, system: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "detectors"
    folder.mkdir()
    (folder / "cb_test_detector.py").write_text(DETECTOR, encoding="utf-8")
    monkeypatch.setenv("CB_TEST_SYSTEM", system)
    return folder


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    upgrade(ws.ops_db_url)
    return ws


def write_contract(ws: Workspace, broker: MqttBroker, system: str, **batch: Any) -> SourceContract:
    rows, seconds = batch.get("rows", 100), batch.get("seconds", 0.3)
    path = ws.root / "sources" / f"{system}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        f"id: {system}\nname: 空气质量监测\nowner: 市生态环境局\nconnector:\n  kind: mqtt\n"
        f"  host: {broker.host}\n  port: {broker.port}\n  topic: 'cbstream/{system}/#'\n"
        f"  batch_rows: {rows}\n  batch_seconds: {seconds}\n  sequence: msg_id\n",
        encoding="utf-8",
    )
    return load_contract(path)


def send(broker: MqttBroker, system: str, first: int, steps: int) -> int:
    """``steps`` readings of each of the ten sensors, numbered from ``first`` (QoS 1)."""
    stream = air_quality_stream(first, sensors=SENSORS, steps=steps, first_message=first)
    return publish(stream, broker.host, broker.port, topic_prefix=f"cbstream/{system}",
                   client_id=f"pub-{uuid.uuid4().hex[:6]}")  # fmt: skip


def raw_ids(ws: Workspace, system: str) -> list[int]:
    zone = RawZone(ws.lake, system)
    tables = [pq.read_table(m.raw_path) for m in zone.manifests() if m.raw_path and m.rows_landed]
    return [int(v) for v in pa.concat_tables(tables).column("msg_id").to_pylist()] if tables else []


def load_detector(folder: Path) -> Any:
    spec = importlib.util.spec_from_file_location(
        "cb_test_detector", folder / "cb_test_detector.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SensorCount()


def wait_for(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_published_readings_land_reach_the_detector_and_the_live_feed(
    workspace: Workspace, mqtt_broker: MqttBroker, system: str, detector_module: Path
) -> None:
    contract = write_contract(workspace, mqtt_broker, system, rows=100, seconds=0.3)
    store = StreamStore(connect(workspace.ops_db_url))
    runner = StreamRunner(workspace, [contract], [load_detector(detector_module)], store=store)
    stop = threading.Event()
    consumer = threading.Thread(target=runner.run, args=(stop,))
    consumer.start()
    try:
        wait_for(lambda: runner.status.ready, 20, "the subscription")
        sent = send(mqtt_broker, system, 0, 30)
        wait_for(lambda: runner.status.total("landed") >= sent, 30, "the readings to land")
    finally:
        stop.set()
        consumer.join(30)
    assert not consumer.is_alive()
    assert sorted(raw_ids(workspace, system)) == list(range(sent)) and sent == 300
    saved = store.load("sensor_count")
    assert saved is not None
    assert saved.state["per_sensor"] == {f"AQ{i:04d}": 30 for i in range(SENSORS)}
    # The live feed as every API process reads it (the bus source "stream"), from the ops DB.
    events = StreamEvents(store.ops_engine).fetch(0, 1000)
    batches = [e for e in events if e.type == "stream.batch"]
    assert sum(e.data["rows_landed"] for e in batches) == sent
    assert {e.data["system"] for e in batches} == {system}
    assert sum(e.data["rows"] for e in events if e.type == "sensor.count") == sent
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert (workspace.root / "stream" / "status.txt").read_text().count(f"received={sent}\n") == 1


def start_cli(
    ws: Workspace, folder: Path, env: dict[str, str], *args: str
) -> subprocess.Popen[bytes]:
    path = os.pathsep.join([str(folder), *sys.path])
    log = (ws.root / "stream.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "citybrain", "-w", str(ws.root), "stream",
         "--detector", "cb_test_detector:SensorCount", *args],
        env={**os.environ, **env, "PYTHONPATH": path}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def subscribed(ws: Workspace, proc: subprocess.Popen[bytes]) -> bool:
    now = status(ws)
    assert proc.poll() is None, (ws.root / "stream.log").read_text()
    return now.get("ready") == "1" and now.get("pid") == str(proc.pid)


def status(ws: Workspace) -> dict[str, str]:
    path = ws.root / "stream" / "status.txt"
    if not path.is_file():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_consumer_killed_mid_batch_and_in_its_detector_restarts_without_loss_or_repeat(
    workspace: Workspace, mqtt_broker: MqttBroker, system: str, detector_module: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    write_contract(workspace, mqtt_broker, system)
    hold = tmp_path / "hold"
    env = {"CB_TEST_SYSTEM": system, "CB_TEST_HOLD": str(hold)}
    store = StreamStore(connect(workspace.ops_db_url))

    def counted() -> int:
        saved = store.load("sensor_count")
        return sum(saved.state["per_sensor"].values()) if saved else 0

    # 1. Killed with a batch open: 200 + 200 land and are counted; 100 are in its hands.
    proc = start_cli(workspace, detector_module, env, "--batch-rows", "200", "--max-wait", "60",
                     "--max-batch-rows", "0")  # fmt: skip  # exactly 200 a batch
    try:
        wait_for(lambda: subscribed(workspace, proc), 90, "the consumer to subscribe")
        sent = send(mqtt_broker, system, 0, 50)
        wait_for(lambda: counted() == 400, 60, "two batches counted")
        time.sleep(0.5)
    finally:
        kill(proc)
    assert sorted(raw_ids(workspace, system)) == list(range(400))

    # 2. Killed inside the detector: the redelivered 100 are landed (committed), not yet counted.
    hold.touch()
    proc = start_cli(workspace, detector_module, env, "--max-wait", "0.3")
    try:
        wait_for(lambda: (tmp_path / "holding").exists(), 90, "the detector to hold a batch")
    finally:
        kill(proc)
    assert sorted(raw_ids(workspace, system)) == list(range(sent)) and counted() == 400

    # 3. Restarted: the committed batch is counted from the raw zone; the broker delivers it again
    # (never acknowledged): it is acknowledged without landing again, and counted once.
    proc = start_cli(workspace, detector_module, env, "--max-wait", "0.3")
    try:
        wait_for(lambda: subscribed(workspace, proc), 90, "the consumer to subscribe")
        sent += send(mqtt_broker, system, 500, 5)
        wait_for(lambda: counted() == sent, 60, "every reading counted")
        time.sleep(1.0)  # anything counted twice would show now
    finally:
        proc.send_signal(signal.SIGTERM)  # a clean stop
        assert proc.wait(60) == 0, (workspace.root / "stream.log").read_text()
    saved = store.load("sensor_count")
    assert saved is not None
    assert sorted(map(int, saved.state["messages"])) == list(range(sent)) and sent == 550
    assert saved.state["per_sensor"] == {f"AQ{i:04d}": 55 for i in range(SENSORS)}
    ids = raw_ids(workspace, system)
    assert sorted(ids) == list(range(sent))  # the 100 sent again were not landed a second time
    loads = RawZone(workspace.lake, system).manifests()
    assert sum(m.stream.redelivered for m in loads if m.stream) == 100
    feed = [e for e in StreamEvents(store.ops_engine).fetch(0, 1000) if e.type == "stream.batch"]
    assert sum(e.data["rows_repeated"] for e in feed) == 100
    assert sum(e.data["rows_landed"] for e in feed) == len(ids)
