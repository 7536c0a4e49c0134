"""``citybrain serve --with-stream``: the server process consumes the live sources too, and
stopping the server (SIGINT, as Ctrl-C) lands what was received and stops the consumer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq
import pytest

from citybrain.core.workspace import Workspace
from citybrain.ingest.rawzone import RawZone
from citybrain.sim.mqtt import air_quality_stream, publish

if TYPE_CHECKING:
    from fixtures.mqtt import MqttBroker

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_with_stream_consumes_until_the_server_stops(
    tmp_path: Path, mqtt_broker: MqttBroker
) -> None:
    ws = Workspace.init(tmp_path / "ws")
    system = f"air_{uuid.uuid4().hex[:8]}"
    (ws.root / "sources").mkdir(exist_ok=True)
    (ws.root / "sources" / f"{system}.yaml").write_text(
        f"id: {system}\nname: 空气质量监测\nowner: 市生态环境局\nconnector:\n  kind: mqtt\n"
        f"  host: {mqtt_broker.host}\n  port: {mqtt_broker.port}\n  topic: 'cbserve/{system}/#'\n"
        "  batch_rows: 50\n  batch_seconds: 60\n",  # the last batch is still open at the stop
        encoding="utf-8",
    )
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "citybrain", "-w", str(ws.root), "serve", "--port",
         str(free_port()), "--with-stream", "--max-batch-rows", "0"],  # batches of exactly 50
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    status = ws.root / "stream" / "status.txt"
    try:
        deadline = time.monotonic() + 120
        while "ready=1" not in (status.read_text() if status.is_file() else ""):
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "the server's consumer did not subscribe"
            time.sleep(0.2)
        stream = air_quality_stream(1, sensors=10, steps=12)
        sent = publish(stream, mqtt_broker.host, mqtt_broker.port, topic_prefix=f"cbserve/{system}",
                       client_id=f"pub-{uuid.uuid4().hex[:6]}")  # fmt: skip
        # 100 land in two batches (the status file says so); 20 wait in the open batch
        while "received=100\n" not in status.read_text():
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline + 60, "the two full batches did not land"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()
    loads = RawZone(ws.lake, system).manifests()
    assert sum(m.rows_landed for m in loads) == sent == 120  # the open batch landed at the stop
    ids = [v for m in loads if m.raw_path for v in pq.read_table(m.raw_path)["msg_id"].to_pylist()]
    assert sorted(map(int, ids)) == list(range(sent))
    assert "received=120" in status.read_text()
