"""The MQTT connector when the broker or the consumer fails, on Debian's Mosquitto: the broker
restarted mid-stream, the consumer killed mid-batch, a consumer slower than its publisher, the
broker's queue limit hit on purpose. Each test counts: nothing is lost, or the loss is detected,
counted in the manifests ("expected but not received") and warned about — never silent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from citybrain.core.workspace import Workspace
from citybrain.ingest import SourceContract
from citybrain.ingest.manifest import Manifest
from citybrain.ingest.rawzone import RawZone
from citybrain.ingest.streams import MqttRun, load_mqtt
from citybrain.sim.mqtt import air_quality_stream, publish
from ingest._helpers import MakeContract

if TYPE_CHECKING:
    from fixtures.mqtt import Mosquitto, MqttBroker

pytestmark = pytest.mark.mqtt
OwnBroker = Callable[[str], "Mosquitto"]


def contract_for(
    make_contract: MakeContract, broker: MqttBroker, prefix: str, *, sequence: bool = True,
    batch_rows: int = 100, batch_seconds: float = 0.5,
) -> SourceContract:  # fmt: skip
    seq = "\nsequence: msg_id" if sequence else ""
    return make_contract(
        f"kind: mqtt\nhost: {broker.host}\nport: {broker.port}\ntopic: '{prefix}/#'\n"
        f"batch_rows: {batch_rows}\nbatch_seconds: {batch_seconds}{seq}",
        system="air_" + prefix.rsplit("/", 1)[-1],
        mapping="",
    )


def send(broker: MqttBroker, prefix: str, first: int, count: int) -> int:
    """Publish ``count`` readings numbered from ``first`` (QoS 1, each acknowledged)."""
    stream = air_quality_stream(first, sensors=count, steps=1, first_message=first)  # one batch
    return publish(stream, broker.host, broker.port, topic_prefix=prefix,
                   client_id=f"pub-{uuid.uuid4().hex[:6]}")  # fmt: skip


def landed_ids(workspace: Workspace, system: str) -> list[int]:
    zone = RawZone(workspace.lake, system)
    tables = [pq.read_table(m.raw_path) for m in zone.manifests() if m.raw_path and m.rows_landed]
    if not tables:
        return []
    return [int(v) for v in pa.concat_tables(tables).column("msg_id").to_pylist()]


def manifests(workspace: Workspace, system: str) -> list[Manifest]:
    return RawZone(workspace.lake, system).manifests()


@pytest.fixture
def prefix() -> str:
    return f"cbfault/{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("sequence", [True, False], ids=["sequence", "broker-counter"])
def test_queue_limit_hit_the_loss_is_counted_and_warned(
    workspace: Workspace, make_contract: MakeContract, own_mosquitto: OwnBroker, prefix: str,
    sequence: bool,
) -> None:  # fmt: skip
    broker = own_mosquitto("persistence false\nmax_queued_messages 50")
    contract = contract_for(make_contract, broker.broker, prefix, sequence=sequence)
    assert load_mqtt(workspace.lake, contract, max_seconds=0.3).ok  # the durable session
    sent = send(broker.broker, prefix, 0, 500)  # the consumer is away; the queue holds 50
    time.sleep(1.5)  # sys_interval 1: the broker publishes its dropped counter
    first = load_mqtt(workspace.lake, contract, idle_seconds=1.0, max_seconds=20)
    assert first.ok, first.error
    assert first.rows_landed == 50
    stream = first.manifests[-1].stream
    assert stream is not None and stream.broker_dropped == sent - 50 == 450
    assert any("450 messages dropped" in w for w in first.manifests[-1].warnings)
    if not sequence:  # the broker's count is all there is to go by
        assert sum(m.rows_missing for m in first.manifests) == 450
        return
    # The sequence sees the gap once the next message arrives, and counts it exactly.
    sent += send(broker.broker, prefix, 500, 10)
    second = load_mqtt(workspace.lake, contract, idle_seconds=1.0, max_seconds=20)
    assert second.rows_landed == 10
    all_loads = manifests(workspace, contract.id)
    missing = sum(m.rows_missing for m in all_loads)
    assert missing == 450 and {k for m in all_loads for k in m.missing_by_reason} == {
        "sequence_gap"
    }
    assert sent == len(landed_ids(workspace, contract.id)) + missing == 510


def test_broker_restarted_mid_stream_with_persistence_loses_nothing(
    workspace: Workspace, make_contract: MakeContract, own_mosquitto: OwnBroker, prefix: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    store = tmp_path / "store"
    store.mkdir()
    broker = own_mosquitto(
        f"persistence true\npersistence_location {store}/\nmax_queued_messages 100000"
    )
    contract = contract_for(make_contract, broker.broker, prefix, batch_rows=50)
    assert load_mqtt(workspace.lake, contract, max_seconds=0.3).ok
    runs: list[MqttRun] = []
    stop = threading.Event()
    consumer = threading.Thread(
        target=lambda: runs.append(load_mqtt(workspace.lake, contract, stop=stop))
    )
    consumer.start()
    sent = send(broker.broker, prefix, 0, 300)
    broker.restart()  # SIGTERM mid-stream: the store is saved; the consumer reconnects
    sent += send(broker.broker, prefix, 300, 200)
    deadline = time.monotonic() + 20
    while len(set(landed_ids(workspace, contract.id))) < sent and time.monotonic() < deadline:
        if not consumer.is_alive():  # an ack lost in the restart ends a run: start another
            consumer = threading.Thread(
                target=lambda: runs.append(load_mqtt(workspace.lake, contract, stop=stop))
            )
            consumer.start()
        time.sleep(0.2)
    stop.set()
    consumer.join(20)
    ids = landed_ids(workspace, contract.id)
    assert set(ids) == set(range(sent)) and sent == 500  # every reading landed
    loads = manifests(workspace, contract.id)
    assert sum(m.rows_missing for m in loads) == 0
    assert not any(m.stream and m.stream.session_lost for m in loads)


def test_broker_restarted_without_persistence_the_loss_is_detected(
    workspace: Workspace, make_contract: MakeContract, own_mosquitto: OwnBroker, prefix: str
) -> None:
    broker = own_mosquitto("persistence false\nmax_queued_messages 100000")
    contract = contract_for(make_contract, broker.broker, prefix)
    assert load_mqtt(workspace.lake, contract, max_seconds=0.3).ok
    sent = send(broker.broker, prefix, 0, 100)
    assert load_mqtt(workspace.lake, contract, idle_seconds=1.0, max_seconds=20).rows_landed == 100
    sent += send(broker.broker, prefix, 100, 300)  # queued for us, then the broker restarts
    broker.restart()
    rejoin = load_mqtt(workspace.lake, contract, idle_seconds=1.0, max_seconds=20)
    assert rejoin.ok and rejoin.rows_landed == 0
    assert rejoin.manifests and rejoin.manifests[0].stream is not None
    assert rejoin.manifests[0].stream.session_lost  # said at once, before any count is known
    sent += send(broker.broker, prefix, 400, 100)
    after = load_mqtt(workspace.lake, contract, idle_seconds=1.0, max_seconds=20)
    assert after.rows_landed == 100
    missing = sum(m.rows_missing for m in manifests(workspace, contract.id))
    assert missing == 300
    assert sent == len(landed_ids(workspace, contract.id)) + missing == 500


CONSUMER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from citybrain.ingest import load_contract
    from citybrain.ingest.streams import load_mqtt
    load_mqtt(Path(sys.argv[1]), load_contract(Path(sys.argv[2])))
    """
)


