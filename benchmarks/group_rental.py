"""Group-rental topic (群租房): detection quality and cost, side by side with its baselines.

Scores every dwelling-month of a standardised workspace on DuckDB (threads limited to --threads),
evaluates the findings against the synthetic city's truth together with the two baselines
(electricity above its best threshold, IsolationForest on the raw features), then feeds back
--outcomes simulated case outcomes (findings and near-misses sampled and labelled from truth, as
inspectors would) and compares the supervised model with the unsupervised score on the rest.

    uv run python benchmarks/group_rental.py --workspace /tmp/ws-small --truth /tmp/cb-small/truth
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from citybrain.core import Workspace
from citybrain.topics import TopicContext, binary_scores
from citybrain.topics.builtin.group_rental import GroupRental, GroupRentalParams
from citybrain.topics.builtin.group_rental.evaluate import evaluate_group_rental, truth_vector
from citybrain.topics.builtin.group_rental.topic import score_dwellings


def _ctx(ws: Workspace, engine: Any, labels: pa.Table | None, out: Path) -> TopicContext:
    return TopicContext(
        workspace=ws,
        engine=engine,
        run_id="benchmark",
        params=GroupRentalParams(),
        model_version="group_rental-1",
        labels=labels,
        artifacts_dir=out,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/group_rental.json"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--outcomes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    artifacts = args.out.parent / "group_rental_artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    workspace = Workspace.open(args.workspace)
    topic = GroupRental()
    with workspace.engine() as engine:
        engine.ibis.raw_sql(f"SET threads = {args.threads}")
        started = time.perf_counter()
        findings = topic.run(_ctx(workspace, engine, None, artifacts))
        run_seconds = time.perf_counter() - started
        scored = score_dwellings(_ctx(workspace, engine, None, artifacts))
        evaluation = evaluate_group_rental(
            topic.name, findings, args.truth, _ctx(workspace, engine, None, artifacts), scored
        )
        # simulated case outcomes: inspectors visit findings and near-misses, truth answers
        actual, _ = truth_vector(scored.frame, args.truth)
        rng = np.random.default_rng(args.seed)
        candidates = np.flatnonzero(scored.score >= 0.2)
        visited = np.sort(rng.choice(candidates, min(args.outcomes, len(candidates)), False))
        labels = pa.table(
            {
                "subject_id": scored.frame["address_id"].to_numpy()[visited],
                "period": scored.frame["period"].to_numpy()[visited],
                "label": actual[visited].astype(np.int8),
            }
        )
        started = time.perf_counter()
        learned = score_dwellings(_ctx(workspace, engine, labels, artifacts))
        supervised_seconds = time.perf_counter() - started
    rest = np.ones(len(actual), bool)
    rest[visited] = False
    threshold = GroupRentalParams().threshold
    before = binary_scores(scored.score[rest] >= threshold, actual[rest])
    after = binary_scores(learned.score[rest] >= threshold, actual[rest])
    result = {
        "benchmark": "group_rental",
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "versions": {"python": platform.python_version()},
        "inputs": {
            "workspace": str(args.workspace),
            "dwelling_months": len(scored.frame),
            "dwellings": int(scored.frame["address_id"].nunique()),
            "months": int(scored.frame["m"].nunique()),
            "threads": args.threads,
        },
        "seconds": {"run_whole_city": run_seconds, "supervised_run": supervised_seconds},
        "ours": {
            "precision": evaluation.precision,
            "recall": evaluation.recall,
            "f1": evaluation.f1,
            "precision_at_100": evaluation.precision_at_100,
            "flagged": evaluation.flagged,
            "support": evaluation.support,
        },
        "baselines": evaluation.baselines,
        "f1_margin_over_best_baseline": evaluation.extra["f1_margin_over_best_baseline"],
        "supervised": {
            "outcomes": len(visited),
            "confirmed": int(actual[visited].sum()),
            "used_model": learned.supervised,
            "rest_unsupervised": before.__dict__,
            "rest_supervised": after.__dict__,
            "f1_gain": after.f1 - before.f1,
        },
        "pr_curve_png": evaluation.extra["pr_curve_png"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
    print(f"{'model':24} {'precision':>9} {'recall':>7} {'f1':>6}")
    ours = evaluation
    print(f"{'group_rental':24} {ours.precision:9.3f} {ours.recall:7.3f} {ours.f1:6.3f}")
    for name, figures in evaluation.baselines.items():
        print(
            f"{name:24} {figures['precision']:9.3f} {figures['recall']:7.3f} {figures['f1']:6.3f}"
        )
    print(f"precision@100 {evaluation.precision_at_100:.3f}; whole city in {run_seconds:.1f} s")
    print(
        f"supervised with {len(visited)} outcomes: F1 {before.f1:.3f} -> {after.f1:.3f} on the rest"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
