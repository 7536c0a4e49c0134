"""Shared bikes counted per zone, snapshot and operator: the range join the topic used (every last
report against every zone's box, four inequalities) beside the grid equi-join it uses now
(`counts.zone_counts`), on the same reports in the same run, on DuckDB (2 threads) or Spark
(``local[*]``); the counts must be equal.

    uv run python benchmarks/shared_bikes_counts.py [--reports 5000000] [--zones 1200]
        [--engine duckdb|spark] [--workspace WS] [--root /tmp/shared-bikes-bench]
        [--out benchmarks/results/shared_bikes_counts.json]

Without ``--workspace`` the reports are generated here with NumPy in the shape of the synthetic
city's (`citybrain sim`): zones of about 40 m × 20 m across a district (2 % of them triangles, so
the Shapely path runs too), 16,000 bikes per operator, 65 % of each snapshot's bikes parked in a
zone chosen by a skewed popularity, the rest anywhere, one in ten reporting again later in a
snapshot.
With ``--workspace`` the std tables ``bike_position`` and ``bike_zone`` of that workspace are read
(e.g. one month of ``citybrain sim --scale city --months 1``). Parts: ``last_reports`` (each
bike's last report per snapshot, which both ways count from), then each way whole (last reports,
join, counts to pandas). CPU seconds are this process's and its children's (DuckDB's threads,
Spark's JVM).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
import ibis
import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import shapely

from citybrain.core import Workspace
from citybrain.core.engine import Engine, open_engine
from citybrain.topics.builtin.shared_bikes import counts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine

THREADS = 2
SNAPSHOT_MINUTES = 15
BIKES_PER_OPERATOR = 16_000
ZONE_W, ZONE_H = 0.0004, 0.0002
AREA = (104.0, 30.5, 104.1, 30.65)  # lon0, lat0, lon1, lat1
T0 = np.datetime64("2023-01-01T06:00:00", "us")


def generate_zones(n: int, rng: np.random.Generator) -> pa.Table:
    lon0, lat0, lon1, lat1 = AREA
    x, y = rng.uniform(lon0, lon1 - ZONE_W, n), rng.uniform(lat0, lat1 - ZONE_H, n)
    boxes = shapely.box(x, y, x + ZONE_W, y + ZONE_H)
    odd = rng.random(n) < 0.02
    boxes[odd] = shapely.polygons(
        np.stack([np.c_[x, y], np.c_[x + ZONE_W, y], np.c_[x, y + ZONE_H], np.c_[x, y]], axis=1)[
            odd
        ]
    )
    return pa.table(
        {
            "zone_id": [f"TCQ{i:05d}" for i in range(n)],
            "name": [f"停放区{i}" for i in range(n)],
            "geometry": shapely.to_wkt(boxes, rounding_precision=7),
            "quota": rng.integers(5, 40, n),
        }
    )


def generate_reports(n: int, zones: pa.Table, rng: np.random.Generator) -> pa.Table:
    """About ``n`` reports: every bike of three operators once per snapshot, one in ten twice."""
    bounds = shapely.bounds(
        shapely.from_wkt(zones.column("geometry").to_numpy(zero_copy_only=False))
    )
    per_snapshot = 3 * BIKES_PER_OPERATOR
    snapshots = max(1, round(n / per_snapshot / 1.1))
    bike = np.tile(np.arange(per_snapshot), snapshots)
    snap = np.repeat(np.arange(snapshots), per_snapshot)
    twice = rng.random(bike.size) < 0.1
    bike, snap = np.concatenate([bike, bike[twice]]), np.concatenate([snap, snap[twice]])
    m = bike.size
    popularity = rng.pareto(1.5, len(bounds)) + 1
    zone = rng.choice(len(bounds), m, p=popularity / popularity.sum())
    parked = rng.random(m) < 0.65
    u, v = rng.random(m), rng.random(m)
    lon0, lat0, lon1, lat1 = AREA
    b = bounds[zone]
    lon = np.where(parked, b[:, 0] + u * (b[:, 2] - b[:, 0]), lon0 + u * (lon1 - lon0))
    lat = np.where(parked, b[:, 1] + v * (b[:, 3] - b[:, 1]), lat0 + v * (lat1 - lat0))
    # a second report comes later: two at one instant would leave the bike's place to chance
    later = np.arange(m) >= m - int(twice.sum())
    seconds = snap * SNAPSHOT_MINUTES * 60 + rng.integers(0, 300, m) + np.where(later, 300, 0)
    operators = np.array(counts.OPERATORS)
    return pa.table(
        {
            "operator": operators[bike // BIKES_PER_OPERATOR],
            "bike_id": np.char.add("B", (bike % BIKES_PER_OPERATOR).astype(str)),
            "ts": T0 + seconds.astype("timedelta64[s]"),
            "lon": np.round(lon, 6),
            "lat": np.round(lat, 6),
        }
    )


def range_join_counts(engine: Engine, reports: ibis.Table, zones: counts.Zones) -> pd.DataFrame:
    """The reference: the topic's counting before the grid (every report against every box)."""
    boxes = engine.register(
        "bench_zone_boxes",
        pa.Table.from_pandas(
            zones.table[["zone_id", "minx", "miny", "maxx", "maxy", "rectangle"]],
            preserve_index=False,
        ),
    )
    j = reports.join(
        boxes,
        [
            reports.lon >= boxes.minx,
            reports.lon <= boxes.maxx,
            reports.lat >= boxes.miny,
            reports.lat <= boxes.maxy,
        ],
    )
    exact = j.filter(j.rectangle)
    counted = engine.to_pandas(
        exact.group_by(["zone_id", "bucket", "operator"]).aggregate(bikes=exact.count())
    )
    odd = engine.to_pandas(
        j.filter(~j.rectangle).select("zone_id", "bucket", "operator", "lon", "lat")
    )
    shapes = odd["zone_id"].astype(str).map(zones.shapes).to_numpy(dtype=object)
    inside = shapely.contains_xy(shapes, odd["lon"].to_numpy(float), odd["lat"].to_numpy(float))
    extra = odd.loc[inside].groupby(["zone_id", "bucket", "operator"], as_index=False).size()
    both: pd.DataFrame = pd.concat(
        [counted, extra.rename(columns={"size": "bikes"})], ignore_index=True
    )
    return both


