"""Ingest benchmark: our CSV and Parquet ingest beside DuckDB's own COPY and pandas, in one run.

Writes a JSON result (machine, versions, inputs, each side's figures) and prints a table::

    uv run python benchmarks/ingest.py --rows 2000000 --out benchmarks/results/ingest.json

Our side runs with mapping, validation and quarantine on: renames, casts, a date format, a code
list, a unit conversion, a required key, and about 0.1 % of rows made bad so quarantine is used.
Targets (issue 5): ≥ 0.6× the DuckDB ceiling, ≥ 3× pandas.

``--big-gb 8.5`` adds the memory check: the same CSV repeated into one file larger than that many
GiB (in the work folder, deleted afterwards; refused when it would leave under 15 GiB free), landed
by our ingest in a child process whose peak RSS the kernel reports (``wait4``), with its RSS sampled
every second to show it stays flat; DuckDB's COPY of the same file runs beside it the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from machine import machine

from citybrain.ingest import LoadOptions, load_file
from citybrain.ingest.check import check_text

CONTRACT = """\
id: bench_water
name: 自来水营业收费系统（基准）
owner: 市水务集团
connector: {connector}
mapping:
  columns:
    - {{source: 户号, target: account_no, required: true}}
    - {{source: 户主姓名, target: holder_name}}
    - {{source: 地址, target: address}}
    - {{source: 收费日期, target: charge_date, type: date, formats: ['%Y/%m/%d']}}
    - {{source: 用水量, target: volume_m3, type: float64, min: 0}}
    - {{source: 金额, target: amount_yuan, type: float64, unit: {{from: 分, to: 元}}}}
    - {{source: 状态, target: status, codes: {{'1': active, '0': closed, '2': suspended}}}}
    - {{source: 表号, target: meter_no, type: int64}}
keys: [account_no]
pii: [{{column: holder_name, kind: name, sensitivity: high}}]
drift: fail
"""


def make_data(rows: int, folder: Path, seed: int = 7) -> tuple[Path, Path]:
    """A water-billing export as CSV (UTF-8) and as Parquet (all text columns), same rows."""
    rng = np.random.default_rng(seed)
    csv_path, parquet_path = folder / "water.csv", folder / "water.parquet"
    surnames = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"))
    given = np.array(
        ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟"]
    )
    roads = np.array(["天府大道", "益州大道", "锦城大道", "府城大道", "剑南大道", "科华南路"])
    writer: pacsv.CSVWriter | None = None
    pwriter: pq.ParquetWriter | None = None
    step = 500_000
    for start in range(0, rows, step):
        n = min(step, rows - start)
        ids = np.arange(start, start + n)
        month = rng.integers(1, 13, n)
        day = rng.integers(1, 29, n)
        date = np.char.add(np.char.add("2024/", np.char.zfill(month.astype(str), 2)), "/")
        date = np.char.add(date, np.char.zfill(day.astype(str), 2))
        table = pa.table(
            {
                "户号": np.char.add("W", np.char.zfill(ids.astype(str), 9)),
                "户主姓名": np.char.add(rng.choice(surnames, n), rng.choice(given, n)),
                "地址": np.char.add(
                    np.char.add(rng.choice(roads, n), rng.integers(1, 999, n).astype(str)), "号"
                ),
                "收费日期": date,
                "用水量": np.round(rng.gamma(2.0, 6.0, n), 2).astype(str),
                "金额": rng.integers(100, 50_000, n).astype(str),
                "状态": rng.choice(np.array(["1", "0", "2"]), n, p=[0.9, 0.08, 0.02]),
                "表号": rng.integers(10_000_000, 99_999_999, n).astype(str),
            }
        )
        bad = rng.random(n) < 0.001
        dates = table.column("收费日期").to_numpy(zero_copy_only=False).astype(object)
        dates[bad] = "2024/13/40"
        table = table.set_column(3, "收费日期", pa.array(dates, pa.string()))
        if writer is None:
            writer = pacsv.CSVWriter(csv_path, table.schema)
            pwriter = pq.ParquetWriter(parquet_path, table.schema)
        writer.write_table(table)
        assert pwriter is not None
        pwriter.write_table(table)
    assert writer is not None and pwriter is not None
    writer.close()
    pwriter.close()
    return csv_path, parquet_path


def to_gbk(source: Path, target: Path) -> Path:
    """The same CSV transcoded to GBK, in chunks cut at line ends."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as fin, target.open("wb") as fout:
        carry = b""
        while data := fin.read(16 << 20):
            carry += data
            cut = carry.rfind(b"\n") + 1
            fout.write(carry[:cut].decode("utf-8").encode("gbk"))
            carry = carry[cut:]
        fout.write(carry.decode("utf-8").encode("gbk"))
    return target


