"""Excel sources read by calamine and by openpyxl (the former reader), side by side in one run.

    uv run python benchmarks/xlsx_read.py BOOK.xlsx [BOOK.xlsx ...] [--repeat 2]
        [--out benchmarks/results/xlsx_read.json]

Each side reads every chunk of each workbook as the loader does (header found automatically,
cells converted to text, positions added); the two sides' tables and rejects must be equal, or
the run fails. Times are the best of ``--repeat`` runs: wall seconds, CPU seconds (the machine is
shared, so CPU time is the steadier figure), rows per wall and per CPU second; memory is the
highest resident set above its level before a read (sampled every 10 ms) over the runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import threading
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
from machine import machine

import citybrain
from citybrain.ingest.connectors.base import Chunk, Reject
from citybrain.ingest.connectors.xlsx import XlsxReader
from citybrain.ingest.contract import XlsxConnector

ORACLE = Path(__file__).resolve().parents[1] / "tests" / "ingest" / "_openpyxl_reader.py"


def _oracle() -> Any:
    """The former openpyxl reader, kept with the tests as their oracle (benchmarks/ingest.py
    shadows the tests' ``ingest`` package, so it is loaded from its file)."""
    spec = importlib.util.spec_from_file_location("_openpyxl_reader", ORACLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.OpenpyxlReader


SIDES: dict[str, Any] = {"calamine": XlsxReader, "openpyxl": _oracle()}


class PeakRss:
    """The highest resident set size above the starting one while the block runs."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._stop = threading.Event()
        self.peak = 0

    def __enter__(self) -> PeakRss:
        self._base = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._process.memory_info().rss - self._base)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss - self._base)


def read(side: str, path: Path) -> tuple[pa.Table, list[Reject], dict[str, float]]:
    started, cpu = time.perf_counter(), time.process_time()
    with PeakRss() as rss:
        reader = SIDES[side](path, XlsxConnector(path=path.name))
        chunks: list[Chunk] = list(reader.chunks())
    figures = {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "rss_above_start_mb": rss.peak / 2**20,
    }
    table = pa.concat_tables([c.table for c in chunks]) if chunks else pa.table({})
    return table, [r for c in chunks for r in c.rejects], figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("books", type=Path, nargs="+")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/xlsx_read.json"))
    args = parser.parse_args()
    load_before = os.getloadavg()
    books: list[dict[str, Any]] = []
    for path in args.books:
        sides: dict[str, dict[str, float | int]] = {}
        tables: dict[str, tuple[pa.Table, list[Reject]]] = {}
        for side in SIDES:
            best: dict[str, float] = {}
            for _ in range(args.repeat):
                table, rejects, figures = read(side, path)
                # times: the best run (the machine is shared); memory: the worst
                pick = {k: max if k.startswith("rss") else min for k in figures}
                best = {k: pick[k](v, best.get(k, v)) for k, v in figures.items()}
            tables[side] = (table, rejects)
            records = table.num_rows + len(rejects)
            sides[side] = {
                "records": records,
                "seconds": round(best["seconds"], 3),
                "cpu_seconds": round(best["cpu_seconds"], 3),
                "rows_per_second": round(records / best["seconds"]),
                "rows_per_cpu_second": round(records / best["cpu_seconds"]),
                "rss_above_start_mb": round(best["rss_above_start_mb"]),
            }
        (new, new_rejects), (old, old_rejects) = tables["calamine"], tables["openpyxl"]
        if not (new.equals(old) and new_rejects == old_rejects):
            raise SystemExit(f"{path}: calamine and openpyxl read different tables")
        books.append({"path": str(path), "bytes": path.stat().st_size, "sides": sides})
    print(f"{'workbook':<28} {'side':<9} {'records':>8} {'s':>7} {'CPU s':>7} {'rows/s':>9} "
          f"{'rows/CPU s':>10} {'MB':>5}")  # fmt: skip
    for book in books:
        for side, s in book["sides"].items():
            print(f"{Path(book['path']).name[:28]:<28} {side:<9} {s['records']:>8,} "
                  f"{s['seconds']:>7.2f} {s['cpu_seconds']:>7.2f} {s['rows_per_second']:>9,} "
                  f"{s['rows_per_cpu_second']:>10,} {s['rss_above_start_mb']:>5}")  # fmt: skip
        old, new = book["sides"]["openpyxl"], book["sides"]["calamine"]
        print(f"  calamine is {old['cpu_seconds'] / new['cpu_seconds']:.1f}x openpyxl in CPU time")
    result = {
        "benchmark": "xlsx_read",
        "machine": machine(load_before),
        "versions": {
            "citybrain": citybrain.__version__,
            "python-calamine": version("python-calamine"),
            "openpyxl": version("openpyxl"),
            "pyarrow": pa.__version__,
        },
        "inputs": {"repeat": args.repeat, "figure": "best", "books": [str(p) for p in args.books]},
        "reference": "openpyxl (read-only mode), the reader citybrain had before calamine",
        "books": books,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
