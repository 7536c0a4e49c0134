"""Stream drain benchmark: a backlog of readings landed per second through MQTT by our connector,
beside a bare paho subscriber, in one run on one Mosquitto (Debian's, started here on loopback).

(The sustained live path — publish → land → detector → finding, with latency — is
benchmarks/stream.py; this one times draining a backlog through the landing alone.)

    uv run python benchmarks/stream_drain.py --messages 100000

Both sides hold a durable session (MQTT 5, clean start off, QoS 1) registered before the city
publishes, so the same ``--messages`` readings wait at the broker for each of them; then each
drains them in turn, timed from its connect to its last message. Ours parses every payload, maps
and validates it by the shipped air-quality contract, lands micro-batches to the raw zone and
acknowledges each message only after its batch committed; the bare subscriber only counts
messages (paho acknowledges them on receipt). Loss is checked, not assumed: ours must land or
quarantine every reading with no sequence gap and no broker drop, the bare side must count all.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt as paho_mqtt
import paho.mqtt.client as paho
import psutil
import pyarrow as pa
from machine import machine
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from citybrain.core.workspace import Workspace
from citybrain.ingest import load_contract
from citybrain.ingest.simsources import shipped_sim_contracts
from citybrain.ingest.streams import load_mqtt
from citybrain.sim.mqtt import air_quality_stream, publish

PREFIX = "citybrain/sim/air"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_broker(work: Path, port: int, messages: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    if binary is None:
        raise SystemExit("error: mosquitto is not installed (apt-get install mosquitto)")
    conf = work / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nuser {getpass.getuser()}\n"
        f"persistence false\nmax_queued_messages {2 * messages}\nmax_queued_bytes 0\n"
        "set_tcp_nodelay true\nsys_interval 1\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"error: mosquitto did not start on port {port}")


def mosquitto_version() -> str:
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin") or "mosquitto"
    out = subprocess.run([binary, "-h"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else "unknown"


class BareSubscriber:
    """The reference: a durable paho subscriber that counts what it receives."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.count = 0
        self.target = 0
        self.done = threading.Event()
        self.first: float | None = None

    def _client(self) -> paho.Client:
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=paho.MQTTv5
        )
        client.on_message = self._on_message
        return client

    def _on_message(self, _c: Any, _u: Any, _m: Any) -> None:
        self.count += 1
        if self.count >= self.target:
            self.done.set()

    def connect(self, client: paho.Client) -> None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        props.ReceiveMaximum = 65535
        client.connect("127.0.0.1", self.port, clean_start=False, properties=props)

    def register(self) -> None:
        client = self._client()
        subscribed = threading.Event()
        client.on_subscribe = lambda *_: subscribed.set()
        self.connect(client)
        client.loop_start()
        client.subscribe(f"{PREFIX}/#", qos=1)
        subscribed.wait(10)
        client.disconnect()
        client.loop_stop()

    def drain(self, messages: int, timeout: float) -> float:
        self.target = messages
        client = self._client()
        began = time.perf_counter()
        self.connect(client)
        client.loop_start()
        self.done.wait(timeout)
        seconds = time.perf_counter() - began
        client.disconnect()
        client.loop_stop()
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--sensors", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/stream_drain.json"))
    args = parser.parse_args()
    load_before = os.getloadavg()
    steps = max(1, args.messages // args.sensors)
    messages = steps * args.sensors
    work = Path(tempfile.mkdtemp(prefix="cb-stream-bench-"))
    port = free_port()
    broker = start_broker(work, port, messages)
    try:
        workspace = Workspace.init(work / "ws", name="基准")
        [shipped] = [p for p in shipped_sim_contracts() if p.stem == "air_quality_sensors"]
        text = shipped.read_text(encoding="utf-8").replace("port: 1883", f"port: {port}")
        (work / "air_quality_sensors.yaml").write_text(text, encoding="utf-8")
        contract = load_contract(work / "air_quality_sensors.yaml")
        bare = BareSubscriber(port)
        bare.register()
        assert load_mqtt(workspace.lake, contract, max_seconds=0.5).ok  # our durable session

        began = time.perf_counter()
        stream = air_quality_stream(1, sensors=args.sensors, steps=steps)
        batches = pa.Table.from_batches(list(stream)).to_batches(max_chunksize=10_000)
        published = publish(batches, "127.0.0.1", port, topic_prefix=PREFIX)
        publish_seconds = time.perf_counter() - began
        time.sleep(1.5)  # a $SYS tick, so a drop would be counted

        bare_seconds = bare.drain(messages, timeout=600)
        cpu0 = psutil.Process().cpu_times()
        began = time.perf_counter()
        run = load_mqtt(workspace.lake, contract, max_messages=messages, idle_seconds=5.0)
        ours_seconds = time.perf_counter() - began
        cpu1 = psutil.Process().cpu_times()
        missing = sum(m.rows_missing for m in run.manifests)
        dropped = sum(m.stream.broker_dropped for m in run.manifests if m.stream)
    finally:
        broker.terminate()
        broker.wait()
        shutil.rmtree(work, ignore_errors=True)

    ours_lost = published - run.rows_landed - run.rows_quarantined
    sides = {
        "citybrain_mqtt": {
            "seconds": round(ours_seconds, 2),
            "cpu_seconds": round((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system), 2),
            "readings_landed": run.rows_landed,
            "readings_quarantined": run.rows_quarantined,
            "readings_per_second": round((run.rows_landed + run.rows_quarantined) / ours_seconds),
            "loads": len(run.manifests),
            "expected_not_received": missing,
            "broker_dropped": dropped,
            "lost": ours_lost,
        },
        "bare_paho_subscriber": {
            "seconds": round(bare_seconds, 2),
            "readings_received": bare.count,
            "readings_per_second": round(bare.count / bare_seconds),
            "lost": published - bare.count,
        },
    }
    result = {
        "benchmark": "stream_drain",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(load_before),
        "versions": {
            "mosquitto": mosquitto_version(),
            "paho_mqtt": paho_mqtt.__version__,
            "pyarrow": pa.__version__,
        },
        "inputs": {
            "messages": published,
            "sensors": args.sensors,
            "publish_seconds": round(publish_seconds, 2),
            "batch_rows": contract.connector.batch_rows,  # type: ignore[union-attr]
        },
        "sides": sides,
        "ratio_ours_vs_bare": round(
            sides["citybrain_mqtt"]["readings_per_second"]
            / max(sides["bare_paho_subscriber"]["readings_per_second"], 1),
            3,
        ),
        "zero_loss": ours_lost == 0 and missing == 0 and dropped == 0 and bare.count == published,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"{'side':<24}{'seconds':>9}{'readings/s':>12}{'lost':>7}")
    for name, side in sides.items():
        print(
            f"{name:<24}{side['seconds']:>9.2f}{side['readings_per_second']:>12,}{side['lost']:>7}"
        )
    print(f"published {published:,} in {publish_seconds:.1f}s · zero loss: {result['zero_loss']}")
    if not result["zero_loss"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
