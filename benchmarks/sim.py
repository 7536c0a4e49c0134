"""Benchmark the synthetic-city generator: records/s, CPU and peak memory per scale.

Each scale runs in its own child process, which generates with ``--workers`` worker processes
(default: the CPUs available). Peak memory is the sum of resident memory over the child's whole
process tree, sampled every 0.2 s with psutil (one process's ru_maxrss would miss the workers);
CPU seconds come from ``os.wait4`` (the child and the workers it waited for). The bulk tables'
rate is wall clock: their rows over the time from the first bulk module starting to the last one
ending, with all workers busy. Beside it, in the same run, the reference: writing the same number
of random rows as the bulk tables straight to Parquet with NumPy + PyArrow (capped at 100 million
rows; its rate is what compares), in one process and in ``--workers`` processes at once. The
child reports progress on stderr every few seconds, so a long city run can be followed in a log.

Usage: uv run python benchmarks/sim.py [--scales tiny,small,district] [--out bench-sim.json]
           [--workers N] [--records N] [--months N]
       nice -n 19 uv run python benchmarks/sim.py --scales city --work /tmp/citycity --clean \
           --out bench-sim-city.json 2> city.log
``--months 3 --scales city`` is the city's shape (full-size batches, Parquet hand-over) for a
quarter: a quick look at the bulk tables' city rate without the 20-minute run.
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
import threading
import time
from pathlib import Path

import psutil  # type: ignore[import-untyped]

REFERENCE_CAP = 100_000_000

_CHILD = """
import json, sys, time
from citybrain.sim import generate
from citybrain.sim.systems import BULK
t = time.perf_counter()
seen = {"rows": 0, "at": t}
def progress(system, rows):
    seen["rows"] += rows
    now = time.perf_counter()
    if now - seen["at"] >= 10:
        seen["at"] = now
        print(f"{time.strftime('%H:%M:%S')} {system}: {seen['rows']:,} rows, "
              f"{seen['rows'] / (now - t):,.0f}/s", file=sys.stderr, flush=True)
import dataclasses
from citybrain.sim import resolve_scale
records = int(sys.argv[4]) if sys.argv[4] != "-" else None
scale = resolve_scale(sys.argv[1], records)
if sys.argv[5] != "-":  # the same city, fewer months: bulk tables in their full-size batches
    scale = dataclasses.replace(scale, months=int(sys.argv[5]), name=f"{scale.name}/{sys.argv[5]}m")