def last_reports_only(engine: Engine, reports: ibis.Table, zones: counts.Zones) -> pd.DataFrame:
    """The floor both ways share: each bike's last report per snapshot, made and summed."""
    return engine.to_pandas(reports.aggregate(n=reports.count(), lon=reports.lon.sum()))


PARTS: dict[str, Callable[[Engine, ibis.Table, counts.Zones], pd.DataFrame]] = {
    "last_reports": last_reports_only,
    "grid": counts.zone_counts,
    "range_join": range_join_counts,
}


def cpu_seconds() -> float:
    """CPU this process and its children have spent so far (Spark works in a JVM child)."""
    me = psutil.Process()
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def measure(
    engine: Engine, positions: ibis.Table, zones: counts.Zones, n: int
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    figures: dict[str, Any] = {}
    frames: dict[str, pd.DataFrame] = {}
    for name, part in PARTS.items():
        reports = counts.last_reports(positions, SNAPSHOT_MINUTES)
        start, cpu = time.perf_counter(), cpu_seconds()
        frames[name] = part(engine, reports, zones)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        figures[name] = {
            "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu, 2),
            "cpu_seconds_per_million_reports": round(cpu / n * 1e6, 3),
            "load_average_after": round(os.getloadavg()[0], 2),
        }
        print(name, figures[name], flush=True)
    return figures, frames


def same_counts(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    keys = ["zone_id", "bucket", "operator"]
    a = a.astype({"bikes": "int64"}).sort_values(keys).reset_index(drop=True)
    b = b.astype({"bikes": "int64"}).sort_values(keys).reset_index(drop=True)
    return a[[*keys, "bikes"]].astype(str).equals(b[[*keys, "bikes"]].astype(str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=5_000_000)
    parser.add_argument("--zones", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    parser.add_argument("--workspace", type=Path, help="read std.bike_position and std.bike_zone")
    parser.add_argument("--root", type=Path, default=Path("/tmp/shared-bikes-bench"))
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/shared_bikes_counts.json")
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    if args.workspace:
        workspace = Workspace(args.workspace)
        engine = open_engine(args.engine, workspace.lake, database=":memory:")
        inputs: dict[str, Any] = {"workspace": str(args.workspace)}
    else:
        rng = np.random.default_rng(args.seed)
        if args.root.exists():
            shutil.rmtree(args.root)
        engine = open_engine(args.engine, args.root / "lake", database=args.root / "bench.duckdb")
        zones_table = generate_zones(args.zones, rng)
        engine.write(zones_table, "std", "bike_zone")
        engine.write(generate_reports(args.reports, zones_table, rng), "std", "bike_position")
        inputs = {"generated": True, "seed": args.seed}
    with engine:
        if args.engine == "duckdb":
            engine.ibis.raw_sql(f"SET threads = {THREADS}")
        positions = engine.table("std", "bike_position")
        zones = counts.read_zones(engine, engine.table("std", "bike_zone"))
        n = engine.count(positions)
        print(f"{n:,} reports, {len(zones.table):,} zones ({len(zones.shapes)} not rectangles)")
        figures, frames = measure(engine, positions, zones, n)
    equal = same_counts(frames["grid"], frames["range_join"])
    grid, reference = figures["grid"]["cpu_seconds"], figures["range_join"]["cpu_seconds"]
    result = {
        "benchmark": "shared_bikes_counts",
        "inputs": {
            **inputs,
            "reports": n,
            "zones": len(zones.table),
            "odd_zones": len(zones.shapes),
        },
        "engine": args.engine,
        "threads": THREADS if args.engine == "duckdb" else "local[*]",
        "parts": figures,
        "counts_equal": equal,
        "count_rows": len(frames["grid"]),
        "bikes_counted": int(frames["grid"]["bikes"].sum()),
        "cpu_times_cheaper": round(reference / grid, 1) if grid else None,
        "versions": {
            "duckdb": duckdb.__version__,
            "ibis": ibis.__version__,
            "pyspark": version("pyspark"),
        },
        "machine": machine(load_before),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if not equal:
        raise SystemExit("the grid's counts differ from the range join's")


if __name__ == "__main__":
    main()
