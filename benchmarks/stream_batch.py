"""Stream micro-batch benchmark: where one micro-batch's CPU goes on the live path, without a
broker — the benchmark's truck pings (``benchmarks/stream.py``'s payloads) as MQTT messages,
landed through the MQTT connector's own landing (``_land_batch``: parse, map, write, commit),
then handed to the runner (muck-truck detector, live findings and cases, state saved), batch
after batch, in one process.

    uv run python benchmarks/stream_batch.py --batches 30 --batch-rows 10000

Figures: CPU seconds per 10,000 pings for each stage (parse, land, detectors; median over the
batches after the first few) and in all, the wall time per batch, and the process's memory per
batch (first, last, slope) — CPU time, so a loaded machine changes them less than wall time.
Compare runs A/B in one session; note the load average beside every figure (it is in the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from machine import machine

from citybrain.core.opsdb import connect, upgrade
from citybrain.core.workspace import Workspace
from citybrain.ingest import load_contract
from citybrain.ingest.connectors.mqtt import Message, message_ids
from citybrain.ingest.connectors.stream_loss import LossTracker
from citybrain.ingest.contract import MqttConnector
from citybrain.ingest.rawzone import RawZone
from citybrain.ingest.streams import _land_batch
from citybrain.stream.detectors.muck_trucks import MuckTruckDetector
from citybrain.stream.findings import LiveFindings
from citybrain.stream.livesources import MUCK_TRUCK_SOURCE, write_live_sources
from citybrain.stream.runner import Follower, StreamRunner, settle
from citybrain.stream.store import StreamStore
from citybrain.topics.builtin.muck_trucks.rules import RuleLimits


class _NoBroker:
    """What the landing asks the subscriber: no session lost, no broker counter."""

    def take_session_lost(self) -> bool:
        return False

    def counter(self) -> int | None:
        return None


def pings(k: int, rows: int, trucks: int, violators: int) -> list[Message]:
    """Batch ``k``: ``rows`` pings round-robin over ``trucks`` trucks, driving ~2 m a ping, and
    ``violators`` new trucks that each send four moving pings (an ``outside_hours`` alert)."""
    now = time.time()
    out: list[Message] = []
    for j in range(rows - 4 * violators):
        n = k * rows + j
        i = n % trucks
        plate = f"川B0{i:05d}"
        payload = (
            f'{{"gps_id":"0-{n}","vehicle_no":"{plate}","gps_time":{int(now * 1000) + n},'
            f'"lng":{104.0 + 0.00002 * (n // trucks):.6f},"lat":30.55,"speed":30.0,'
            f'"load_status":1,"sent_at":{now:.6f}}}'
        )
        out.append(Message(n, 1, f"bench/muck/{plate}", payload.encode()))
    for v in range(violators):
        plate = f"川V{k * violators + v:05d}"
        for s in range(4):
            gps = int((now - 180 + 60 * s) * 1000)
            payload = (
                f'{{"gps_id":"{plate}-{s}","vehicle_no":"{plate}","gps_time":{gps},'
                f'"lng":{104.1 + 0.005 * s:.6f},"lat":30.6,"speed":30.0,'
                f'"load_status":1,"sent_at":{now:.6f}}}'
            )
            out.append(Message(0, 1, f"bench/muck/{plate}", payload.encode()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--batch-rows", type=int, default=10_000)
    parser.add_argument("--trucks", type=int, default=5_000)
    parser.add_argument("--violators", type=int, default=4, help="new violating trucks a batch")
    parser.add_argument("--warmup", type=int, default=3, help="batches left out of the medians")
    parser.add_argument(
        "--no-settle", action="store_true", help="leave the start-up heap in the collector's passes"
    )
    parser.add_argument("--profile", type=Path, default=None, help="write cProfile stats here")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/stream_batch.json"))
    args = parser.parse_args()
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="cb-stream-batch-"))
    ws = Workspace.init(work / "ws", name="基准")
    upgrade(ws.ops_db_url)
    write_live_sources(ws.root / "sources", "127.0.0.1", 1883)
    contract = load_contract(ws.root / "sources" / f"{MUCK_TRUCK_SOURCE}.yaml")
    connector = contract.connector
    assert isinstance(connector, MqttConnector)
    now_minute = (datetime.now(UTC).hour + 8) % 24 * 60 + datetime.now(UTC).minute
    closed = ((now_minute + 120) % 1440, (now_minute + 121) % 1440)
    hours = {f"川V{n:05d}": closed for n in range(args.batches * args.violators)}
    detector = MuckTruckDetector(
        allowed_hours=(0, 0),
        plate_hours=hours,
        limits=RuleLimits(min_outside_minutes=0.0, min_outside_pings=3),
    )
    ops = connect(ws.ops_db_url)
    store = StreamStore(ops)
    runner = StreamRunner(
        ws, [contract], [detector], store=store, findings=LiveFindings.for_workspace(ws, ops)
    )
    runner.followers = [Follower(d, store, ws.lake, runner.findings) for d in runner.detectors]
    zone = RawZone(ws.lake, contract.id)
    tracker = LossTracker.resume(connector.sequence is not None, zone.manifests())
    me = psutil.Process()
    stages: dict[str, list[float]] = {"parse_and_land": [], "detectors": [], "all": []}
    wall: list[float] = []
    rss: list[float] = []
    profiler: Any = None
    if not args.no_settle:
        settle()  # as StreamRunner.run does once it has caught up
    if args.profile is not None:
        import cProfile

        profiler = cProfile.Profile()
    for k in range(args.batches):
        batch = pings(k, args.batch_rows, args.trucks, args.violators)
        if profiler is not None and k == args.warmup:
            profiler.enable()
        w0, c0 = time.perf_counter(), time.process_time()
        ids = message_ids(batch)
        manifest = _land_batch(
            ws.lake,
            contract,
            connector,
            batch,
            None,
            tracker,
            _NoBroker(),  # type: ignore[arg-type]
            ids=ids,
        )
        c1 = time.process_time()
        assert manifest.status == "completed", manifest.message
        with runner._lock:
            runner._take(manifest)
        c2 = time.process_time()
        wall.append(time.perf_counter() - w0)
        stages["parse_and_land"].append(c1 - c0)
        stages["detectors"].append(c2 - c1)
        stages["all"].append(c2 - c0)
        rss.append(me.memory_info().rss / 2**20)
        print(
            f"batch {k:3d}: land {c1 - c0:6.3f} s CPU · detectors {c2 - c1:6.3f} s CPU"
            f" · wall {wall[-1]:6.3f} s · RSS {rss[-1]:6.0f} MB",
            flush=True,
        )
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    errors = runner.status.errors
    per_10k = args.batch_rows / 10_000
    after = slice(args.warmup, None)
    alerts = sum(f.events for f in runner.followers)
    result = {
        "benchmark": "stream_batch",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(load_before),
        "inputs": vars(args) | {"profile": str(args.profile), "out": str(args.out)},
        "cpu_s_per_10k_pings_median": {
            k: round(float(np.median(v[after])) / per_10k, 4) for k, v in stages.items()
        },
        "wall_s_per_batch_median": round(float(np.median(wall[after])), 4),
        "memory_mb": {
            "first": round(rss[0], 1),
            "last": round(rss[-1], 1),
            "slope_mb_per_batch_second_half": round(
                float(np.polyfit(np.arange(len(rss))[len(rss) // 2 :], rss[len(rss) // 2 :], 1)[0]),
                3,
            ),
        },
        "events": alerts,
        "live_findings_stored": runner.findings.stored if runner.findings else 0,
        "errors": errors,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(result["cpu_s_per_10k_pings_median"]), result["memory_mb"], errors)


if __name__ == "__main__":
    main()