r = generate(scale, 7, sys.argv[2], on_progress=progress, workers=int(sys.argv[3]))
print(json.dumps({"seconds": time.perf_counter() - t, "rows": r.rows, "bulk": list(BULK),
                  "bulk_wall_seconds": r.wall_seconds(BULK), "workers": r.workers,
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


def _tree_rss(proc: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (gone ones count as 0)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def _run(code: str, *args: str) -> tuple[dict[str, object], float, float]:
    """Run a child Python; its JSON output, peak RSS of its process tree in MB, and CPU seconds
    of the child and the workers it waited for."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    tree, peak = psutil.Process(proc.pid), 0
    while reader.is_alive():
        peak = max(peak, _tree_rss(tree))
        time.sleep(0.2)
    reader.join()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child failed with {proc.returncode}")
    return json.loads(b"".join(chunks)), peak / 2**20, usage.ru_utime + usage.ru_stime


def _reference(rows: int, work: Path, processes: int) -> dict[str, object]:
    """The bare Arrow→Parquet write of ``rows`` rows, split over ``processes`` at once."""
    share = -(-rows // processes)
    paths = [work / f"ref-{i}.parquet" for i in range(processes)]
    t = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _REFERENCE, str(share), str(p)], stdout=subprocess.PIPE
        )
        for p in paths
    ]
    for proc in procs:
        proc.communicate()
        if proc.returncode:
            raise SystemExit(f"reference failed with {proc.returncode}")
    seconds = time.perf_counter() - t
    for path in paths:
        path.unlink()
    return {
        "processes": processes,
        "records": share * processes,
        "seconds": round(seconds, 2),
        "records_per_s": round(share * processes / max(seconds, 1e-9)),
    }


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


def bench_scale(
    scale: str, work: Path, clean: bool, workers: int, records: int | None, months: int | None
) -> dict[str, object]:
    load_start = os.getloadavg()
    result, rss, cpu = _run(
        _CHILD,
        scale,
        str(work / scale),
        str(workers),
        str(records) if records else "-",
        str(months) if months else "-",
    )
    load_end = os.getloadavg()
    rows = result["rows"]
    bulk = result["bulk"]
    assert isinstance(rows, dict) and isinstance(bulk, list)
    seconds = float(result["seconds"])  # type: ignore[arg-type]
    mod_rows, mod_sec = result["module_rows"], result["module_seconds"]
    mod_cpu = result["module_cpu_seconds"]
    assert isinstance(mod_rows, dict) and isinstance(mod_sec, dict) and isinstance(mod_cpu, dict)
    bulk_rows = sum(int(mod_rows[s]) for s in bulk)
    bulk_wall = float(result["bulk_wall_seconds"])  # type: ignore[arg-type]
    bulk_cpu = sum(float(mod_cpu[s]) for s in bulk)
    total = sum(int(v) for v in rows.values())
    size = _size(work / scale)
    if clean:  # the city takes tens of GB of a shared disk
        shutil.rmtree(work / scale)
    ref_rows = min(bulk_rows, REFERENCE_CAP)
    return {
        "scale": scale,
        "records_option": records,
        "months_option": months,
        "workers": result["workers"],
        "records": total,
        "seconds": round(seconds, 2),
        "records_per_s": round(total / seconds),
        "cpu_seconds": round(cpu, 1),
        "records_per_cpu_s": round(total / max(cpu, 1e-9)),
        "peak_rss_mb": round(rss),
        "peak_rss_measure": "sum of RSS over the process tree, sampled every 0.2 s",
        "bytes_on_disk": size,
        "load_average_start": load_start,
        "load_average_end": load_end,
        "bulk_tables": {
            "modules": bulk,
            "records": bulk_rows,
            "wall_seconds": round(bulk_wall, 2),
            "records_per_s": round(bulk_rows / max(bulk_wall, 1e-9)),
            "cpu_seconds": round(bulk_cpu, 2),
            "records_per_cpu_s": round(bulk_rows / max(bulk_cpu, 1e-9)),
        },
        "reference_parquet_write": _reference(ref_rows, work, 1),
        "reference_parquet_write_parallel": _reference(ref_rows, work, int(result["workers"])),  # type: ignore[call-overload]
        "modules": {
            k: {
                "rows": int(mod_rows.get(k, 0)),
                "seconds": round(float(v), 3),
                "cpu_seconds": round(float(mod_cpu.get(k, 0.0)), 3),
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
    ap.add_argument(
        "--workers", type=int, default=len(os.sched_getaffinity(0)), help="Worker processes."
    )
    ap.add_argument("--records", type=int, default=None, help="Resize each scale to N records.")
    ap.add_argument(
        "--months", type=int, default=None, help="Cover N months only (same city, same batches)."
    )
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="citybrain-bench-sim-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    runs = []
    for scale in args.scales.split(","):
        r = bench_scale(scale.strip(), work, args.clean, args.workers, args.records, args.months)
        runs.append(r)
        bulk = r["bulk_tables"]
        ref = r["reference_parquet_write"]
        par = r["reference_parquet_write_parallel"]
        assert isinstance(bulk, dict) and isinstance(ref, dict) and isinstance(par, dict)
        print(
            f"{scale:>9}: {r['records']:>13,} records {r['seconds']:>8}s "
            f"{r['records_per_s']:>11,}/s ({r['records_per_cpu_s']:>10,}/CPU-s)  "
            f"peak RSS (tree) {r['peak_rss_mb']:>6} MB  "
            f"bulk tables {bulk['records_per_s']:>11,}/s wall "
            f"({bulk['records_per_cpu_s']:>11,}/CPU-s)  "
            f"reference Parquet write {ref['records_per_s']:>11,}/s, "
            f"{par['processes']} processes {par['records_per_s']:>11,}/s  "
            f"load {r['load_average_start'][0]:.1f} → {r['load_average_end'][0]:.1f}"  # type: ignore[index]
        )
    report = {
        "benchmark": "sim",
        "machine": _machine(),
        "versions": _versions(),
        "inputs": {
            "scales": args.scales,
            "seed": 7,
            "workers": args.workers,
            "records": args.records,
            "months": args.months,
        },
        "started": started,
        "runs": runs,
        "load_average_after": os.getloadavg(),
        "targets": {"bulk_tables_records_per_s": 5_000_000, "peak_rss_mb": 4096},
    }
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