class PeakRss:
    """Samples this process's resident memory while a side runs."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        process = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def timed(fn: Callable[[], int], out: Path) -> dict[str, Any]:
    with PeakRss() as rss:
        t0, c0 = time.perf_counter(), _cpu()
        rows = fn()
        seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    size = (
        sum(p.stat().st_size for p in out.rglob("*.parquet"))
        if out.is_dir()
        else out.stat().st_size
    )
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "rows": rows,
        "rows_per_second": round(rows / seconds),
        "peak_rss_mb": round(rss.peak / 2**20),
        "output_bytes": size,
    }


def duckdb_side(source: Path, out: Path, reader: str) -> dict[str, Any]:
    def run() -> int:
        con = duckdb.connect()
        con.execute(f"COPY (SELECT * FROM {reader}('{source}')) TO '{out}' (FORMAT parquet)")
        [(rows,)] = con.sql(f"SELECT count(*) FROM '{out}'").fetchall()
        return int(rows)

    return timed(run, out)


def pandas_side(source: Path, out: Path, kind: str) -> dict[str, Any]:
    def run() -> int:
        frame = pd.read_csv(source) if kind == "csv" else pd.read_parquet(source)
        frame.to_parquet(out)
        return len(frame)

    return timed(run, out)


def ours(source: Path, lake: Path, kind: str) -> dict[str, Any]:
    folder = source.parent
    contract_path = folder / f"bench_{kind}.yaml"
    connector = f"{{kind: {kind}, path: {source.name}}}"
    contract_path.write_text(CONTRACT.format(connector=connector), encoding="utf-8")
    result = check_text(
        contract_path.read_text(encoding="utf-8"), str(contract_path), contract_path
    )
    assert result.contract is not None, str(result)
    contract = result.contract
    manifest_box: list[Any] = []

    def run() -> int:
        manifest = load_file(lake, contract, source, options=LoadOptions(force=True))
        assert manifest.status == "completed", manifest.message
        assert manifest.reconciled
        manifest_box.append(manifest)
        return manifest.rows_read

    figures = timed(run, lake / "raw")
    manifest = manifest_box[0]
    figures.update(
        rows_landed=manifest.rows_landed,
        rows_quarantined=manifest.rows_quarantined,
        quarantined_by_reason=manifest.quarantined_by_reason,
        timings=manifest.timings,
        chunks=manifest.chunks,
    )
    return figures


BIG_CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from citybrain.ingest import LoadOptions, load_file
    from citybrain.ingest.check import load_contract

    lake, contract, source = (Path(a) for a in sys.argv[1:4])
    manifest = load_file(lake, load_contract(contract), source, options=LoadOptions(force=True))
    print(json.dumps({"status": manifest.status, "message": manifest.message,
                      "rows_read": manifest.rows_read, "rows_landed": manifest.rows_landed,
                      "rows_quarantined": manifest.rows_quarantined,
                      "reconciled": manifest.reconciled, "chunks": manifest.chunks}))
    """
)
DUCK_CHILD = textwrap.dedent(
    """
    import duckdb, sys
    con = duckdb.connect()
    source, target = sys.argv[1:3]
    con.execute(f"COPY (SELECT * FROM read_csv('{source}')) TO '{target}' (FORMAT parquet)")
    """
)
FREE_FLOOR = 15 * 2**30


