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
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from machine import machine

from citybrain.core import Workspace
from citybrain.core.catalog import Catalog
from citybrain.topics import TopicContext, discover_topics
from citybrain.topics.base import Topic

TOPICS = {"group_rental": "f1", "credit": "auc"}
FIRST_SYSTEMS = (
    "water_utility", "power_grid", "gas_utility", "food_delivery_platform", "parcel_express",
    "hotline_12345", "police_household", "police_residence_permit",
    "place_address_register_admin_area", "place_address_register_road",
    "place_address_register_road_alias", "place_address_register_standard_address",
    "market_registry", "tax_declarations", "social_security", "court_dishonest",
    "admin_penalties", "credit_commitments",
)  # fmt: skip


def land(workspace: Workspace, contracts: list[Path]) -> dict[str, int]:
    """Ingest and standardise; rows landed per system (every contract must load)."""
    from citybrain.govern.standardize import standardize_workspace
    from citybrain.ingest import ingest_sources, recorder_for

    summary = ingest_sources(workspace, contracts, recorder=recorder_for(workspace))
    failed = {r.system: r.status for r in summary.results if r.status != "ok"}
    if failed:
        raise SystemExit(f"{workspace.root}: ingest failed for {failed}")
    standardize_workspace(workspace)
    return {r.system: int(getattr(r, "rows", 0) or 0) for r in summary.results}


def run_and_evaluate(workspace: Workspace, topic: Topic, truth: Path) -> dict[str, Any]:
    """Run the topic (its imported bundle's parameters, if any) and evaluate it."""
    from citybrain.topics.bundle import imported_params
    from citybrain.topics.evaluation_store import save_evaluation
    from citybrain.topics.runner import latest_findings, read_inputs, run_topic

    catalog = Catalog.open(workspace.ops_db_url)
    try:
        with workspace.engine() as engine:
            started = time.perf_counter()
            run = run_topic(topic, workspace, engine, catalog, run_id=f"adopt-{topic.name}")
            seconds = time.perf_counter() - started
            params = imported_params(workspace, topic) or topic.default_params()
            ctx = TopicContext(
                workspace=workspace,
                engine=engine,
                run_id=run.run_id,
                params=params,
                model_version=topic.model_version,
                inputs=read_inputs(topic, engine),
            )
            result = topic.evaluate(latest_findings(engine, topic.name), truth, ctx)
            save_evaluation(workspace, result, model_version=topic.model_version, run_id=run.run_id)
    finally:
        catalog.close()
    figures = result.model_dump()
    keep = ("precision", "recall", "f1", "auc", "auc_unseen", "support", "flagged", "threshold")
    out = {k: figures.get(k) for k in keep if k in figures}
    out["findings"] = run.findings
    out["run_seconds"] = round(seconds, 1)
    return out


def generate_city(scale: str, seed: int, folder: Path, profile: str) -> float:
    from citybrain.sim.generate import generate

    started = time.perf_counter()
    if not (folder / "README.json").is_file():
        generate(scale, seed, folder, profile=profile, systems=None if profile != "default" else
                 ["place_address_register", "police_household", "police_residence_permit",
                  "water_utility", "power_grid", "gas_utility", "food_delivery_platform",
                  "parcel_express", "hotline_12345", "market_registry", "tax_declarations",
                  "social_security", "court_dishonest", "admin_penalties",
                  "credit_commitments"])  # fmt: skip
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=Path("/tmp/citybrain-adoption"))
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/adoption.json"))
    args = parser.parse_args()
    load_before = os.getloadavg()
    os.environ.setdefault("CITYBRAIN_BUNDLE_KEY", "adoption-benchmark-key")
    work = args.work / f"{args.scale}-{args.seed}"
    first_city, second_city = work / "city-default", work / "city-deqing"
    seconds: dict[str, float] = {
        "generate_first": generate_city(args.scale, args.seed, first_city, "default"),
        "generate_second": generate_city(args.scale, args.seed, second_city, "deqing"),
    }
    topics = {name: discover_topics()[name]() for name in TOPICS}
    results: dict[str, dict[str, Any]] = {}

    # the first city: shipped contracts, run, evaluate, export the bundles
    from citybrain.ingest.simsources import write_sim_sources
    from citybrain.topics.bundle import export_bundle, import_bundle

    for ws in ("ws-first", "ws-second"):
        shutil.rmtree(work / ws, ignore_errors=True)
    first = Workspace.init(work / "ws-first", name="示例高新区")
    write_sim_sources(first.root / "sources", first_city)
    started = time.perf_counter()
    land(first, [first.root / "sources" / f"{s}.yaml" for s in FIRST_SYSTEMS])
    seconds["land_first"] = time.perf_counter() - started
    bundles: dict[str, Path] = {}
    for name, topic in topics.items():
        results.setdefault(name, {})["first"] = run_and_evaluate(first, topic, first_city / "truth")
        bundles[name] = work / f"{name}.cbtopic"
        catalog = Catalog.open(first.ops_db_url)
        try:
            export_bundle(topic, first, catalog, bundles[name])
        finally:
            catalog.close()

    # the second city: its own contracts (<city>/contracts/, deployed as `workspace init --sim`
    # does) and the bundles, nothing else
    second = Workspace.init(work / "ws-second", name="德清县")
    started = time.perf_counter()
    deployed = write_sim_sources(second.root / "sources", second_city).files
    assert {p.name for p in deployed} == {p.name for p in (second_city / "contracts").glob("*")}
    land(second, deployed)
    seconds["land_second"] = time.perf_counter() - started
    for name, topic in topics.items():
        catalog = Catalog.open(second.ops_db_url)
        try:
            with second.engine() as engine:
                import_bundle(bundles[name], lambda n: topics[n], second, catalog, engine)
        finally:
            catalog.close()
        results[name]["second"] = run_and_evaluate(second, topic, second_city / "truth")

    failed = []
    print(f"\nadoption at scale {args.scale}, seed {args.seed} (load {load_before[0]:.1f})")
    print(f"{'topic':<14}{'figure':<12}{'示例高新区':>10}{'德清县':>10}{'diff':>8}")
    for name, key in TOPICS.items():
        for figure in (
            (key, "precision", "recall", "f1") if key != "f1" else ("f1", "precision", "recall")
        ):
            a, b = results[name]["first"].get(figure), results[name]["second"].get(figure)
            if a is None or b is None:
                print(f"{name:<14}{figure:<12}{a!s:>10}{b!s:>10}")
                continue
            diff = b - a
            print(f"{name:<14}{figure:<12}{a:>10.3f}{b:>10.3f}{diff:>+8.3f}")
            if figure == key:
                results[name]["diff"] = round(diff, 4)
                if abs(diff) > args.tolerance:
                    failed.append(f"{name} {figure} {a:.3f} → {b:.3f}")
    report = {
        "scale": args.scale,
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
        print("outside the tolerance: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
