"""Flow control against the real Mosquitto: a backlog larger than the consumer's queue is drained
completely, every message landed once, the queue never above its bound and no pause between
loads — Mosquitto 2.0.11 pushes a whole backlog at a subscriber once acknowledgements flow, so the
bound is ours (reading stops while the queue is full) and the consumer never waits for the
broker's answer to an acknowledgement while messages wait for it."""

from __future__ import annotations

import threading
import time
import uuid
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from citybrain.core.workspace import Workspace
from citybrain.ingest.manifest import Manifest
from citybrain.ingest.streams import MqttRun, load_mqtt
from citybrain.sim.mqtt import air_quality_stream, publish
from ingest._helpers import MakeContract

if TYPE_CHECKING:
    from fixtures.mqtt import MqttBroker

pytestmark = pytest.mark.mqtt
QUEUE = 200


def test_a_backlog_larger_than_the_queue_drains_once_without_a_stall(
    workspace: Workspace, make_contract: MakeContract, mqtt_broker: MqttBroker
) -> None:
    prefix = f"cbflow/{uuid.uuid4().hex[:8]}"
    contract = make_contract(
        f"kind: mqtt\nhost: {mqtt_broker.host}\nport: {mqtt_broker.port}\ntopic: '{prefix}/#'\n"
        "batch_rows: 100\nbatch_seconds: 0.2\nsequence: msg_id",
        system="air_" + prefix.rsplit("/", 1)[-1],
        mapping="",
    )
    assert load_mqtt(workspace.lake, contract, max_seconds=0.3).ok  # the durable session
    sent = publish(
        air_quality_stream(3, sensors=20, steps=60, first_message=1), mqtt_broker.host,
        mqtt_broker.port, topic_prefix=prefix, client_id=f"pub-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip
    assert sent == 1200  # waiting at the broker: six times the queue

    run = MqttRun()
    landed_at: list[float] = []
    peak, pauses, lean = [0], [0], [False]
    done = threading.Event()

    def on_load(manifest: Manifest) -> None:
        landed_at.append(time.monotonic())
        time.sleep(0.05)  # landing slower than receiving: the queue fills

    def watch() -> None:
        while not done.is_set():
            sub = run.subscriber
            if sub is not None:
                peak[0] = max(peak[0], sub.waiting)
                pauses[0], lean[0] = sub.pauses, sub.lean
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    began = time.monotonic()
    try:
        load_mqtt(
            workspace.lake, contract, max_messages=sent, max_seconds=60, on_load=on_load,
            max_batch_rows=200, run=run, queue_max=QUEUE,
        )  # fmt: skip
    finally:
        done.set()
        watcher.join()
    assert run.ok, run.error
    assert run.messages == sent
    assert 0 < peak[0] <= QUEUE and pauses[0] > 0  # reading stopped while the queue was full
    assert lean[0]  # read in 64 KiB chunks: packets split across chunks, each landed once
    gaps = [b - a for a, b in zip([began, *landed_at], landed_at, strict=False)]
    assert max(gaps) < 5.0, gaps  # never stood still
    tables = [pq.read_table(m.raw_path) for m in run.manifests if m.raw_path and m.rows_landed]
    ids = pa.concat_tables(tables).column("msg_id").to_pylist()
    assert sorted(int(i) for i in ids) == list(range(1, sent + 1))  # every one, once
    again = load_mqtt(workspace.lake, contract, max_seconds=0.5)
    assert again.ok and again.messages == 0  # all acknowledged
