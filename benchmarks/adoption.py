"""Adopting proven topics in another city (拿来主义): group_rental and credit, side by side.

The first city (the default zone, 四川省成都市示例高新区) lands its systems through the shipped
contracts, runs both topics, evaluates them against its truth and exports signed bundles. The
second city (``--profile deqing``, 浙江省湖州市德清县: other divisions, 村/组 addresses, other
schemas, code lists, formats and encodings) lands its systems through nothing but its own source
contracts (``<city>/contracts/``, deployed as ``workspace init --sim`` does), imports the two
bundles (`topic import`: checksum, signature and data contract checked) and runs the same installed
code. Both are evaluated against their own truth
and printed side by side; the run fails when a figure differs by more than ``--tolerance``.

    CITYBRAIN_BUNDLE_KEY=… uv run python benchmarks/adoption.py --scale small
    uv run python benchmarks/adoption.py --scale tiny --records 73955   # tiny × 5
    uv run python benchmarks/adoption.py --scale tiny --records 29582 --months 12 --planting 7

How small a city says something (seed 7). ``--planting F`` plants F times the group rentals,
distressed firms and credit commitments (``Scale.planted``); the test,
tests/topics/test_adoption_topics.py, runs the last command's cities (tiny × 2, 12 months,
planting 7) and asks each city for real figures before the 0.05 comparison:

    size (dwellings, firms, months)   group_rental F1 (support)   credit AUC (support)
    tiny (240, 60, 3)                 0.000 / 0.000 (2)           0.500 / 0.500 (2, rules only)
    tiny × 5 (1,200, 300, 3)          0.832 / 0.797 (77)          0.811 / 0.811 (2)
    tiny × 5, 6 months                0.911 / 0.911 (139)         0.692 / 0.692 (2)
    tiny × 5, 12 months               0.933 / 0.920 (247)         0.603 / 0.603 (2)
    small (6,000, 1,500, 12)          0.909 / 0.907 (1,140)       0.877 / 0.877 (31)
    tiny × 2, 12 months, planting 6   0.912 / 0.918 (451)         0.877 / 0.877 (29)
    tiny × 2, 12 months, planting 8   0.842 / 0.873 (654)         0.870 / 0.870 (41)
    tiny × 2, 6 months, planting 8    0.775 / 0.841 (396)         0.651 / 0.651 (46)

Unplanted, group_rental means something from tiny × 5, and credit's AUC (broken commitments:
2 up to hundreds of firms) only near small's 1,500 firms. Planted, tiny × 2 over 12 months holds
both; over 6 months the second city's group rentals are found more often than the first's
(F1 +0.066: outside 0.05 — the comparison can fail).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from machine import machine

from citybrain.core import Workspace
from citybrain.sim.scales import Scale, resolve_scale
from citybrain.topics import get_topic
from citybrain.topics.adoption import (
    FIRST_CITY_SOURCES,
    HEADLINE,
    SYSTEMS,
    compare,
    export_bundles,
    import_bundles,
    land,
    outside,
    run_and_evaluate,
    side_by_side,
)


def timed(results: dict[str, Any], workspace: Workspace, name: str, truth: Path) -> None:
    started = time.perf_counter()
    results[name] = run_and_evaluate(workspace, get_topic(name), truth)
    results[name]["run_seconds"] = round(time.perf_counter() - started, 1)


def generate_city(scale: str | Scale, seed: int, folder: Path, profile: str) -> float:
    from citybrain.sim.generate import generate

    started = time.perf_counter()
    if not (folder / "README.json").is_file():
        systems = None if profile != "default" else list(SYSTEMS)
        generate(scale, seed, folder, profile=profile, systems=systems)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--records", type=int, default=None, help="resize the scale to about this many rows"
    )
    parser.add_argument("--months", type=int, default=None, help="months of history instead")
    parser.add_argument(
        "--planting",
        type=float,
        default=None,
        help="this many times the planted group rentals, distressed firms and commitments",
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/citybrain-adoption"))
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/adoption.json"))
    args = parser.parse_args()
    load_before = os.getloadavg()
    os.environ.setdefault("CITYBRAIN_BUNDLE_KEY", "adoption-benchmark-key")
    scale = resolve_scale(args.scale, args.records, months=args.months, planting=args.planting)
    size = scale.name
    work = args.work / f"{size.replace('*', 'x').replace('/', '-')}-{args.seed}"
    first_city, second_city = work / "city-default", work / "city-deqing"
    seconds: dict[str, float] = {
        "generate_first": generate_city(scale, args.seed, first_city, "default"),
        "generate_second": generate_city(scale, args.seed, second_city, "deqing"),
    }
    topics = [get_topic(name) for name in HEADLINE]
    first_results: dict[str, Any] = {}
    second_results: dict[str, Any] = {}

    # the first city: shipped contracts, run, evaluate, export the bundles
    from citybrain.ingest.simsources import write_sim_sources

    for ws in ("ws-first", "ws-second"):
        shutil.rmtree(work / ws, ignore_errors=True)
    first = Workspace.init(work / "ws-first", name="示例高新区")
    write_sim_sources(first.root / "sources", first_city)
    started = time.perf_counter()
    land(first, [first.root / "sources" / f"{s}.yaml" for s in FIRST_CITY_SOURCES])
    seconds["land_first"] = time.perf_counter() - started
    for topic in topics:
        timed(first_results, first, topic.name, first_city / "truth")
    bundles = export_bundles(first, topics, work)

    # the second city: its own contracts (<city>/contracts/, deployed as `workspace init --sim`
    # does) and the bundles, nothing else
    second = Workspace.init(work / "ws-second", name="德清县")
    started = time.perf_counter()
    deployed = write_sim_sources(second.root / "sources", second_city).files
    assert {p.name for p in deployed} == {p.name for p in (second_city / "contracts").glob("*")}
    land(second, deployed)
    seconds["land_second"] = time.perf_counter() - started
    import_bundles(second, bundles, get_topic)
    for topic in topics:
        timed(second_results, second, topic.name, second_city / "truth")

    rows = compare(first_results, second_results)
    failed = outside(rows, args.tolerance)
    print(f"\nadoption at scale {size}, seed {args.seed} (load {load_before[0]:.1f})")
    print(side_by_side(rows, ("示例高新区", "德清县")))
    results = {
        name: {
            "first": first_results[name],
            "second": second_results[name],
            "diff": next(r.diff for r in rows if r.topic == name and r.headline),
        }
        for name in HEADLINE
    }
    report = {
        "scale": args.scale,
        "records": args.records,
        "size": dataclasses.asdict(scale),
        "seed": args.seed,
        "tolerance": args.tolerance,
        "results": results,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "machine": machine(load_before),
        "passed": not failed,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if failed:
        print("outside the tolerance: " + ", ".join(r.topic for r in failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
