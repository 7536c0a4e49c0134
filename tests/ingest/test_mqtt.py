"""The MQTT connector against the real Mosquitto: durable session, micro-batches, every message
counted (landed + quarantined == published), acknowledged only once landed."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import paho.mqtt.client as paho
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from citybrain.core.workspace import Workspace
from citybrain.ingest import SourceContract
from citybrain.ingest.streams import MqttRun, load_mqtt
from citybrain.sim.mqtt import air_quality_stream, publish
from ingest._helpers import MakeContract

if TYPE_CHECKING:
    from fixtures.mqtt import MqttBroker

pytestmark = pytest.mark.mqtt
BAD = [b"{not json", b'{"sensor_id": "AQ9999", ', b"[1, 2, 3]", b"\xff\xfe"]


def mqtt_contract(
    make_contract: MakeContract, broker: MqttBroker, prefix: str, batch_rows: int = 500
) -> SourceContract:
    return make_contract(
        f"kind: mqtt\nhost: {broker.host}\nport: {broker.port}\ntopic: '{prefix}/#'\n"
        f"batch_rows: {batch_rows}\nbatch_seconds: 2",
        system="air_" + prefix.rsplit("/", 1)[-1],
        mapping="",
    )


def publish_bad(broker: MqttBroker, topic: str, payloads: list[bytes]) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bad-{uuid.uuid4().hex[:6]}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def landed_keys(run: MqttRun) -> list[tuple[str, str]]:
    tables = [pq.read_table(m.raw_path) for m in run.manifests if m.raw_path and m.rows_landed]
    table = pa.concat_tables(tables)
    sensors = table.column("sensor_id").to_pylist()
    return list(zip(sensors, table.column("observed_at").to_pylist(), strict=True))


@pytest.fixture
def prefix() -> str:
    return f"cbtest/{uuid.uuid4().hex[:8]}"


def test_messages_published_while_down_all_land_or_are_quarantined(
    workspace: Workspace, make_contract: MakeContract, mqtt_broker: MqttBroker, prefix: str
) -> None:
    contract = mqtt_contract(make_contract, mqtt_broker, prefix)
    first = load_mqtt(workspace.lake, contract, max_seconds=0.5)  # creates the durable session
    assert first.ok and first.manifests == []

    # The loader is down: 1,980 good messages and 20 broken ones wait at the broker.
    sent = publish(
        air_quality_stream(1, sensors=20, steps=99), mqtt_broker.host, mqtt_broker.port,
        topic_prefix=prefix, client_id=f"pub-{prefix}",
    )  # fmt: skip
    publish_bad(mqtt_broker, f"{prefix}/AQ9999", BAD * 5)
    total = sent + len(BAD) * 5
    assert total == 2000

    run = load_mqtt(workspace.lake, contract, max_messages=total, max_seconds=60)
    assert run.ok, run.error
    assert run.messages == total
    assert len(run.manifests) == 4  # micro-batches of 500, one load each
    assert all(m.status == "completed" and m.reconciled for m in run.manifests)
    assert sum(m.rows_read for m in run.manifests) == total
    assert (run.rows_landed, run.rows_quarantined) == (sent, 20)
    keys = landed_keys(run)
    assert len(keys) == len(set(keys)) == sent

    reasons: dict[str, int] = {}
    for m in run.manifests:
        for reason, n in m.quarantined_by_reason.items():
            reasons[reason.split(":")[0]] = reasons.get(reason.split(":")[0], 0) + n
    assert reasons == {"bad_json": 15, "not_an_object": 5}
    quarantined = pa.concat_tables(
        [pq.read_table(m.quarantine_path) for m in run.manifests if m.quarantine_path]
    )
    raws = [json.loads(r) for r in quarantined.column("_raw").to_pylist()]
    assert {r["topic"] for r in raws} == {f"{prefix}/AQ9999"}

    again = load_mqtt(workspace.lake, contract, max_seconds=1.0)
    assert again.ok and again.messages == 0  # all acknowledged: nothing comes twice


def test_messages_not_landed_are_not_acknowledged(
    workspace: Workspace, make_contract: MakeContract, mqtt_broker: MqttBroker, prefix: str
) -> None:
    contract = mqtt_contract(make_contract, mqtt_broker, prefix, batch_rows=100)
    load_mqtt(workspace.lake, contract, max_seconds=0.5)
    sent = publish(
        air_quality_stream(2, sensors=10, steps=30), mqtt_broker.host, mqtt_broker.port,
        topic_prefix=prefix, client_id=f"pub-{prefix}",
    )  # fmt: skip
    # The first run receives all 300 but stops after landing 100; the rest were never acked.
    first = load_mqtt(workspace.lake, contract, max_messages=100, max_seconds=30)
    assert first.messages == 100 and len(first.manifests) == 1
    second = load_mqtt(workspace.lake, contract, max_messages=sent - 100, max_seconds=30)
    assert second.messages == sent - 100
    keys = landed_keys(first) + landed_keys(second)
    assert len(keys) == len(set(keys)) == sent


def test_small_batches_close_on_time(
    workspace: Workspace, make_contract: MakeContract, mqtt_broker: MqttBroker, prefix: str
) -> None:
    contract = mqtt_contract(make_contract, mqtt_broker, prefix, batch_rows=10_000)
    load_mqtt(workspace.lake, contract, max_seconds=0.5)
    publish(
        air_quality_stream(3, sensors=5, steps=2), mqtt_broker.host, mqtt_broker.port,
        topic_prefix=prefix, client_id=f"pub-{prefix}",
    )  # fmt: skip
    run = load_mqtt(workspace.lake, contract, max_seconds=5)  # batch_seconds 2 closes the batch
    assert run.messages == 10 and len(run.manifests) == 1


def test_unreachable_broker_is_a_clear_error(
    workspace: Workspace, make_contract: MakeContract
) -> None:
    contract = make_contract(
        "kind: mqtt\nhost: 127.0.0.1\nport: 1\ntopic: x/#", system="air_down", mapping=""
    )
    with pytest.raises(Exception, match=r"source air_down: cannot reach the MQTT broker"):
        load_mqtt(workspace.lake, contract, max_seconds=1)


def test_ingest_drains_what_is_waiting(
    workspace: Workspace, make_contract: MakeContract, mqtt_broker: MqttBroker, prefix: str
) -> None:
    from citybrain.ingest import ingest_sources

    contract = mqtt_contract(make_contract, mqtt_broker, prefix, batch_rows=40)
    assert ingest_sources(workspace, [contract]).ok  # first run: the session starts, nothing yet
    sent = publish(
        air_quality_stream(4, sensors=10, steps=10), mqtt_broker.host, mqtt_broker.port,
        topic_prefix=prefix, client_id=f"pub-{prefix}",
    )  # fmt: skip
    summary = ingest_sources(workspace, [contract])
    assert summary.ok, summary.rows()
    assert summary.results[0].rows_landed == sent == 100
    assert summary.results[0].loads == 3  # 40 + 40 + 20