def test_consumer_killed_mid_batch_and_restarted_loses_nothing(
    workspace: Workspace, make_contract: MakeContract, mqtt_broker: MqttBroker, prefix: str,
    source_dir: Path,
) -> None:  # fmt: skip
    contract = contract_for(make_contract, mqtt_broker, prefix, batch_rows=200, batch_seconds=60)
    assert load_mqtt(workspace.lake, contract, max_seconds=0.3).ok
    path = source_dir / f"{contract.id}.yaml"  # as make_contract wrote it
    sent = send(mqtt_broker, prefix, 0, 500)  # 200 + 200 land; 100 wait in an open batch
    proc = subprocess.Popen(
        [sys.executable, "-c", CONSUMER, str(workspace.lake), str(path)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 30
        while len(RawZone(workspace.lake, contract.id).partitions()) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "consumer did not land"
            time.sleep(0.05)
        time.sleep(0.5)  # the last 100 are in its hands, neither landed nor acknowledged
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert len(landed_ids(workspace, contract.id)) == 400
    again = load_mqtt(workspace.lake, contract, max_messages=100, max_seconds=20)
    assert again.rows_landed == 100
    ids = landed_ids(workspace, contract.id)
    assert sorted(ids) == list(range(sent))  # each once: nothing lost, nothing twice
    assert sum(m.rows_missing for m in manifests(workspace, contract.id)) == 0


def test_consumer_slower_than_its_publisher_loses_nothing(
    workspace: Workspace, make_contract: MakeContract, own_mosquitto: OwnBroker, prefix: str
) -> None:
    # Mosquitto's default queue limits: what the consumer has not acknowledged waits in flight.
    broker = own_mosquitto("persistence false")
    contract = contract_for(make_contract, broker.broker, prefix, batch_rows=200)
    assert load_mqtt(workspace.lake, contract, max_seconds=0.3).ok
    stop = threading.Event()
    runs: list[MqttRun] = []

    def slow(_manifest: Manifest) -> None:
        time.sleep(0.3)  # 200 rows per 0.3 s: far behind the publisher

    consumer = threading.Thread(
        target=lambda: runs.append(load_mqtt(workspace.lake, contract, on_load=slow, stop=stop))
    )
    consumer.start()
    began = time.monotonic()
    sent = send(broker.broker, prefix, 0, 3000)
    published_in = time.monotonic() - began
    deadline = time.monotonic() + 30
    while len(landed_ids(workspace, contract.id)) < sent and time.monotonic() < deadline:
        time.sleep(0.2)
    landing_took = time.monotonic() - began
    stop.set()
    consumer.join(20)
    assert runs and runs[0].ok, runs and runs[0].error
    assert landing_took > 2 * published_in  # it really was slower
    assert sorted(landed_ids(workspace, contract.id)) == list(range(sent))
    loads = manifests(workspace, contract.id)
    assert sum(m.rows_missing for m in loads) == 0
    assert all(m.stream is None or m.stream.broker_dropped == 0 for m in loads)
