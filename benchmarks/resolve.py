"""Identity resolution of persons: citybrain's resolver vs a plain Splink model, in one run.

Both sides get the same person records of a synthetic city (read by the test adapter into
std-shaped tables) and are scored against the city's truth by pairwise precision and recall.
The std-shaped tables are read once by the parent and handed to each side as Parquet, so
reading the delivered files costs neither side. Each side runs in its own child process limited to
``--cores`` CPUs and DuckDB's ``--memory-limit``, so its wall time and peak memory (max RSS) are
its own. A side that runs past ``--cap-seconds`` is stopped and reported as capped, with the
last step it reached and its peak memory so far. ``--stability`` adds citybrain's nightly case: a
full run on the data without its newest 1 %, then the incremental run with it, and the share of
golden ids kept. ``--sample 0.25`` keeps a hashed quarter of every table's rows, for timing on a
busy machine; its accuracy is not the benchmark's (thinning the registries leaves one identified
张伟 where the city has several, so name attachment goes wrong in ways a whole city does not).

The plain side is Splink as its own tutorials set up a person deduplication ("default-style"),
on the same records with Splink's usual light cleaning (trimmed, empty as null) and nothing of
ours — no pinyin, no ID validation, no address parsing, no profiles, no attachment:

- comparisons from Splink's library: ``NameComparison`` on the name (Jaro-Winkler levels),
  Levenshtein on the ID number, ``DateOfBirthComparison`` on the birth date, exact phone, exact
  address;
- blocking rules for prediction that a competent user writes for this data: exact ID number,
  name + birth date, phone, name + address. Blocking on the name alone — the first thing one
  tries — explodes at city scale (common Chinese names repeat thousands of times: a 1M-record run
  blocked on the name was still in ``predict`` after 900 s at 9.4 GB);
- training as the tutorials do it: λ from deterministic rules (ID number; name + birth date) at
  recall 0.7, u by random sampling, m by EM in two passes (blocked on name + birth date, then on
  the phone), a match threshold and clusters at the same probability as ours.

The citybrain side also reports ``missed_name_only_ambiguous``: missed pairs that touch a part of
a person with no ID number and no mobile whose every name two or more identified people carry (a
landlord's old meter accounts, opened before real-name registration so with no phone or ID number on
file, in the name 张伟 when the city has several identified 张伟). Nothing in those
records tells the candidates apart, so ``recall_if_all_else_found`` is the most a resolver reaches
without guessing.

``--without "no phone columns"`` (or ``"no resident IDs in utility records"``, ``"only names, birth
dates and addresses"``) takes those fields away from both sides' data first (tests'
``variants.CASES``): a city whose sources carry less. Plain Splink set up as its tutorials do
fails where a training rule finds no pairs; that is reported as its result.

    uv run python benchmarks/resolve.py --sim /tmp/cb-small --cores 2 --out resolve.json
    uv run python benchmarks/resolve.py --scale small --seed 7 --cores 2   # generates the city
    nice uv run python benchmarks/resolve.py --sim /tmp/city1m --cap-seconds 1800 --out 1m.json

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
from dataclasses import dataclass
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
LINK_COLUMNS = ["record_id", "source_system", "source_key", "load_id"]
#: our features that say whether a missed pair had anything to decide by (see `missed_by_cause`)
EVIDENCE_COLUMNS = ["name_norm", "id_valid", "phone_norm"]
#: The plain side's blocking rules, as names of the columns each rule requires equal.
PLAIN_BLOCKING_COLUMNS: list[tuple[str, ...]] = [
    ("id_number",),
    ("name", "birth_date"),
    ("phone",),
    ("name", "address"),
]
#: Its EM passes, in order, and the rule that stands in for a pass whose rule finds no pairs.
PLAIN_EM_COLUMNS: list[tuple[str, ...]] = [("name", "birth_date"), ("phone",)]
PLAIN_EM_FALLBACK: tuple[str, ...] = ("id_number",)


def _rule(columns: tuple[str, ...]) -> str:
    return " AND ".join(columns)


PLAIN_CONFIGURATION = {
    "style": "Splink's tutorials for person deduplication, on the raw fields (light cleaning only)",
    "comparisons": [
        "NameComparison(name)", "LevenshteinAtThresholds(id_number, [1, 2])",
        "DateOfBirthComparison(birth_date)", "ExactMatch(phone)", "ExactMatch(address)",
    ],
    "blocking_rules_to_generate_predictions": [_rule(c) for c in PLAIN_BLOCKING_COLUMNS],
    "training": [
        "estimate_probability_two_random_records_match([id_number, name AND birth_date], 0.7)",
        "estimate_u_using_random_sampling(max_pairs=5e6)",
        *(f"EM blocked on {_rule(c)}" for c in PLAIN_EM_COLUMNS),
        f"(an EM rule that finds no pairs is replaced by EM blocked on {_rule(PLAIN_EM_FALLBACK)})",
    ],
    "predict_and_cluster_threshold": THRESHOLD,
}  # fmt: skip


def _limit(cores: int) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))


@dataclass(frozen=True)
class Job:
    """What a side's child process is given."""

    sim: Path
    std_dir: Path
    cores: int
    memory_limit: str
    #: the fields taken away from both sides' data (a name of tests' `variants.CASES`)
    variant: str = "full data"


