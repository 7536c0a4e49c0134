"""A consumer that stands still says so: a detector held inside a batch while readings wait on the
real Mosquitto raises one quality alert naming the source and what is stuck (the governance page
lists quality alerts), a warning in the log and a mark on the status line; it is cleared, and
logged, when the consumer moves again."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from citybrain.core.opsdb import connect
from citybrain.core.workspace import Workspace
from citybrain.govern.quality import recent_alerts
from citybrain.ingest.streams import MqttRun
from citybrain.stream.detector import StreamBatch, StreamEvent
from citybrain.stream.runner import StreamRunner
from citybrain.stream.store import StreamStore
from stream.test_runner import send, wait_for, write_contract

if TYPE_CHECKING:
    from fixtures.mqtt import MqttBroker

pytestmark = pytest.mark.mqtt


class Held:
    """Holds the first batch with rows until released."""

    name = "held"

    def __init__(self, system: str) -> None:
        self.sources = (system,)
        self.release = threading.Event()
        self.holding = threading.Event()

    def initial_state(self) -> dict[str, Any]:
        return {}

    def process(self, batch: StreamBatch, state: dict[str, Any]) -> list[StreamEvent]:
        if batch.table.num_rows and not self.release.is_set():
            self.holding.set()
            self.release.wait(30)
        return []


def test_a_consumer_held_while_readings_wait_raises_one_alert(
    workspace: Workspace, mqtt_broker: MqttBroker, system: str, caplog: pytest.LogCaptureFixture
) -> None:
    contract = write_contract(workspace, mqtt_broker, system, rows=50, seconds=0.1)
    held = Held(system)
    runner = StreamRunner(
        workspace, [contract], [held], store=StreamStore(connect(workspace.ops_db_url)),
        stall_seconds=0.5,
    )  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    caplog.set_level(logging.WARNING, logger="citybrain.stream.runner")
    thread.start()
    try:
        wait_for(lambda: runner.status.ready, 15, "the subscription")
        sent = send(mqtt_broker, system, 1, 20)  # 200 readings: the first batch is held
        assert held.holding.wait(15)
        wait_for(lambda: runner.alerts_raised == 1, 15, "the stall alert")
        stalled = runner.status.sources[system].stalled
        assert stalled is not None and "received messages wait" in stalled
        assert "STALLED" in runner.status.line()
        [alert] = recent_alerts(workspace.ops_db_url, system=system)
        assert alert.owner == contract.owner and alert.level == "critical"
        assert alert.zh.startswith(f"{system} 数据流停滞：") and "条已收到的消息在等待" in alert.zh
        assert alert.value >= 0.5
        time.sleep(1.2)  # still stuck: no second alert for the same episode
        assert runner.alerts_raised == 1

        held.release.set()
        wait_for(lambda: runner.status.sources[system].landed == sent, 20, "the rest landed")
        wait_for(lambda: runner.status.sources[system].stalled is None, 5, "the all-clear")
    finally:
        held.release.set()
        stop.set()
        thread.join(30)
    assert runner.alerts_raised == 1
    assert len(recent_alerts(workspace.ops_db_url, system=system)) == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any("STALLED" in m and system in m for m in messages)
    assert any("moves again" in m for m in messages)


def test_a_source_not_connected_for_long_raises_an_alert(workspace: Workspace, system: str) -> None:
    from fixtures.mqtt import MqttBroker

    contract = write_contract(workspace, MqttBroker("127.0.0.1", 9), system)
    runner = StreamRunner(
        workspace, [contract], store=StreamStore(connect(workspace.ops_db_url)),
        stall_seconds=0.2,
    )  # fmt: skip
    runner._runs[system] = MqttRun()  # as _consume's run that could not connect
    runner.status.sources[system].error = "cannot reach the MQTT broker"
    runner._watch()
    assert runner.alerts_raised == 0  # not for long yet
    time.sleep(0.25)
    runner._watch()
    runner._watch()
    assert runner.alerts_raised == 1
    assert "not connected to the broker" in (runner.status.sources[system].stalled or "")
    [alert] = recent_alerts(workspace.ops_db_url, system=system)
    assert "未连接到消息代理" in alert.zh and "cannot reach the MQTT broker" in alert.zh


@pytest.fixture
def system() -> str:
    import uuid

    return f"air_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    from citybrain.core.opsdb import upgrade

    ws = Workspace.init(tmp_path / "ws")
    upgrade(ws.ops_db_url)
    return ws


def test_a_stall_alert_is_one_of_the_governance_pages_stream_alerts() -> None:
    from citybrain.govern.quality.stream_gaps import DIMENSION
    from citybrain.stream.runner import STALL_DIMENSION

    assert STALL_DIMENSION == DIMENSION
