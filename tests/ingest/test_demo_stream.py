"""The demo's own stream script (scripts/demo-stream.sh, which `make demo` runs) against real
Mosquitto on a tiny city: every reading the city published lands or is quarantined."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from citybrain.core.workspace import Workspace
from citybrain.ingest.rawzone import RawZone
from fixtures.mqtt import find_mosquitto

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SYSTEM = "air_quality_sensors"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def citybrain(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "citybrain", *args], check=True, cwd=ROOT)


def test_demo_stream_lands_every_published_reading(tmp_path: Path) -> None:
    if find_mosquitto() is None:
        pytest.fail("mosquitto not found: run `make test`", pytrace=False)
    city, ws, demo, port = tmp_path / "city", tmp_path / "ws", tmp_path / "demo", free_port()
    citybrain("sim", "--scale", "tiny", "--seed", "5", "--out", str(city))
    citybrain("workspace", "init", str(ws), "--name", "示例高新区", "--sim", str(city),
              "--mqtt", f"127.0.0.1:{port}")  # fmt: skip
    env = {**os.environ, "MQTT_PORT": str(port), "CB": f"{sys.executable} -m citybrain",
           "PATH": f"{os.environ['PATH']}:/usr/sbin"}  # fmt: skip
    try:
        done = subprocess.run(
            ["bash", str(ROOT / "scripts" / "demo-stream.sh"), str(city), str(ws), str(demo)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        pid = demo / "mosquitto.pid"
        if pid.is_file():
            os.kill(int(pid.read_text()), signal.SIGTERM)
    assert done.returncode == 0, done.stdout + done.stderr
    published = sum(
        pq.ParquetFile(p).metadata.num_rows for p in (city / SYSTEM / "data").glob("*.parquet")
    )
    loads = [
        m for m in RawZone(Workspace.open(ws).lake, SYSTEM).manifests() if m.status == "completed"
    ]
    landed = sum(m.rows_landed for m in loads)
    quarantined = sum(m.rows_quarantined for m in loads)
    assert published > 1000
    assert landed + quarantined == published
    assert sum(m.rows_missing for m in loads) == 0
    assert f"published {published:,}" in done.stdout
    assert "persistence true" in (demo / "mosquitto.conf").read_text()