def _engine(workdir: Path, job: Job) -> Any:
    from citybrain.core.config import DuckDBConfig, EngineConfig
    from citybrain.core.engine import open_engine

    config = EngineConfig(duckdb=DuckDBConfig(threads=job.cores, memory_limit=job.memory_limit))
    return open_engine("duckdb", workdir / "lake", config, database=workdir / "bench.duckdb")


def prepare_std(sim: Path, sample: float | None = None) -> Path:
    """The sim's person systems as std-shaped Parquet tables, written once beside the sim; with
    ``sample``, only the rows whose source row hashes into that share."""
    import duckdb
    import pyarrow.parquet as pq
    from simstd import load_std

    folder = sim / "_bench_std"
    if not (folder / "done").is_file():
        folder.mkdir(exist_ok=True)
        for name, table in load_std(sim, PERSON_SYSTEMS).items():
            pq.write_table(table, folder / f"{name}.parquet")
        (folder / "done").touch()
    if sample is None:
        return folder
    part = sim / f"_bench_std_sample_{sample:g}"
    if not (part / "done").is_file():
        part.mkdir(exist_ok=True)
        for path in sorted(folder.glob("*.parquet")):
            duckdb.sql(
                f"COPY (SELECT * FROM read_parquet('{path}') "
                f"WHERE hash(source_row) % 10000 < {round(sample * 10_000)}) "
                f"TO '{part / path.name}' (FORMAT parquet)"
            )
        (part / "done").touch()
    return part


def _std(engine: Any, job: Job, share_held_back: float = 0.0) -> dict[str, Any]:
    import pyarrow.parquet as pq
    from simcity import held_back
    from variants import CASES

    tables = {p.stem: pq.read_table(p) for p in sorted(job.std_dir.glob("*.parquet"))}
    tables = CASES[job.variant](tables)
    if share_held_back:
        tables = held_back(tables, share_held_back)
    return {k: engine.register(f"std_{k}_{len(v)}", v) for k, v in tables.items()}


def side_citybrain(job: Job, workdir: Path, step: Any) -> dict[str, Any]:
    from citybrain.govern.resolve import resolve

    engine = _engine(workdir, job)
    std = _std(engine, job)
    step("resolve")
    start = time.perf_counter()
    result = resolve(engine, std, "person", store=False)
    seconds = time.perf_counter() - start
    links = result.links.select([*LINK_COLUMNS, *EVIDENCE_COLUMNS])
    links = links.append_column("cluster", result.links["golden_person_id"])
    return {"seconds": seconds, "links": links, "stats": result.stats}


def side_citybrain_nightly(job: Job, workdir: Path, step: Any) -> dict[str, Any]:
    """A full run without the newest 1 %, then the incremental run that adds it."""
    from citybrain.govern.resolve import resolve, resolve_new, stability

    engine = _engine(workdir, job)
    step("full run on 99 %")
    first = resolve(engine, _std(engine, job, 0.01), "person")
    step("incremental run with the last 1 %")
    start = time.perf_counter()
    nightly = resolve_new(engine, _std(engine, job), "person")
    seconds = time.perf_counter() - start
    links = nightly.links.select([*LINK_COLUMNS, *EVIDENCE_COLUMNS])
    links = links.append_column("cluster", nightly.links["golden_person_id"])
    stats = {
        **nightly.stats,
        "golden_id_stability": round(stability(first.id_map(), nightly.id_map()), 6),
        "new_share": round(nightly.stats["new"] / max(1, nightly.stats["records"]), 4),
    }
    return {"seconds": seconds, "links": links, "stats": stats}


