"""Stream benchmark: the live path sustained — truck pings published to Mosquitto at a steady
rate, landed by ``citybrain stream``'s runner (the live contract muck_truck_gps_live), run through
the muck-truck detector, its alerts stored as findings and routed to cases — beside a bare
consumer that only receives and discards the same messages (the ceiling), in one run.

    uv run python benchmarks/stream.py --minutes 1 --rate 20000
    uv run python benchmarks/stream.py --minutes 10 --rate 20000   # memory flat? (quiet machine)

The publishers (``--publishers`` processes) send pings of ``--trucks`` trucks round-robin, each
ping stamped with its publish time, as QoS 1 PUBLISH packets built in the benchmark and written
many per socket write (a Python MQTT client per message could not offer 20,000/s on two cores);
what they report as published is what the broker has acknowledged. Every second a few
"violator" trucks (allowed hours that never include now) send four moving pings back to back:
the detector raises ``outside_hours`` on the fourth, so the latency publish → finding is the
time from that ping's publish to the commit of the alert's event (the finding and case are
written before that commit). Reported: pings per
second landed and taken in by the detector vs received by the bare consumer, latency p50/p95,
the backlog left at the end, and our process's memory sampled every second (first, last, max,
and the slope over the second half of the run).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt as paho_mqtt
import paho.mqtt.client as paho
import psutil
import pyarrow as pa
from machine import machine
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from stream_drain import free_port, mosquitto_version, start_broker

from citybrain.core.opsdb import connect, session, upgrade
from citybrain.core.workspace import Workspace
from citybrain.ingest import load_contract
from citybrain.stream.detectors.muck_trucks import MuckTruckDetector
from citybrain.stream.findings import LiveFindings
from citybrain.stream.livesources import MUCK_TRUCK_SOURCE, write_live_sources
from citybrain.stream.opsdb_models import LiveEventRecord
from citybrain.stream.runner import StreamRunner
from citybrain.stream.store import StreamStore
from citybrain.topics.builtin.muck_trucks.rules import RuleLimits

PREFIX = "bench/muck"
VIOLATORS_PER_SECOND = 2
BARE_TAIL_SECONDS = 30.0
AHEAD = 20_000  # pings a publisher may have sent that the broker has not acknowledged yet


def violator(n: int) -> str:
    return f"川V{n:05d}"


def _remaining(n: int) -> bytes:
    """MQTT's variable-length "remaining length"."""
    out = bytearray()
    while True:
        n, byte = divmod(n, 128)
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _publish_packet(topic: bytes, mid: int, payload: bytes) -> bytes:
    """A QoS 1 PUBLISH packet (MQTT 3.1.1)."""
    body = len(topic).to_bytes(2, "big") + topic + mid.to_bytes(2, "big") + payload
    return b"\x32" + _remaining(len(body)) + body


