"""Scale benchmark: the whole pipeline (`citybrain run`) on synthetic cities of several sizes, each
beside a bare read of the same files (the floor), in one run.

Writes JSON (machine, versions, per size: records, wall time, time / rows / own peak RSS per step
from the ops database, peak RSS of the whole process tree, disk per lake zone, the floor) and
prints a table::

    uv run python benchmarks/scale.py --sizes small,10M --out benchmarks/results/scale.json

A size is a named scale (``tiny``, ``small``, ``district``, ``city``) or a record count (``10M``,
``100M``, ``1.2B``: the ``--base`` scale resized to about that many records). Sources that need a
server (HTTP APIs, MQTT) are left out and listed in the JSON; generation of the city is timed apart
and is not part of the pipeline's figures. The floor reads every byte of every source file once
(the page cache is warm from generation, as it is for the pipeline) — no parsing, so it is a floor.

The targets of issue 25 are judged from the figures: cost per record no worse than linear across
sizes, the city (1.23 B records) in under an hour with peak RSS under 16 GiB — extrapolated
linearly from the largest size run here, and the JSON names the step that holds it back.

After the full run, each size gets 1 % new data — a new delivery of the largest multi-file Parquet
source (copies of its latest rows, so the load is new and its records are real ones) — and a
second ``citybrain run``, the nightly incremental run, is timed beside the full one: which steps
ran again and which were skipped as unchanged (target: under 5 % of the full run's time).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from glob import glob
from pathlib import Path
from typing import Any

import psutil
import yaml

CITY_RECORDS = 1_230_000_000
FILE_KINDS = {"csv", "xlsx", "jsonl", "json", "parquet", "sql"}
SUFFIXES = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


def parse_size(text: str) -> tuple[str, int | None]:
    """``small`` → ("small", None); ``10M`` → ("10M", 10_000_000)."""
    last = text[-1].upper()
    if last in SUFFIXES:
        return text, int(float(text[:-1]) * SUFFIXES[last])
    if text.isdigit():
        return text, int(text)
    return text, None


class TreeSampler:
    """Peak resident memory of a process and all its children, sampled every ``every`` s."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.root = psutil.Process(pid)
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)


