"""sim.mqtt: the air-quality stream reaches a real Mosquitto broker, every message, intact."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import paho.mqtt.client as paho
import pyarrow as pa
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from citybrain.core.errors import EnvironmentProblem, UserError
from citybrain.sim.formats import write_connection_file, write_parquet
from citybrain.sim.mqtt import air_quality_stream, publish, replay

if TYPE_CHECKING:
    from fixtures.mqtt import MqttBroker


pytestmark = pytest.mark.mqtt


class Collector:
    """A QoS 1 subscriber that records (topic, payload) until told to stop."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        ready = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{topic}")

        def on_connect(c: paho.Client, *_: object) -> None:
            c.subscribe(topic, qos=1)

        def on_subscribe(*_: object) -> None:
            ready.set()

        def on_message(_c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
            with self._lock:
                self.messages.append((msg.topic, bytes(msg.payload)))

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect(host, port)
        self.client.loop_start()
        assert ready.wait(10), "subscriber did not get SUBACK"

    def wait_for(self, n: int, timeout: float = 20) -> list[tuple[str, bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)  # and nothing more should come
        return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture()
def collector(mqtt_broker: MqttBroker, request: pytest.FixtureRequest) -> Iterator[Collector]:
    c = Collector(mqtt_broker.host, mqtt_broker.port, f"t/{request.node.name}/#")
    yield c
    c.close()


def test_every_published_message_arrives(
    mqtt_broker: MqttBroker, collector: Collector, request: pytest.FixtureRequest
) -> None:
    prefix = f"t/{request.node.name}"
    stream = list(air_quality_stream(5, sensors=20, steps=50))
    sent = publish(stream, mqtt_broker.host, mqtt_broker.port, topic_prefix=prefix)
    assert sent == 1000
    got = collector.wait_for(1000)
    assert len(got) == 1000
    rows = pa.Table.from_batches(stream)
    expected = {
        (f"{prefix}/{r['sensor_id']}", r["observed_at"].isoformat(), r["pm25"])
        for r in rows.to_pylist()
    }
    received = set()
    for topic, payload in got:
        body = json.loads(payload)
        received.add((topic, body["observed_at"], body["pm25"]))
    assert received == expected


def test_content_is_deterministic_and_paced(
    mqtt_broker: MqttBroker, collector: Collector, request: pytest.FixtureRequest
) -> None:
    prefix = f"t/{request.node.name}"
    began = time.monotonic()
    publish(
        air_quality_stream(1, sensors=4, steps=5),
        mqtt_broker.host,
        mqtt_broker.port,
        topic_prefix=prefix,
        rate=100,
    )
    assert time.monotonic() - began >= 0.19  # 20 messages at 100/s
    first = collector.wait_for(20)
    collector.messages.clear()
    publish(
        air_quality_stream(1, sensors=4, steps=5),
        mqtt_broker.host,
        mqtt_broker.port,
        topic_prefix=prefix,
    )
    assert collector.wait_for(20) == first


def test_replay_a_generated_system(
    mqtt_broker: MqttBroker, collector: Collector, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    system = tmp_path / "air_quality"
    prefix = f"t/{request.node.name}"
    write_connection_file(system, "mqtt", topic_prefix=prefix, sensor_column="sensor_id")
    write_parquet(system / "data" / "2024-01.parquet", air_quality_stream(2, sensors=3, steps=10))
    write_parquet(system / "data" / "2024-02.parquet", air_quality_stream(3, sensors=3, steps=10))
    assert replay(system, mqtt_broker.host, mqtt_broker.port) == 60
    assert len(collector.wait_for(60)) == 60
    collector.messages.clear()
    assert replay(system, mqtt_broker.host, mqtt_broker.port, limit=7) == 7
    assert len(collector.wait_for(7, timeout=2)) == 7


def test_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not an MQTT system"):
        replay(tmp_path, "127.0.0.1", 1)
    with pytest.raises(EnvironmentProblem, match="cannot reach the MQTT broker"):
        publish(air_quality_stream(1, sensors=1, steps=1), "127.0.0.1", 1, timeout=2)