class RawPublisher:
    """A QoS 1 publisher writing pre-built PUBLISH packets straight to the broker's socket, many
    per write, and counting the broker's PUBACKs on a thread: a Python MQTT client (paho) spends
    tens of microseconds per message and could not offer 20,000 pings/s on two shared cores."""

    def __init__(self, port: int, client_id: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cid = client_id.encode()
        body = b"\x00\x04MQTT\x04\x02\x00\x00" + len(cid).to_bytes(2, "big") + cid
        self.sock.sendall(b"\x10" + _remaining(len(body)) + body)
        connack = self.sock.recv(4)
        if len(connack) < 4 or connack[0] != 0x20 or connack[3] != 0:
            raise SystemExit(f"error: the broker refused publisher {client_id}: {connack!r}")
        self.sent = 0
        self.acked_bytes = 0
        self._mid = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while chunk := self.sock.recv(1 << 16):
            self.acked_bytes += len(chunk)  # only PUBACKs come: 4 bytes each

    @property
    def acked(self) -> int:
        return self.acked_bytes // 4

    def send(self, messages: list[tuple[bytes, bytes]]) -> None:
        packets = []
        for topic, payload in messages:
            self._mid = self._mid % 65535 + 1
            packets.append(_publish_packet(topic, self._mid, payload))
        self.sock.sendall(b"".join(packets))
        self.sent += len(messages)

    def finish(self, timeout: float = 60.0) -> None:
        deadline = time.time() + timeout
        while self.acked < self.sent and time.time() < deadline:
            time.sleep(0.01)
        self.sock.sendall(b"\xe0\x00")  # DISCONNECT
        self.sock.close()


def publisher(
    port: int,
    rate: float,
    seconds: float,
    trucks: int,
    who: int,
    out: str,
    ready: Any,
    go: Any,
    counter: Any,
) -> None:
    """One publishing process: ``rate`` pings/s of ``trucks`` trucks (this process's share), and
    its share of violators, from ``go`` on; writes {plate: publish time of its 4th ping} to
    ``out``; ``counter`` (shared) holds how many the broker has acknowledged, for the progress
    lines. It keeps at most ``AHEAD`` pings unacknowledged, so what it counts as sent is at the
    broker."""
    client = RawPublisher(port, f"bench-pub-{who}")
    ready.release()
    go.wait()
    began = time.time()
    n_violator = 0
    sent_at: dict[str, float] = {}
    topics = [f"{PREFIX}/川B{who}{i:05d}".encode() for i in range(trucks)]
    plates = [f"川B{who}{i:05d}" for i in range(trucks)]
    position = np.zeros(trucks)
    last_violator = began
    while (now := time.time()) - began < seconds:
        due = min(
            int((now - began) * rate) - client.sent, 5000, AHEAD - (client.sent - client.acked)
        )
        counter.value = client.acked
        if due <= 0:
            time.sleep(0.002)
            continue
        ms, stamp = int(now * 1000), f"{now:.6f}"
        batch = []
        for k in range(client.sent, client.sent + due):
            i = k % trucks
            position[i] += 0.00002  # ~2 m a ping: a truck driving, never a jump
            payload = (
                f'{{"gps_id":"{who}-{k}","vehicle_no":"{plates[i]}","gps_time":{ms},'
                f'"lng":{104.0 + position[i]:.6f},"lat":30.55,"speed":30.0,"load_status":1,'
                f'"sent_at":{stamp}}}'
            )
            batch.append((topics[i], payload.encode()))
        client.send(batch)
        if now - last_violator >= 1.0:  # violators: four moving pings, 1 minute apart in GPS time
            last_violator = now
            for _ in range(VIOLATORS_PER_SECOND):
                plate = violator(who * 100_000 + n_violator)
                n_violator += 1
                pings = []
                t = time.time()
                for k in range(4):
                    gps = int((t - 180 + 60 * k) * 1000)
                    payload = (
                        f'{{"gps_id":"{plate}-{k}","vehicle_no":"{plate}","gps_time":{gps},'
                        f'"lng":{104.1 + 0.005 * k:.6f},"lat":30.6,"speed":30.0,'
                        f'"load_status":1,"sent_at":{t:.6f}}}'
                    )
                    pings.append((f"{PREFIX}/{plate}".encode(), payload.encode()))
                client.send(pings)
                sent_at[plate] = t
    client.finish()
    counter.value = client.acked
    Path(out).write_text(
        json.dumps({"sent": client.sent, "acked": client.acked, "violators": sent_at}),
        encoding="utf-8",
    )


def bare_lean(out: str, port: int, ready: Any, done: Any) -> None:
    """The ceiling of our own receive path: the connector's ``Subscriber`` (chunked reads, QoS 1
    PUBLISH packets read straight into messages, batches acknowledged as one write) taking
    batches and discarding them — no landing, no detector. Faster than a plain paho consumer."""
    from citybrain.ingest.connectors.mqtt import Subscriber
    from citybrain.ingest.contract import MqttConnector, SourceContract

    connector = MqttConnector(topic=f"{PREFIX}/#", port=port, batch_rows=10_000, batch_seconds=0.2)
    contract = SourceContract.model_validate(
        {"id": "bench_bare", "name": "bare", "owner": "bench", "connector": connector.model_dump()}
    )
    sub = Subscriber(contract, connector, queue_max=50_000)
    sub.start()  # subscribed on connect
    time.sleep(0.5)
    ready.set()
    count, first, last = 0, None, time.time()
    never = threading.Event()
    tail_ends: float | None = None
    while tail_ends is None or time.time() < tail_ends:
        batch = sub.collect(connector, None, None, never, 1.0, max_rows=50_000)
        if batch:
            first = first or time.time()
            count, last = count + len(batch), time.time()
            sub.send_acks(batch)
        elif done.is_set():
            break  # nothing for a second after the publishers stopped
        if done.is_set() and tail_ends is None:
            tail_ends = time.time() + BARE_TAIL_SECONDS
    sub.closing = True
    sub.close()
    seconds = last - (first or last)
    Path(out).write_text(json.dumps({"received": count, "seconds": seconds}), "utf-8")


def bare(out: str, port: int, ready: Any, done: Any) -> None:
    """The ceiling: a QoS 1 subscriber that receives and discards, until ``done``; records how
    many it received and when the first and the last came."""
    count = [0]
    times: list[float] = []

    def on_message(*_: Any) -> None:
        count[0] += 1
        if count[0] == 1:
            times.append(time.time())

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare")
    client.on_message = on_message
    client.on_subscribe = lambda *_: ready.set()
    client.on_connect = lambda c, *_: c.subscribe(f"{PREFIX}/#", qos=1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    if not ready.wait(30):
        raise SystemExit("error: the bare consumer could not subscribe")
    last, seen = time.time(), 0
    # after done: until nothing more comes, or BARE_TAIL_SECONDS (a bare consumer far behind on a
    # loaded machine would hold the run forever; what it received by then is its figure)
    while not done.is_set():
        if count[0] != seen:
            seen, last = count[0], time.time()
        time.sleep(0.05)
    tail_ends = time.time() + BARE_TAIL_SECONDS
    while count[0] != seen and time.time() < tail_ends:
        seen, last = count[0], time.time()
        time.sleep(1.0)
    client.disconnect()
    client.loop_stop()
    first = times[0] if times else last
    Path(out).write_text(json.dumps({"received": seen, "seconds": last - first}), "utf-8")


class Progress:
    """A progress line every ``every`` seconds: time, pings published and landed (in all and per
    second since the last line, against the target), the backlog between them, our memory."""

    def __init__(self, every: float, rate: float, seconds: float, began: float, landed: int):
        self.every, self.rate, self.seconds, self.began = every, rate, seconds, began
        self.last_at, self.last_sent, self.last_landed = began, 0, landed
        self.landed0 = landed

    def line(
        self, sent: int, landed: int, memory: list[tuple[float, int]], draining: bool = False
    ) -> None:
        now = time.time()
        if now - self.last_at < self.every:
            return
        span = now - self.last_at
        landed -= self.landed0
        pub_rate = (sent - self.last_sent) / span
        land_rate = (landed - self.last_landed) / span
        rss = memory[-1][1] / 2**20 if memory else float("nan")
        stage = "draining" if draining else f"of {self.seconds:.0f} s"
        print(
            f"[{now - self.began:6.0f} s {stage}] published {sent:,} ({pub_rate:,.0f}/s,"
            f" target {self.rate:,.0f}/s) · landed {landed:,} ({land_rate:,.0f}/s)"
            f" · backlog {sent - landed:,} · memory {rss:,.0f} MB",
            flush=True,
        )
        self.last_at, self.last_sent, self.last_landed = now, sent, landed


def by_minute(offsets: np.ndarray, latency: np.ndarray) -> list[dict[str, Any]]:
    """p50 / p95 / max of the latency per minute of publishing (by the violator's publish time):
    a latency that grows with the run's length shows here, not in the run's one p95."""
    out = []
    minutes = np.floor(offsets / 60).astype(int) if len(offsets) else np.array([], int)
    for m in sorted(set(minutes.tolist())):
        these = latency[minutes == m]
        out.append({
            "minute": m,
            "alerts": len(these),
            "p50": round(float(np.percentile(these, 50)), 3),
            "p95": round(float(np.percentile(these, 95)), 3),
            "max": round(float(these.max()), 3),
        })  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--rate", type=float, default=20_000, help="pings per second, in all")
    parser.add_argument("--trucks", type=int, default=5_000)
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--batch-rows", type=int, default=10_000)
    parser.add_argument("--batch-seconds", type=float, default=0.5)
    parser.add_argument(
        "--max-batch-rows",
        type=int,
        default=50_000,
        help="a batch grows to take a backlog up to this many pings (0: fixed --batch-rows)",
    )
    parser.add_argument(
        "--bare",
        choices=("lean", "paho"),
        default="lean",
        help="the bare consumer: our connector's receive path (lean, the ceiling since it "
        "reads packets itself) or a plain paho subscriber (the earlier reference)",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/stream.json"))
    parser.add_argument(
        "--flat-mb-per-min", type=float, default=2.0, help="memory counts as flat under this slope"
    )
    parser.add_argument(
        "--progress-seconds", type=float, default=10.0, help="a progress line this often"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    seconds = args.minutes * 60
    work = Path(tempfile.mkdtemp(prefix="cb-stream-live-"))
    port = free_port()
    broker = start_broker(work, port, int(args.rate * seconds * 2) + 1000)
    memory: list[tuple[float, int]] = []
    try:
        ws = Workspace.init(work / "ws", name="基准")
        upgrade(ws.ops_db_url)
        write_live_sources(ws.root / "sources", "127.0.0.1", port)
        contract = load_contract(ws.root / "sources" / f"{MUCK_TRUCK_SOURCE}.yaml")
        connector = contract.connector.model_copy(
            update={"topic": f"{PREFIX}/#", "batch_rows": args.batch_rows,
                    "batch_seconds": args.batch_seconds}
        )  # fmt: skip
        contract = contract.model_copy(update={"connector": connector})
        # everyone may drive at any hour (start == end) but the violators, never allowed now
        now_minute = (datetime.now(UTC).hour + 8) % 24 * 60 + datetime.now(UTC).minute
        closed = ((now_minute + 120) % 1440, (now_minute + 121) % 1440)
        hours = {violator(w * 100_000 + n): closed for w in range(args.publishers)
                 for n in range(int(seconds * VIOLATORS_PER_SECOND) + 10)}  # fmt: skip
        detector = MuckTruckDetector(
            allowed_hours=(0, 0),
            plate_hours=hours,
            limits=RuleLimits(min_outside_minutes=0.0, min_outside_pings=3),
        )
        ops = connect(ws.ops_db_url)
        store = StreamStore(ops)
        runner = StreamRunner(
            ws,
            [contract],
            [detector],
            store=store,
            findings=LiveFindings.for_workspace(ws, ops),
            max_batch_rows=args.max_batch_rows or None,
        )
        stop = threading.Event()
        consumer = threading.Thread(target=runner.run, args=(stop,))
        consumer.start()
        while not runner.status.ready:
            time.sleep(0.1)
        ctx = mp.get_context("spawn")
        ready, done = ctx.Event(), ctx.Event()
        bare_target = bare_lean if args.bare == "lean" else bare
        bare_proc = ctx.Process(
            target=bare_target, args=(str(work / "bare.json"), port, ready, done)
        )
        bare_proc.start()
        if not ready.wait(60):
            raise SystemExit("error: the bare consumer did not subscribe")
        share = args.rate / args.publishers
        each = args.trucks // args.publishers
        started, go = ctx.Semaphore(0), ctx.Event()
        counters = [ctx.Value("q", 0, lock=False) for _ in range(args.publishers)]
        pubs = [
            ctx.Process(
                target=publisher,
                args=(
                    port,
                    share,
                    seconds,
                    each,
                    w,
                    str(work / f"pub{w}.json"),
                    started,
                    go,
                    counters[w],
                ),
            )
            for w in range(args.publishers)
        ]
        me, mosquitto = psutil.Process(), psutil.Process(broker.pid)
        broker_mb = [0.0]
        still = {"since": 0.0, "landed": -1, "longest": 0.0}  # the longest time nothing landed

        def sample(now: float) -> None:
            memory.append((now, me.memory_info().rss))
            broker_mb[0] = max(broker_mb[0], mosquitto.memory_info().rss / 2**20)
            landed = runner.status.total("landed")
            if landed != still["landed"]:
                still["since"], still["landed"] = now, landed
            still["longest"] = max(still["longest"], now - still["since"])

        for p in pubs:
            p.start()
        for _ in pubs:  # every publisher imported and connected: start the clock
            while not started.acquire(timeout=1.0):
                failed = [p.exitcode for p in pubs if p.exitcode not in (None, 0)]
                if failed:  # it died before connecting (its traceback is above): do not wait
                    stop.set()
                    for proc in [*pubs, bare_proc]:
                        proc.terminate()
                    raise SystemExit(f"error: a publisher process failed (exit {failed[0]})")
        landed_at_start = runner.status.total("landed")
        batches_at_start = runner.status.total("batches")
        began = time.time()
        go.set()
        progress = Progress(args.progress_seconds, args.rate, seconds, began, landed_at_start)
        while any(p.is_alive() for p in pubs):
            sample(time.time() - began)
            progress.line(sum(c.value for c in counters), runner.status.total("landed"), memory)
            time.sleep(1.0)
        published_at = time.time()
        for p in pubs:
            p.join()
        done.set()
        sent = sum(
            json.loads((work / f"pub{w}.json").read_text())["sent"] for w in range(args.publishers)
        )
        landed_at_end = runner.status.total("landed")
        batches_at_end = runner.status.total("batches")
        deadline = time.time() + 120  # the backlog, drained
        while runner.status.total("landed") < sent and time.time() < deadline:
            sample(time.time() - began)
            progress.line(sent, runner.status.total("landed"), memory, draining=True)
            time.sleep(0.5)
        drained_at = time.time()
        stop.set()
        consumer.join(60)
        bare_proc.join(BARE_TAIL_SECONDS + 30)
        violators: dict[str, float] = {}
        for w in range(args.publishers):
            violators.update(json.loads((work / f"pub{w}.json").read_text())["violators"])
        with session(ops) as db:
            alerts = list(db.scalars(select(LiveEventRecord).where(
                LiveEventRecord.type == "truck.violation")))  # fmt: skip
        # (publish time, event commit time) of each violator's alert
        times = np.array(
            [(violators[a.data["plate"]], a.at.timestamp()) for a in alerts
             if a.data["plate"] in violators],
            float,
        ).reshape(-1, 2)  # fmt: skip
        sent_times, latency = times[:, 0], times[:, 1] - times[:, 0]
        bare_out = json.loads((work / "bare.json").read_text())
        saved = store.load(detector.name)
        taken = saved.state["counts"]["received"] if saved else 0
    finally:
        broker.terminate()
        broker.wait()
        shutil.rmtree(work, ignore_errors=True)

    run_seconds = published_at - began
    rss = np.array([m for _, m in memory], float) / 2**20
    times = np.array([t for t, _ in memory], float)
    # flat memory is judged while publishing (sustained load), over its second half
    half = (times >= run_seconds / 2) & (times <= run_seconds)
    slope = float(np.polyfit(times[half], rss[half], 1)[0] * 60) if half.sum() > 2 else None
    sides = {
        "citybrain_stream": {
            "pings_landed": runner.status.total("landed"),
            "pings_taken_in_by_detector": taken,
            "offered_pings_per_second": round(sent / run_seconds),
            "pings_per_second_while_publishing": round(
                (landed_at_end - landed_at_start) / run_seconds
            ),
            "batches_while_publishing": batches_at_end - batches_at_start,
            "pings_per_second_incl_drain": round(
                runner.status.total("landed") / (drained_at - began)
            ),
            "backlog_at_end_of_publishing": sent - landed_at_end,
            "drain_seconds_after": round(drained_at - published_at, 1),
            "alerts": len(alerts),
            "violators_published": len(violators),
            "latency_publish_to_finding_s": {
                "p50": round(float(np.percentile(latency, 50)), 3) if len(latency) else None,
                "p95": round(float(np.percentile(latency, 95)), 3) if len(latency) else None,
                "max": round(float(latency.max()), 3) if len(latency) else None,
            },
            "latency_by_minute": by_minute(sent_times - began, latency),
            "memory_mb": {
                "first": round(float(rss[0]), 1) if len(rss) else None,
                "last": round(float(rss[-1]), 1) if len(rss) else None,
                "max": round(float(rss.max()), 1) if len(rss) else None,
                "slope_second_half_mb_per_min": None if slope is None else round(slope, 2),
                "samples": len(rss),
            },
            "errors": runner.status.errors,
            "longest_seconds_nothing_landed": round(still["longest"], 1),
            "stall_alerts": runner.alerts_raised,
            "mosquitto_memory_mb_max": round(broker_mb[0], 1),
        },
        "bare_consumer": {
            "kind": args.bare,
            "pings_received": bare_out["received"],
            "pings_per_second": round(bare_out["received"] / max(bare_out["seconds"], 1e-9)),
        },
    }
    result = {
        "benchmark": "stream",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(load_before),
        "versions": {
            "mosquitto": mosquitto_version(),
            "paho_mqtt": paho_mqtt.__version__,
            "pyarrow": pa.__version__,
            "python": sys.version.split()[0],
        },
        "inputs": {
            "minutes": args.minutes,
            "rate_target": args.rate,
            "pings_published": sent,
            "publish_seconds": round(run_seconds, 1),
            "trucks": args.trucks,
            "publishers": args.publishers,
            "batch_rows": args.batch_rows,
            "batch_seconds": args.batch_seconds,
            "max_batch_rows": args.max_batch_rows,
        },
        "sides": sides,
        "target": {
            "pings_per_second": 20_000,
            "p95_seconds": 2.0,
            "minutes": 10,
            "flat_mb_per_min": args.flat_mb_per_min,
        },
    }
    ours = sides["citybrain_stream"]
    p95 = ours["latency_publish_to_finding_s"]["p95"]
    verdict: dict[str, bool] = {
        # the publishers themselves kept up: otherwise the run says nothing about our rate
        "publishers_reached_rate": sent / run_seconds >= 0.95 * args.rate,
        "rate_met": ours["pings_per_second_while_publishing"] >= 20_000,
        "p95_met": p95 is not None and p95 < 2.0,
        "memory_flat": slope is not None and abs(slope) < args.flat_mb_per_min,
        "long_enough_for_memory": args.minutes >= 10,
    }
    result["verdict"] = verdict
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    ceiling = sides["bare_consumer"]
    print(
        f"published {sent:,} pings in {run_seconds:.0f} s ({sent / run_seconds:,.0f}/s offered,"
        f" target {args.rate:,.0f}/s)"
    )
    print(f"{'side':<20}{'pings/s':>10}{'p50 s':>8}{'p95 s':>8}{'backlog':>10}")
    lat = ours["latency_publish_to_finding_s"]
    print(f"{'citybrain_stream':<20}{ours['pings_per_second_while_publishing']:>10,}"
          f"{lat['p50'] or float('nan'):>8.2f}{lat['p95'] or float('nan'):>8.2f}"
          f"{ours['backlog_at_end_of_publishing']:>10,}")  # fmt: skip
    print(f"{'bare_consumer':<20}{ceiling['pings_per_second']:>10,}")
    print("p95 s by minute: " + " ".join(
        f"{m['p95']:.2f}" for m in ours["latency_by_minute"]))  # fmt: skip
    print(f"memory MB {ours['memory_mb']} · alerts {ours['alerts']}/{ours['violators_published']}")
    print(
        f"longest with nothing landed {ours['longest_seconds_nothing_landed']} s · stall alerts "
        f"{ours['stall_alerts']} · Mosquitto max {ours['mosquitto_memory_mb_max']} MB"
    )
    print("verdict " + " · ".join(f"{k}={v}" for k, v in verdict.items()))


if __name__ == "__main__":
    main()
