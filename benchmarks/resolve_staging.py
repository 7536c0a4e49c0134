"""A kind's records staged for linkage (`govern.resolve.staging.stage`) with the chunks' features
computed in one process and side by side in forked ones, on the same std tables in one run; the
staged tables must be equal.

    uv run python benchmarks/resolve_staging.py --workspace WS [--kind person] [--sample 0.1]
        [--workers 1,2] [--root /tmp/resolve-staging-bench]
        [--out benchmarks/results/resolve_staging.json]

The std tables the kind is linked from are read from the workspace ``WS`` (e.g. one that
``benchmarks/scale.py --keep`` left), kept whole or as a seeded sample of each table's rows, and
written once to a scratch lake under ``--root``: every side stages the same rows there, and the
workspace is not touched. ``CHUNK_ROWS`` is staging's own unless ``--chunk-rows`` says. CPU
seconds are this process's and its ended children's (the forked workers, DuckDB's threads).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from citybrain.core.config import EngineConfig
from citybrain.core.engine import Engine, open_engine
from citybrain.govern.base.workspace import kind_inputs
from citybrain.govern.resolve import load_resolve_config, staging
from citybrain.govern.resolve.pipeline import DATASET, feature_columns

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine


def cpu_seconds() -> float:
    """CPU time of this process and of its children that ended (forked workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime


def copy_std(source: Engine, target: Engine, tables: tuple[str, ...], sample: float) -> int:
    """The std ``tables`` of ``source`` (a seeded sample of rows when ``sample`` < 1) written to
    ``target``'s std zone; the rows written."""
    rows = 0
    for name in tables:
        if not source.exists("std", name):
            continue
        table = source.table("std", name)
        if sample < 1:  # rows of every load alike, by their place in it
            row = table.load_id.concat("#", table.source_row.cast("string"))
            table = table.filter((row.hash() % 1000).abs() < round(sample * 1000))
        data = source.to_arrow(table)
        target.write(data, "std", name)
        rows += data.num_rows
    return rows


def stage_once(engine: Engine, kind: str, config: Any, workers: int) -> dict[str, Any]:
    """Stage ``kind`` with ``workers`` processes: wall and CPU seconds, the staged rows."""
    config = config.model_copy(update={"workers": workers})
    std = {n: engine.table("std", n) for n in engine.list_tables("std")}
    dataset = DATASET if config.link_type == "link_only" else None
    cpu, wall = cpu_seconds(), time.perf_counter()
    staged = staging.stage(engine, std, kind, config, feature_columns(kind, config),  # type: ignore[arg-type]
                           collapse=config.link_type == "dedupe_only", dataset=dataset)  # fmt: skip
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    table: pa.Table = engine.to_arrow(staged.table(engine)).sort_by("record_id")
    staging.drop_work(engine, kind)  # type: ignore[arg-type]
    return {
        "workers": workers,
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "records": staged.rows,
        "chunks": staged.chunks,
        "table": table,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--kind", choices=("person", "enterprise"), default="person")
    parser.add_argument("--sample", type=float, default=1.0, help="share of std rows kept")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--chunk-rows", type=int, default=None)
    parser.add_argument("--root", type=Path, default=Path("/tmp/resolve-staging-bench"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/resolve_staging.json"))
    args = parser.parse_args()
    load_before = os.getloadavg()
    if args.chunk_rows:
        staging.CHUNK_ROWS = args.chunk_rows
    config = load_resolve_config(args.workspace, None).kind(args.kind)
    tables = kind_inputs()[args.kind]
    shutil.rmtree(args.root, ignore_errors=True)
    args.root.mkdir(parents=True)
    engine_config = EngineConfig.model_validate({"duckdb": {"threads": 2}})
    with (
        open_engine("duckdb", args.workspace, engine_config, database=":memory:") as source,
        open_engine("duckdb", args.root, engine_config, database=":memory:") as engine,
    ):
        std_rows = copy_std(source, engine, tables, args.sample)
        sides = [stage_once(engine, args.kind, config, int(w)) for w in args.workers.split(",")]
    first = sides[0].pop("table")
    for side in sides[1:]:
        side["equal_to_first"] = side.pop("table").equals(first)
    result = {
        "benchmark": "resolve_staging",
        "workspace": str(args.workspace),
        "kind": args.kind,
        "sample": args.sample,
        "std_rows": std_rows,
        "chunk_rows": staging.CHUNK_ROWS,
        "sides": sides,
        "machine": machine(load_before),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))
    shutil.rmtree(args.root, ignore_errors=True)
    if not all(side.get("equal_to_first", True) for side in sides):
        raise SystemExit("the staged tables differ between worker counts")


if __name__ == "__main__":
    main()
