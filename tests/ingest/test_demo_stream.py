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
from fixtures.tinycity import SEED, tiny_city

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


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test run's one tiny synthetic city (seed 7, generated once for every worker; read
    only by the tests: each gets its own workspace and broker)."""
    return tiny_city(tmp_path_factory, SEED)


def run_demo_stream(city: Path, tmp_path: Path, **extra_env: str) -> tuple[Path, str]:
    """A workspace on the city, then the demo's stream script; returns (workspace, stdout)."""
    if find_mosquitto() is None:
        pytest.fail("mosquitto not found: run `make test`", pytrace=False)
    ws, demo, port = tmp_path / "ws", tmp_path / "demo", free_port()
    citybrain("workspace", "init", str(ws), "--name", "示例高新区", "--sim", str(city),
              "--mqtt", f"127.0.0.1:{port}")  # fmt: skip
    env = {**os.environ, "MQTT_PORT": str(port), "CB": f"{sys.executable} -m citybrain",
           "PATH": f"{os.environ['PATH']}:/usr/sbin", **extra_env}  # fmt: skip
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
    assert "persistence true" in (demo / "mosquitto.conf").read_text()
    return ws, done.stdout


def counts(ws: Path, system: str) -> tuple[int, int, int]:
    """(landed, quarantined, expected but not received) over a source's completed loads."""
    loads = [m for m in RawZone(Workspace.open(ws).lake, system).manifests()
             if m.status == "completed"]  # fmt: skip
    return (sum(m.rows_landed for m in loads), sum(m.rows_quarantined for m in loads),
            sum(m.rows_missing for m in loads))  # fmt: skip


def city_rows(city: Path) -> int:
    return sum(
        pq.ParquetFile(p).metadata.num_rows for p in (city / SYSTEM / "data").glob("*.parquet")
    )


def test_demo_stream_lands_every_published_reading(city: Path, tmp_path: Path) -> None:
    ws, stdout = run_demo_stream(city, tmp_path)
    published = city_rows(city)
    landed, quarantined, missing = counts(ws, SYSTEM)
    assert published > 1000
    assert (landed + quarantined, missing) == (published, 0)
    assert f"published {published:,}" in stdout


def test_beyond_small_history_goes_as_files_and_only_recent_hours_stream(
    city: Path, tmp_path: Path
) -> None:
    ws, stdout = run_demo_stream(city, tmp_path, LIVE_HOURS="24")
    landed, quarantined, missing = counts(ws, SYSTEM)
    history = counts(ws, "air_quality_history")
    streamed = landed + quarantined
    assert missing == 0 and 0 < streamed <= 4 * 4 + 4  # tiny: 4 sensors, 4 readings a day
    assert f"published {streamed:,}" in stdout
    assert streamed + history[0] + history[1] == city_rows(city)  # nothing lost between them
