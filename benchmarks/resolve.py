"""Identity resolution of persons: citybrain's resolver vs a plain Splink model, in one run.

Both sides get the same person records of a synthetic city (read by the test adapter into
std-shaped tables) and are scored against the city's truth by pairwise precision and recall.
Each side runs in its own child process limited to ``--cores`` CPUs, so its wall time and peak
memory (max RSS) are its own. The plain side is Splink as its docs set it up: Jaro-Winkler on the
name, Levenshtein on the ID number, exact date of birth, phone and address, blocking on equal
name, phone or ID number, u by random sampling, m by EM, clusters at the same threshold.

    uv run python benchmarks/resolve.py --sim /tmp/cb-small --cores 2 --out resolve.json
    uv run python benchmarks/resolve.py --scale small --seed 7 --cores 2   # generates the city

Writes JSON with the machine, the versions, the inputs and each side's figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "govern" / "resolve"))

PERSON_SYSTEMS = [
    "police_household", "police_residence_permit", "power_grid", "water_utility", "gas_utility",
    "parcel_express", "hotline_12345", "transport_arrivals", "health_tests", "market_registry",
    "court_dishonest",
]  # fmt: skip
THRESHOLD = 0.99


def _limit(cores: int) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))


def _engine(workdir: Path, cores: int) -> Any:
    from citybrain.core.config import DuckDBConfig, EngineConfig
    from citybrain.core.engine import open_engine

    config = EngineConfig(duckdb=DuckDBConfig(threads=cores))
    return open_engine("duckdb", workdir / "lake", config, database=workdir / "bench.duckdb")


def _std(engine: Any, sim: Path) -> dict[str, Any]:
    from simstd import load_std

    return {k: engine.register(f"std_{k}", v) for k, v in load_std(sim, PERSON_SYSTEMS).items()}


def side_citybrain(sim: Path, cores: int, workdir: Path) -> dict[str, Any]:
    from citybrain.govern.resolve import resolve

    engine = _engine(workdir, cores)
    std = _std(engine, sim)
    start = time.perf_counter()
    result = resolve(engine, std, "person", store=False)
    seconds = time.perf_counter() - start
    links = result.links.select(["record_id", "source_system", "source_key", "load_id"])
    links = links.append_column("cluster", result.links["golden_person_id"])
    return {"seconds": seconds, "links": links, "stats": result.stats}


def side_plain_splink(sim: Path, cores: int, workdir: Path) -> dict[str, Any]:
    import logging

    import pyarrow as pa
    import pyarrow.compute as pc
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on

    from citybrain.govern.resolve.records import build_records

    engine = _engine(workdir, cores)
    std = _std(engine, sim)
    start = time.perf_counter()
    records = engine.to_arrow(build_records(std, "person"))
    # Splink's usual light cleaning: trimmed strings, empty as null.
    for name in ("name", "id_number", "phone", "birth_date", "address"):
        column = pc.utf8_trim_whitespace(records[name])
        column = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
        records = records.set_column(records.column_names.index(name), name, column)
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        comparisons=[
            cl.JaroWinklerAtThresholds("name", [0.9, 0.7]),
            cl.LevenshteinAtThresholds("id_number", 2),
            cl.ExactMatch("birth_date"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("address"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("name"),
            block_on("phone"),
            block_on("id_number"),
        ],
    )
    db_api = engine.splink_api()
    linker = Linker(db_api.register(records), settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("id_number")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=42)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLD)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, THRESHOLD
    ).as_pyarrow_table()
    seconds = time.perf_counter() - start
    links = records.select(["record_id", "source_system", "source_key", "load_id"]).join(
        clusters.select(["record_id", "cluster_id"]), "record_id"
    )
    links = links.rename_columns(["record_id", "source_system", "source_key", "load_id", "cluster"])
    return {"seconds": seconds, "links": links, "stats": {"records": records.num_rows}}


def _child(side: str, sim: str, cores: int, queue: Any) -> None:
    _limit(cores)
    with tempfile.TemporaryDirectory() as tmp:
        fn = side_citybrain if side == "citybrain" else side_plain_splink
        out = fn(Path(sim), cores, Path(tmp))
    from evaluate import pairwise

    scores = pairwise(Path(sim), "person", out["links"], "cluster")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"seconds": round(out["seconds"], 2), "peak_rss_mb": round(peak_mb, 1),
               "stats": out["stats"], **scores})  # fmt: skip


def run_side(side: str, sim: Path, cores: int) -> dict[str, Any]:
    """One side in a child process; a child that dies (e.g. killed for memory) is reported."""
    import queue as queue_module

    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    proc = ctx.Process(target=_child, args=(side, str(sim), cores, results))
    start = time.perf_counter()
    proc.start()
    while True:
        try:
            result: dict[str, Any] = results.get(timeout=5)
            break
        except queue_module.Empty:
            if not proc.is_alive():
                return {
                    "error": f"the {side} process ended with exit code {proc.exitcode}",
                    "seconds": round(time.perf_counter() - start, 2),
                }
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", type=Path, help="an existing synthetic city")
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--records", type=int, default=None, help="sim --records override")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("resolve.json"))
    args = parser.parse_args()
    sim = args.sim
    generated = None
    if sim is None:
        from citybrain.sim import generate

        sim = Path(tempfile.mkdtemp(prefix="cb-bench-")) / "city"
        start = time.perf_counter()
        generate(args.scale, args.seed, sim, records=args.records, systems=PERSON_SYSTEMS)
        generated = round(time.perf_counter() - start, 1)
    sides = {side: run_side(side, sim, args.cores) for side in ("citybrain", "plain_splink")}
    report = {
        "benchmark": "resolve persons",
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus_available": os.cpu_count(),
            "cores_used": args.cores,
        },
        "versions": {
            p: version(p) for p in ("splink", "duckdb", "pyarrow", "pypinyin", "ibis-framework")
        },
        "inputs": {
            "sim": str(sim),
            "scale": args.scale,
            "seed": args.seed,
            "records_override": args.records,
            "generate_seconds": generated,
            "person_records": sides["citybrain"].get("stats", {}).get("records"),
            "threshold": THRESHOLD,
        },
        "sides": sides,
    }
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(
        f"{'side':<14}{'records':>10}{'seconds':>10}{'peak MB':>10}{'precision':>11}{'recall':>9}"
    )
    for side, r in sides.items():
        if "error" in r:
            print(f"{side:<14}{r['error']}")
            continue
        print(f"{side:<14}{r['stats']['records']:>10}{r['seconds']:>10}{r['peak_rss_mb']:>10}"
              f"{r['precision']:>11.4f}{r['recall']:>9.4f}")  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