def make_big_csv(source: Path, target: Path, gib: float) -> int:
    """``source``'s rows repeated into ``target`` until it is larger than ``gib`` GiB."""
    with source.open("rb") as fin:
        header = fin.readline()
        body = fin.read()
    copies = int(gib * 2**30 // len(body)) + 1
    with target.open("wb") as out:
        out.write(header)
        for _ in range(copies):
            out.write(body)
    return copies


def child_side(args: list[str], logs: Path) -> dict[str, Any]:
    """Run a child; its wall and CPU time and peak RSS as the kernel reports them for it alone
    (``wait4``), and its RSS sampled once a second to show whether it stays flat."""
    out_path, err_path = logs.with_suffix(".out"), logs.with_suffix(".err")
    t0 = time.perf_counter()
    with out_path.open("w") as out, err_path.open("w") as err:
        child = subprocess.Popen(args, stdout=out, stderr=err)
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        watched = psutil.Process(child.pid)
        while not done.is_set():
            try:
                samples.append(watched.memory_info().rss)
            except psutil.Error:
                return
            done.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - t0
    child.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    sampler.join()
    if child.returncode != 0:
        raise RuntimeError(f"{args[:3]} failed: {err_path.read_text()[-2000:]}")
    trace = [round(r / 2**20) for r in samples]
    return {
        "seconds": round(seconds, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),  # kB on Linux
        "rss_trace_mb": trace[:: max(len(trace) // 60, 1)],
        "out": out_path.read_text(),
    }


def big_file_side(work: Path, csv_path: Path, gib: float) -> dict[str, Any]:
    free = shutil.disk_usage(work).free
    need = int(gib * 2**30 * 1.5)  # the CSV and about half of it again as Parquet (both sides)
    if free - need < FREE_FLOOR:
        return {"skipped": f"{free / 2**30:.0f} GiB free; {need / 2**30:.0f} GiB needed"}
    big_dir = work / "big"
    big_dir.mkdir()
    big = big_dir / "water.csv"
    try:
        t0 = time.perf_counter()
        copies = make_big_csv(csv_path, big, gib)
        generated = time.perf_counter() - t0
        contract = big_dir / "bench_csv.yaml"
        contract.write_text(
            CONTRACT.format(connector=f"{{kind: csv, path: {big.name}}}"), encoding="utf-8"
        )
        result: dict[str, Any] = {
            "csv_bytes": big.stat().st_size,
            "copies_of_the_small_csv": copies,
            "generate_seconds": round(generated, 1),
        }
        ours_run = child_side(
            [sys.executable, "-c", BIG_CHILD, str(big_dir / "lake"), str(contract), str(big)],
            big_dir / "ours",
        )
        manifest = json.loads(ours_run.pop("out"))
        assert manifest["status"] == "completed" and manifest["reconciled"], manifest
        lake_bytes = sum(p.stat().st_size for p in (big_dir / "lake").rglob("*.parquet"))
        result["citybrain"] = {
            **ours_run,
            **manifest,
            "rows_per_second": round(manifest["rows_read"] / ours_run["seconds"]),
            "output_bytes": lake_bytes,
        }
        shutil.rmtree(big_dir / "lake")
        duck_run = child_side(
            [sys.executable, "-c", DUCK_CHILD, str(big), str(big_dir / "duck.parquet")],
            big_dir / "duck",
        )
        duck_run.pop("out")
        result["duckdb_copy"] = {
            **duck_run,
            "output_bytes": (big_dir / "duck.parquet").stat().st_size,
        }
        return result
    finally:
        shutil.rmtree(big_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/ingest.json"))
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--big-gb", type=float, default=0.0, help="also land one CSV larger than this many GiB"
    )
    parser.add_argument("--skip-small", action="store_true", help="only the big-file run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side (median kept)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cb-bench-", dir=args.workdir))
    load_before = os.getloadavg()
    sides: dict[str, dict[str, Any]] = {}
    ratios: dict[str, float] = {}
    big: dict[str, Any] | None = None
    try:
        t0 = time.perf_counter()
        csv_path, parquet_path = make_data(args.rows, work)
        generate = time.perf_counter() - t0
        if not args.skip_small:
            sides = small_sides(work, csv_path, parquet_path, args.repeat)
            ratios = side_ratios(sides)
        if args.big_gb > 0:
            big = big_file_side(work, csv_path, args.big_gb)
        inputs = {
            "rows": args.rows,
            "csv_bytes": csv_path.stat().st_size,
            "parquet_bytes": parquet_path.stat().st_size,
            "generate_seconds": round(generate, 1),
            "repeat": args.repeat,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result: dict[str, Any] = {
        "benchmark": "ingest",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(load_before),
        "versions": {
            "duckdb": duckdb.__version__,
            "pyarrow": pa.__version__,
            "pandas": pd.__version__,
        },
        "inputs": inputs,
        "sides": sides,
        "ratios": ratios,
        "big_file": big,
        "targets": {"vs_duckdb": 0.6, "vs_pandas": 3.0},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"{'side':<22}{'seconds':>9}{'cpu s':>9}{'rows/s':>12}{'peak MB':>9}")
    for name, side in sides.items():
        print(
            f"{name:<22}{side['seconds']:>9.2f}{side['cpu_seconds']:>9.2f}"
            f"{side['rows_per_second']:>12,}{side['peak_rss_mb']:>9}"
        )
    for name, value in ratios.items():
        print(f"{name:<22}{value:>9.2f}x")
    if big is not None:
        print(json.dumps(big, indent=2))
    print(
        f"load average {result['machine']['load_average_before']} → "
        f"{result['machine']['load_average_after']}; wrote {args.out}"
    )


def small_sides(
    work: Path, csv_path: Path, parquet_path: Path, repeat: int
) -> dict[str, dict[str, Any]]:
    """Each side ``repeat`` times, interleaved so that noise from the machine hits all of them;
    the run with the median wall time is kept, with every wall time beside it."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for round_ in range(repeat):
        for kind, source in (("csv", csv_path), ("parquet", parquet_path)):
            reader = "read_csv" if kind == "csv" else "read_parquet"
            tag = f"{kind}{round_}"
            runs.setdefault(f"{kind}.duckdb_copy", []).append(
                duckdb_side(source, work / f"duck_{tag}.parquet", reader)
            )
            runs.setdefault(f"{kind}.citybrain", []).append(
                ours(source, work / f"lake_{tag}", kind)
            )
            runs.setdefault(f"{kind}.pandas", []).append(
                pandas_side(source, work / f"pandas_{tag}.parquet", kind)
            )
    # GBK: DuckDB cannot read it offline (its encodings extension is a download), so ours alone
    gbk_path = to_gbk(csv_path, work / "gbk" / "water.csv")
    runs["csv_gbk.citybrain"] = [ours(gbk_path, work / "lake_gbk", "csv")]
    sides = {}
    for name, done in runs.items():
        ordered = sorted(done, key=lambda r: r["seconds"])
        sides[name] = {**ordered[len(ordered) // 2], "all_seconds": [r["seconds"] for r in done]}
    return sides


def side_ratios(sides: dict[str, dict[str, Any]]) -> dict[str, float]:
    ratios = {}
    for kind in ("csv", "parquet"):
        for measure, label in (("seconds", ""), ("cpu_seconds", "_cpu")):
            our = sides[f"{kind}.citybrain"][measure]
            duck, pandas = sides[f"{kind}.duckdb_copy"][measure], sides[f"{kind}.pandas"][measure]
            ratios[f"{kind}.vs_duckdb{label}"] = round(duck / our, 3)
            ratios[f"{kind}.vs_pandas{label}"] = round(pandas / our, 3)
    return ratios


if __name__ == "__main__":
    main()