def disk(path: Path) -> int:
    """Bytes of a file, or of every file under a folder (0 when absent)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def prepare(size: str, records: int | None, base: str, work: Path, seed: int) -> dict[str, Any]:
    from citybrain.core.workspace import Workspace
    from citybrain.ingest.simsources import write_sim_sources
    from citybrain.sim.generate import generate

    sim, ws = work / "sim", work / "ws"
    started = time.perf_counter()
    if records is None:
        generate(size, seed, sim)
    else:
        generate(base, seed, sim, records=records)
    generated = time.perf_counter() - started
    workspace = Workspace.init(ws)
    write_sim_sources(workspace.root / "sources", sim)
    left_out, files = [], []
    for contract in sorted((workspace.root / "sources").glob("*.yaml")):
        connector = yaml.safe_load(contract.read_text("utf-8"))["connector"]
        if connector["kind"] not in FILE_KINDS:
            left_out.append(f"{contract.stem} ({connector['kind']})")
            contract.unlink()
            continue
        pattern = str(connector.get("path", ""))  # an absolute pattern: Path.glob takes none
        files += [Path(p) for p in sorted(glob(pattern))]  # noqa: PTH207
    return {
        "workspace": workspace.root,
        "sim": sim,
        "generate_seconds": round(generated, 1),
        "sim_bytes": disk(sim),
        "left_out_sources": left_out,
        "files": files,
    }


def floor(files: list[Path]) -> dict[str, Any]:
    """Read every byte of every source file once."""
    started = time.perf_counter()
    total = 0
    for path in files:
        with path.open("rb") as handle:
            while chunk := handle.read(8 << 20):
                total += len(chunk)
    return {"seconds": round(time.perf_counter() - started, 2), "bytes": total, "files": len(files)}


def run_pipeline(workspace: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "citybrain", "-w", str(workspace), "run"]
    env = {**os.environ, "COLUMNS": "200"}
    started = time.perf_counter()
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc, TreeSampler(proc.pid) as tree:  # fmt: skip
        out, err = proc.communicate()
    wall = time.perf_counter() - started
    runs = subprocess.run(
        [sys.executable, "-m", "citybrain", "-w", str(workspace), "runs", "-n", "1", "--json"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    (run,) = json.loads(runs)
    return {
        "exit_code": proc.returncode,
        "status": run["status"],
        "error": run["error_message"] or (err.strip().splitlines() or [""])[-1]
        if proc.returncode
        else run["error_message"],
        "wall_seconds": round(wall, 1),
        "peak_rss_tree_bytes": tree.peak,
        "steps": run["steps"],
        "stdout_tail": out.strip().splitlines()[-3:],
    }


def deliver_one_percent(workspace: Path, records: int) -> dict[str, Any]:
    """A new delivery of about 1 % of ``records``: the latest rows of the largest source that
    delivers Parquet files by a pattern, copied into a new file its pattern matches."""
    import pyarrow.parquet as pq

    best: tuple[int, str, Path, str] | None = None
    for contract in sorted((workspace / "sources").glob("*.yaml")):
        connector = yaml.safe_load(contract.read_text("utf-8"))["connector"]
        pattern = str(connector.get("path", ""))
        if connector["kind"] != "parquet" or "*" not in Path(pattern).name:
            continue
        files = sorted(glob(pattern))  # noqa: PTH207
        rows = sum(pq.read_metadata(f).num_rows for f in files)
        if files and (best is None or rows > best[0]):
            best = (rows, contract.stem, Path(files[-1]), pattern)
    if best is None:
        return {"note": "no Parquet source delivered by a file pattern: no new delivery"}
    _, system, latest, pattern = best
    table = pq.read_table(latest)
    wanted = max(1, min(table.num_rows, records // 100))
    new = table.slice(table.num_rows - wanted)
    target = latest.parent / Path(pattern).name.replace("*", "zz-incremental")
    pq.write_table(new, target)
    return {"system": system, "rows": new.num_rows, "file": str(target),
            "share_of_records": round(new.num_rows / max(records, 1), 4)}  # fmt: skip


def by_family(steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per step family (all ``ingest:*`` together): seconds, rows, the highest own peak RSS."""
    families: dict[str, dict[str, Any]] = {}
    for step in steps:
        name = step["name"].split(":")[0]
        fam = families.setdefault(
            name, {"seconds": 0.0, "rows_in": 0, "rows_out": 0, "peak_rss_bytes": 0, "steps": 0}
        )
        fam["seconds"] = round(fam["seconds"] + (step["seconds"] or 0.0), 2)
        fam["rows_in"] += step["rows_in"] or 0
        fam["rows_out"] += step["rows_out"] or 0
        fam["peak_rss_bytes"] = max(fam["peak_rss_bytes"], step["peak_rss_bytes"] or 0)
        fam["steps"] += 1
    return families


def measure(size: str, records: int | None, base: str, work: Path, seed: int) -> dict[str, Any]:
    prepared = prepare(size, records, base, work, seed)
    workspace = prepared.pop("workspace")
    prepared.pop("sim")
    bare = floor(prepared.pop("files"))
    pipeline = run_pipeline(workspace)
    families = by_family(pipeline["steps"])
    read = families.get("ingest", {}).get("rows_in", 0)
    delivered = deliver_one_percent(workspace, read)
    again = run_pipeline(workspace)
    skipped = [s["name"] for s in again["steps"] if "unchanged since run" in (s["summary"] or "")]
    incremental = {
        "new_delivery": delivered,
        **{k: v for k, v in again.items() if k != "steps"},
        "share_of_full_run": round(again["wall_seconds"] / max(pipeline["wall_seconds"], 1e-9), 3),
        "steps_run": [s["name"] for s in again["steps"] if s["name"] not in skipped],
        "steps_skipped": skipped,
        "seconds_by_step": {s["name"]: s["seconds"] for s in again["steps"]
                            if s["name"] not in skipped},
    }  # fmt: skip
    incremental["under_5_percent"] = incremental["share_of_full_run"] < 0.05
    lake = workspace  # the default lake is the workspace folder
    result: dict[str, Any] = {
        "size": size,
        "records_read": read,
        **prepared,
        "floor": bare,
        "pipeline": {k: v for k, v in pipeline.items() if k != "steps"},
        "steps": families,
        "step_detail": pipeline["steps"],
        "incremental": incremental,
        "disk_bytes": {
            zone: disk(lake / zone) for zone in ("raw", "quarantine", "std", "base", "topic")
        }
        | {
            "duckdb": disk(workspace / "citybrain.duckdb"),
            "ops_db": disk(workspace / "ops.sqlite"),
        },
    }
    if read:
        result["records_per_second"] = round(read / pipeline["wall_seconds"])
        result["seconds_per_million"] = {
            name: round(fam["seconds"] / read * 1e6, 3) for name, fam in families.items()
        }
    return result


