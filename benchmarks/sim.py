"""Benchmark the synthetic-city generator: records/s and peak RSS per scale.

Each scale runs in its own child process, so its peak resident memory is measured alone
(``os.wait4``). Beside it, in the same run, a reference: writing the same number of random rows
as the bulk tables straight to Parquet with NumPy + PyArrow, the ceiling for those tables (capped
at 100 million rows; its rate is what compares). The child reports progress on stderr (every
few seconds: rows so far, rows/s, RSS), so a long city run can be followed in a log.

Usage: uv run python benchmarks/sim.py [--scales tiny,small,district] [--out bench-sim.json]
       nice -n 19 uv run python benchmarks/sim.py --scales city --work /tmp/citycity --clean \
           --out bench-sim-city.json 2> city.log
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# the bulk tables: monthly meter readings, bike positions, truck GPS pings, sensor readings
# (module names; the bikes module writes all three operators)
BULK = (
    "water_utility",
    "power_grid",
    "gas_utility",
    "bike_meituan",
    "muck_truck_gps",
    "air_quality_sensors",
    "parking_occupancy",
)
REFERENCE_CAP = 100_000_000

_CHILD = """
import json, resource, sys, time
from citybrain.sim import generate
t = time.perf_counter()
seen = {"rows": 0, "at": t}
def progress(system, rows):
    seen["rows"] += rows
    now = time.perf_counter()
    if now - seen["at"] >= 10:
        seen["at"] = now
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"{time.strftime('%H:%M:%S')} {system}: {seen['rows']:,} rows, "
              f"{seen['rows'] / (now - t):,.0f}/s, peak RSS {rss} MB", file=sys.stderr, flush=True)
r = generate(sys.argv[1], 7, sys.argv[2], on_progress=progress)
print(json.dumps({"seconds": time.perf_counter() - t, "rows": r.rows,
                  "module_seconds": r.seconds, "module_rows": r.module_rows,
                  "module_cpu_seconds": r.cpu_seconds}))
"""

_REFERENCE = """
import json, sys, time
import numpy as np, pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
pa.array([1]).cast(pa.string())  # Arrow's first cast pays a one-off start-up of seconds
n = int(sys.argv[1]); t = time.perf_counter(); rng = np.random.default_rng(0)
w = pq.ParquetWriter(sys.argv[2], pa.schema([("record_id", pa.string()), ("cons_no", pa.string()),
    ("kwh", pa.float64()), ("this_read", pa.float64())]))
for start in range(0, n, 1_000_000):
    k = min(1_000_000, n - start)
    seq = pa.array(np.arange(start, start + k)).cast(pa.string())
    ids = pc.binary_join_element_wise("30", seq, "")
    w.write_table(pa.table({"record_id": ids, "cons_no": ids, "kwh": rng.uniform(0, 900, k),
                            "this_read": rng.uniform(0, 9e4, k)}))
w.close()
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def _run(code: str, *args: str) -> tuple[dict[str, object], float, float]:
    """Run a child Python; its JSON output, peak RSS in MB and CPU seconds (all threads)."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child failed with {proc.returncode}")
    return json.loads(out), usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def _versions() -> dict[str, str]:
    import numpy
    import pyarrow

    import citybrain

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pyarrow": pyarrow.__version__,
        "citybrain": citybrain.__version__,
    }


def _machine() -> dict[str, object]:
    mem = 0
    with contextlib.suppress(ValueError, OSError):
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
        "memory_mb": mem,
    }


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def bench_scale(scale: str, work: Path, clean: bool) -> dict[str, object]:
    result, rss, cpu = _run(_CHILD, scale, str(work / scale))
    rows = result["rows"]
    assert isinstance(rows, dict)
    seconds = float(result["seconds"])  # type: ignore[arg-type]
    mod_rows, mod_sec = result["module_rows"], result["module_seconds"]
    assert isinstance(mod_rows, dict) and isinstance(mod_sec, dict)
    bulk_rows = sum(int(mod_rows[s]) for s in BULK)
    bulk_sec = sum(float(mod_sec[s]) for s in BULK)
    mod_cpu = result["module_cpu_seconds"]
    assert isinstance(mod_cpu, dict)
    bulk_cpu = sum(float(mod_cpu[s]) for s in BULK)
    total = sum(int(v) for v in rows.values())
    size = _size(work / scale)
    if clean:  # the city takes tens of GB of a shared disk
        shutil.rmtree(work / scale)
    ref_rows = min(bulk_rows, REFERENCE_CAP)
    ref, ref_rss, _ = _run(_REFERENCE, str(ref_rows), str(work / f"{scale}-ref.parquet"))
    (work / f"{scale}-ref.parquet").unlink()
    ref_sec = float(ref["seconds"])  # type: ignore[arg-type]
    return {
        "scale": scale,
        "records": total,
        "seconds": round(seconds, 2),
        "records_per_s": round(total / seconds),
        "cpu_seconds": round(cpu, 1),
        "records_per_cpu_s": round(total / max(cpu, 1e-9)),
        "peak_rss_mb": round(rss),
        "bytes_on_disk": size,
        "bulk_tables": {
            "modules": list(BULK),
            "records": bulk_rows,
            "seconds": round(bulk_sec, 2),
            "records_per_s": round(bulk_rows / max(bulk_sec, 1e-9)),
            "cpu_seconds": round(bulk_cpu, 2),
            "records_per_cpu_s": round(bulk_rows / max(bulk_cpu, 1e-9)),
            "load_average_1m": os.getloadavg()[0],
        },
        "reference_parquet_write": {
            "records": ref_rows,
            "seconds": round(ref_sec, 2),
            "records_per_s": round(ref_rows / max(ref_sec, 1e-9)),
            "peak_rss_mb": round(ref_rss),
        },
        "modules": {
            k: {
                "rows": int(mod_rows.get(k, 0)),
                "seconds": round(float(v), 3),
                "records_per_s": round(int(mod_rows.get(k, 0)) / max(float(v), 1e-9)),
            }
            for k, v in mod_sec.items()
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="tiny,small,district")
    ap.add_argument("--out", default="bench-sim.json")
    ap.add_argument("--work", default=None, help="Folder for the generated cities (temp dir).")
    ap.add_argument("--clean", action="store_true", help="Delete each city once measured.")
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="citybrain-bench-sim-"))
    started = time.time()
    runs = []
    for scale in args.scales.split(","):
        r = bench_scale(scale.strip(), work, args.clean)
        runs.append(r)
        bulk = r["bulk_tables"]
        ref = r["reference_parquet_write"]
        assert isinstance(bulk, dict) and isinstance(ref, dict)
        print(
            f"{scale:>9}: {r['records']:>13,} records {r['seconds']:>8}s "
            f"{r['records_per_s']:>11,}/s  peak RSS {r['peak_rss_mb']:>6} MB  "
            f"bulk tables {bulk['records_per_s']:>11,}/s "
            f"({bulk['records_per_cpu_s']:>11,}/CPU-s)  "
            f"reference Parquet write {ref['records_per_s']:>11,}/s  "
            f"load {bulk['load_average_1m']:.1f}"
        )
    report = {
        "benchmark": "sim",
        "machine": _machine(),
        "versions": _versions(),
        "inputs": {"scales": args.scales, "seed": 7},
        "started": started,
        "runs": runs,
        "load_average_after": os.getloadavg(),
        "targets": {"bulk_tables_records_per_s": 5_000_000, "peak_rss_mb": 4096},
    }
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
