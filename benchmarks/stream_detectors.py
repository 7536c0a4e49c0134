"""Stream-detector benchmark: the muck-truck detector on a synthetic city's truck GPS, replayed in
time order in micro-batches, beside a bare consumer of the same batches (it decodes each to
pandas and discards it: the ceiling) and the batch topic's rules on the same pings, in one run.

    uv run python benchmarks/stream_detectors.py --city /tmp/live-city --batch-rows 10000 \
        --out benchmarks/results/stream_detectors.json

Figures: pings per second through the detector and through the bare consumer; the detector's time
per batch (p50/p95: what it adds to publish → alert latency); the process's memory and the
detector's saved state (JSON bytes) every tenth of the run, to show they stay flat; and how far
the live violations agree with the batch topic's (outside hours, dumping, speeding; truck-days).
The MQTT landing alone is measured by benchmarks/stream_drain.py; the whole live path (publish →
land → detector → finding, with latency) by benchmarks/stream.py.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from machine import machine

from citybrain.core.engine import open_engine
from citybrain.stream import StreamBatch
from citybrain.stream.detectors.muck_trucks import MuckTruckDetector
from citybrain.topics.builtin.muck_trucks.rules import RuleLimits
from citybrain.topics.builtin.muck_trucks.track import TrackRules
from citybrain.topics.builtin.muck_trucks.violations import find_violations


def read_city(city: Path) -> tuple[pa.Table, pd.DataFrame, dict[str, tuple[int, int]], pa.Table]:
    gps = pa.concat_tables(
        pq.read_table(p) for p in sorted((city / "muck_truck_gps").glob("gps_*.parquet"))
    )
    gps = gps.cast(gps.schema.set(1, pa.field("vehicle_no", pa.string())))
    sites = pd.read_json(city / "construction_sites" / "sites.jsonl", lines=True)
    sites = sites.rename(columns={"longitude": "lon", "latitude": "lat"})[["lon", "lat"]]
    permits = pacsv.read_csv(
        city / "muck_transport_permits" / "渣土运输核准.csv",
        read_options=pacsv.ReadOptions(encoding="gbk"),
    )
    hours = {
        str(plate): (int(h[:2]) * 60 + int(h[3:5]), int(h[6:8]) * 60 + int(h[9:11]))
        for plate, h in zip(
            permits["车牌号码"].to_pylist(), permits["准运时段"].to_pylist(), strict=True
        )
    }
    return gps.sort_by("gps_time"), sites, hours, permits


def run_detector(
    gps: pa.Table, sites: pd.DataFrame, hours: dict[str, tuple[int, int]], rows: int
) -> dict[str, Any]:
    detector = MuckTruckDetector(sources=("gps",), sites=sites, plate_hours=hours)
    state = detector.initial_state()
    process = psutil.Process()
    per_batch: list[float] = []
    samples: list[dict[str, float]] = []
    found: set[tuple[str, str, str]] = set()
    n_batches = -(-gps.num_rows // rows)
    started = time.perf_counter()
    for k, start in enumerate(range(0, gps.num_rows, rows)):
        t0 = time.perf_counter()
        events = detector.process(StreamBatch("gps", f"l{k}", gps.slice(start, rows)), state)
        state = json.loads(json.dumps(state))  # what the runner saves after every batch
        per_batch.append(time.perf_counter() - t0)
        for e in events:
            if e.type == "truck.violation":
                found.add((e.data["plate"], e.data["kind"], e.data["day"]))
        if k % max(1, n_batches // 10) == 0:
            samples.append(
                {
                    "batch": k,
                    "rss_mb": round(process.memory_info().rss / 2**20, 1),
                    "state_kb": round(len(json.dumps(state)) / 1024, 1),
                }
            )
    seconds = time.perf_counter() - started
    latency = np.array(per_batch)
    return {
        "pings": gps.num_rows,
        "batches": len(per_batch),
        "seconds": round(seconds, 3),
        "pings_per_second": round(gps.num_rows / seconds),
        "batch_ms_p50": round(float(np.percentile(latency, 50)) * 1000, 1),
        "batch_ms_p95": round(float(np.percentile(latency, 95)) * 1000, 1),
        "memory_and_state": samples,
        "counts": state["counts"],
        "violations": found,
    }


def run_bare(gps: pa.Table, rows: int) -> dict[str, Any]:
    started = time.perf_counter()
    seen = 0
    for start in range(0, gps.num_rows, rows):
        seen += len(gps.slice(start, rows).to_pandas())  # decoded, then dropped
    seconds = time.perf_counter() - started
    return {"pings": seen, "seconds": round(seconds, 4), "pings_per_second": round(seen / seconds)}


def run_batch(gps: pa.Table, permits: pa.Table, sites: pd.DataFrame, work: Path) -> dict[str, Any]:
    std = pa.table(
        {
            "plate": gps["vehicle_no"],
            "ts": pa.array((gps["gps_time"].to_numpy() + 8 * 3600 * 1000).astype("datetime64[ms]")),
            "lon": gps["lng"],
            "lat": gps["lat"],
            "speed": gps["speed"],
            "loaded": pa.array(gps["load_status"].to_numpy() == 1),
        }
    )
    p = pa.table(
        {
            "permit_no": permits["核准证号"],
            "plate": permits["车牌号码"],
            "allowed_hours": permits["准运时段"],
            "valid_from": permits["有效期起"],
            "valid_to": permits["有效期止"],
        }
    )
    started = time.perf_counter()
    with open_engine("duckdb", work) as engine:
        v = find_violations(
            engine,
            engine.register("pings", std),
            engine.register("permits", p),
            engine.register("sites", pa.Table.from_pandas(sites)),
            TrackRules(),
            RuleLimits(),
        )
    seconds = time.perf_counter() - started
    found = {
        (str(a), str(b), str(c))
        for a, b, c in v[["plate", "kind", "period"]].itertuples(index=False, name=None)
        if b != "no_permit"
    }
    return {
        "seconds": round(seconds, 3),
        "pings_per_second": round(gps.num_rows / seconds),
        "violations": found,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--city", type=Path, required=True, help="a `citybrain sim` output folder")
    parser.add_argument("--batch-rows", type=int, default=10_000)
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/stream_detectors.json")
    )
    args = parser.parse_args()
    load = os.getloadavg()
    gps, sites, hours, permits = read_city(args.city)
    bare = run_bare(gps, args.batch_rows)
    live = run_detector(gps, sites, hours, args.batch_rows)
    work = args.out.parent / ".stream_detectors_lake"
    batch = run_batch(gps, permits, sites, work)
    a, b = live.pop("violations"), batch.pop("violations")
    agreement = {
        "live": len(a),
        "batch": len(b),
        "both": len(a & b),
        "live_only": sorted(map(list, a - b))[:20],
        "batch_only": sorted(map(list, b - a))[:20],
    }
    result = {
        "benchmark": "stream_detectors",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(load),
        "inputs": {"city": str(args.city), "pings": gps.num_rows, "batch_rows": args.batch_rows},
        "detector": live,
        "bare_consumer": bare,
        "batch_topic_rules": batch,
        "agreement": agreement,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
    print(f"pings              {gps.num_rows:>12,}  (batches of {args.batch_rows:,})")
    print(f"bare consumer      {bare['pings_per_second']:>12,} pings/s")
    print(f"muck detector      {live['pings_per_second']:>12,} pings/s   "
          f"batch p50 {live['batch_ms_p50']} ms, p95 {live['batch_ms_p95']} ms")  # fmt: skip
    print(f"batch topic rules  {batch['pings_per_second']:>12,} pings/s")
    print(f"violations         live {len(a)}, batch {len(b)}, both {len(a & b)}")
    print(f"load average       {os.getloadavg()[0]:.2f}   → {args.out}")


if __name__ == "__main__":
    main()