def judge(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's targets, from the largest size run (linear extrapolation to the city)."""
    failed = [r["size"] for r in results if r["pipeline"]["exit_code"] != 0]
    done = [r for r in results if r.get("records_read") and r["size"] not in failed]
    if not done:
        return {"note": "no size ran the whole pipeline", "failed_sizes": failed}
    largest = max(done, key=lambda r: r["records_read"])
    factor = CITY_RECORDS / largest["records_read"]
    city_seconds = largest["pipeline"]["wall_seconds"] * factor
    slowest = max(largest["steps"].items(), key=lambda kv: kv[1]["seconds"])
    verdict: dict[str, Any] = {
        "extrapolated_from": largest["size"],
        "city_seconds_if_linear": round(city_seconds),
        "city_under_1_hour": city_seconds < 3600,
        "step_holding_it_back": slowest[0],
        "its_share": round(
            slowest[1]["seconds"] / max(largest["pipeline"]["wall_seconds"], 1e-9), 2
        ),
        "peak_rss_tree_gib_at_largest": round(
            largest["pipeline"]["peak_rss_tree_bytes"] / 2**30, 2
        ),
        "note": "memory cannot be extrapolated linearly; only a run at the city size answers the "
        "16 GiB target",
        "failed_sizes": failed,
        "incremental_share_of_full_run": largest["incremental"]["share_of_full_run"],
        "incremental_under_5_percent": largest["incremental"]["under_5_percent"],
        "incremental_steps_run": largest["incremental"]["steps_run"],
    }
    if len(done) >= 2:
        small, big = sorted(done, key=lambda r: r["records_read"])[:: len(done) - 1]
        per_small = small["pipeline"]["wall_seconds"] / small["records_read"]
        per_big = big["pipeline"]["wall_seconds"] / big["records_read"]
        verdict["cost_per_record_ratio_largest_to_smallest"] = round(per_big / per_small, 3)
        verdict["no_worse_than_linear"] = per_big <= per_small * 1.1
    return verdict


def machine() -> dict[str, Any]:
    import duckdb

    from citybrain import __version__

    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "citybrain": __version__,
        "duckdb": duckdb.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="small", help="comma-separated: small,10M,100M,city")
    parser.add_argument("--base", default="district", help="scale resized for numeric sizes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temp)")
    parser.add_argument("--keep", action="store_true", help="keep each size's city and workspace")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/scale.json"))
    args = parser.parse_args()
    root = args.work or Path(tempfile.mkdtemp(prefix="citybrain-scale-"))
    results = []
    for text in args.sizes.split(","):
        size, records = parse_size(text.strip())
        work = root / size
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        print(f"{size}: generating and running the pipeline in {work}", flush=True)
        result = measure(size, records, args.base, work, args.seed)
        results.append(result)
        print(
            f"{size}: {result['pipeline']['status']}, {result['records_read']:,} records, "
            f"{result['pipeline']['wall_seconds']} s ({result.get('records_per_second', 0):,}/s), "
            f"tree peak {result['pipeline']['peak_rss_tree_bytes'] / 2**30:.2f} GiB, "
            f"floor {result['floor']['seconds']} s; "
            + ", ".join(f"{k} {v['seconds']} s" for k, v in result["steps"].items()),
            flush=True,
        )
        again = result["incremental"]
        print(
            f"{size}: incremental run after {again['new_delivery'].get('rows', 0):,} new rows: "
            f"{again['status']}, {again['wall_seconds']} s = {again['share_of_full_run']:.1%} of "
            f"the full run; {len(again['steps_skipped'])} steps skipped, ran: "
            + ", ".join(again["steps_run"]),
            flush=True,
        )
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report = {
        "benchmark": "scale",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "engine": "duckdb",
        "sizes": results,
        "targets": judge(results),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n")
    print(json.dumps(report["targets"], indent=2))


if __name__ == "__main__":
    main()