def side_plain_splink(job: Job, workdir: Path, step: Any) -> dict[str, Any]:
    import logging

    import pyarrow as pa
    import pyarrow.compute as pc
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on

    blocking = [block_on(*columns) for columns in PLAIN_BLOCKING_COLUMNS]

    from citybrain.govern.resolve.records import build_records

    engine = _engine(workdir, job)
    std = _std(engine, job)
    step("records")
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
            cl.NameComparison("name"),
            cl.LevenshteinAtThresholds("id_number", [1, 2]),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("phone"),
            cl.ExactMatch("address"),
        ],
        blocking_rules_to_generate_predictions=blocking,
    )
    db_api = engine.splink_api()
    linker = Linker(db_api.register(records), settings, log_level=logging.ERROR)
    step("training")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("id_number"), block_on("name", "birth_date")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=42)
    trained_on: list[str] = []
    for columns in PLAIN_EM_COLUMNS:
        if _em_pairs(records, columns) == 0:
            # a city whose sources never repeat a name with a birth date gives EM nothing there;
            # a Splink user trains those comparisons on exact ID numbers instead
            columns = PLAIN_EM_FALLBACK
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*columns))
        trained_on.append(_rule(columns))
    step("predict")
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLD)
    step("cluster")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, THRESHOLD
    ).as_pyarrow_table()
    seconds = time.perf_counter() - start
    links = records.select(["record_id", "source_system", "source_key", "load_id"]).join(
        clusters.select(["record_id", "cluster_id"]), "record_id"
    )
    links = links.rename_columns(["record_id", "source_system", "source_key", "load_id", "cluster"])
    stats = {"records": records.num_rows, "em_trained_on": trained_on}
    return {"seconds": seconds, "links": links, "stats": stats}


def _em_pairs(records: Any, columns: tuple[str, ...]) -> int:
    """Record pairs an EM session blocked on equal, non-null ``columns`` would train on."""
    import pyarrow.compute as pc

    keys = records.select(list(columns)).drop_null()
    sizes = keys.group_by(list(columns)).aggregate([([], "count_all")])["count_all"]
    return int(pc.sum(pc.divide(pc.multiply(sizes, pc.subtract(sizes, 1)), 2)).as_py() or 0)


SIDES = {
    "citybrain": side_citybrain,
    "plain_splink": side_plain_splink,
    "citybrain_nightly": side_citybrain_nightly,
}


def _child(side: str, job: Job, queue: Any) -> None:
    _limit(job.cores)

    def step(name: str) -> None:
        queue.put({"step": name})

    with tempfile.TemporaryDirectory() as tmp:
        out = SIDES[side](job, Path(tmp), step)
    step("scoring")
    from evaluate import missed_by_cause, pairwise

    scores = pairwise(job.sim, "person", out["links"], "cluster")
    if "name_norm" in out["links"].column_names:
        causes = missed_by_cause(job.sim, out["links"], "cluster")
        stuck = causes["missed_name_only_ambiguous"] / max(1, causes["true_pairs"])
        scores.update(causes, recall_if_all_else_found=round(1 - stuck, 6))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"result": {"seconds": round(out["seconds"], 2), "peak_rss_mb": round(peak_mb, 1),
               "stats": out["stats"], **scores}})  # fmt: skip


def _peak_mb(pid: int | None) -> float | None:
    """The process's peak resident memory so far (Linux ``VmHWM``), None where unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def run_side(side: str, job: Job, cap_seconds: float | None) -> dict[str, Any]:
    """One side in a child process; one that dies, or runs past the cap, is reported as such."""
    import queue as queue_module

    ctx = mp.get_context("spawn")
    messages = ctx.Queue()
    proc = ctx.Process(target=_child, args=(side, job, messages))
    start = time.perf_counter()
    proc.start()
    reached = "start"
    peak: float | None = None
    while True:
        try:
            message: dict[str, Any] = messages.get(timeout=5)
        except queue_module.Empty:
            elapsed = time.perf_counter() - start
            peak = _peak_mb(proc.pid) or peak
            if not proc.is_alive():
                return {
                    "error": f"the {side} process ended with exit code {proc.exitcode}",
                    "reached": reached,
                    "seconds": round(elapsed, 2),
                }
            if cap_seconds is not None and elapsed > cap_seconds:
                proc.terminate()
                proc.join()
                return {
                    "capped": True,
                    "cap_seconds": cap_seconds,
                    "reached": reached,
                    "seconds": round(elapsed, 2),
                    "peak_rss_mb_so_far": peak,
                }
            continue
        if "step" in message:
            reached = message["step"]
            print(f"  {side}: {reached} ({time.perf_counter() - start:.0f} s)", flush=True)
            continue
        proc.join()
        return dict(message["result"])


def _citybrain_configuration() -> dict[str, Any]:
    """The person model our side runs: the resolver's built-in configuration, as JSON."""
    from citybrain.govern.resolve import DEFAULT_PERSON

    config: dict[str, Any] = DEFAULT_PERSON.model_dump(mode="json", exclude={"sources"})
    config["sources"] = [f"{s.table}.{s.key}" for s in DEFAULT_PERSON.sources]
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", type=Path, help="an existing synthetic city")
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--records", type=int, default=None, help="sim --records override")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--memory-limit", default="8GB", help="DuckDB memory limit of each side")
    parser.add_argument(
        "--cap-seconds", type=float, default=None, help="stop a side that runs longer"
    )
    parser.add_argument("--stability", action="store_true", help="add the nightly-run side")
    parser.add_argument(
        "--sides", nargs="+", choices=["citybrain", "plain_splink"], help="run only these sides"
    )
    parser.add_argument(
        "--sample", type=float, default=None, help="keep this hashed share of rows (development)"
    )
    parser.add_argument(
        "--without",
        default="full data",
        choices=["full data", "no phone columns", "no resident IDs in utility records",
                 "only names, birth dates and addresses"],
        help="take these fields away from both sides' data",
    )  # fmt: skip
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
    load_at_start = os.getloadavg()
    start = time.perf_counter()
    job = Job(sim, prepare_std(sim, args.sample), args.cores, args.memory_limit, args.without)
    prepared = round(time.perf_counter() - start, 1)
    names = args.sides or ["citybrain", "plain_splink"]
    names += ["citybrain_nightly"] if args.stability else []
    sides = {side: run_side(side, job, args.cap_seconds) for side in names}
    report = {
        "benchmark": "resolve persons",
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus_available": os.cpu_count(),
            "cores_used": args.cores,
            "duckdb_memory_limit": args.memory_limit,
            "load_average_at_start": load_at_start,
            "load_average_at_end": os.getloadavg(),
        },
        "versions": {
            p: version(p) for p in ("splink", "duckdb", "pyarrow", "pypinyin", "ibis-framework")
        },
        "inputs": {
            "sim": str(sim),
            "scale": args.scale,
            "seed": args.seed,
            "records_override": args.records,
            "sample": args.sample,
            "fields_taken_away": args.without,
            "generate_seconds": generated,
            "std_prepare_seconds": prepared,
            "person_records": next(
                (r["stats"]["records"] for r in sides.values() if "stats" in r), None
            ),
            "threshold": THRESHOLD,
            "cap_seconds": args.cap_seconds,
        },
        "citybrain_configuration": _citybrain_configuration(),
        "plain_splink_configuration": PLAIN_CONFIGURATION,
        "sides": sides,
    }
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(
        f"{'side':<18}{'records':>10}{'seconds':>10}{'peak MB':>10}{'precision':>11}{'recall':>9}"
    )
    for side, r in sides.items():
        if "capped" in r:
            print(f"{side:<18}capped at {r['cap_seconds']:.0f} s in step {r['reached']!r}, "
                  f"peak {r['peak_rss_mb_so_far']} MB so far")  # fmt: skip
            continue
        if "error" in r:
            print(f"{side:<18}{r['error']} (in step {r['reached']!r})")
            continue
        print(f"{side:<18}{r['stats']['records']:>10}{r['seconds']:>10}{r['peak_rss_mb']:>10}"
              f"{r['precision']:>11.4f}{r['recall']:>9.4f}")  # fmt: skip
    if "recall_if_all_else_found" in sides.get("citybrain", {}):
        r = sides["citybrain"]
        print(f"citybrain missed {r['missed_pairs']} true pairs, "
              f"{r['missed_name_only_ambiguous']} of them name-only parts whose name two or more "
              f"identified people carry; recall if all else were found: "
              f"{r['recall_if_all_else_found']:.4f}")  # fmt: skip
    if "golden_id_stability" in sides.get("citybrain_nightly", {}).get("stats", {}):
        print(f"golden-id stability after a 1 % load: "
              f"{sides['citybrain_nightly']['stats']['golden_id_stability']:.4%}")  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
