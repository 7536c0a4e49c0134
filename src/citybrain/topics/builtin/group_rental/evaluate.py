"""Evaluation against the synthetic city's truth, with both baselines in the same run.

Precision, recall and F1 are those of the stored findings (the flagged dwelling-months) at the
default threshold; precision@100 and the precision-recall curve use the score of every
dwelling-month. A PNG of the curves and a JSON of the figures go to the artifacts folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from citybrain.topics import (
    Evaluation,
    TopicContext,
    binary_scores,
    evaluation_folder,
    pr_curve,
    precision_at_k,
    save_evaluation,
)
from citybrain.topics.builtin.group_rental.baselines import run_baselines

if TYPE_CHECKING:
    from citybrain.topics.builtin.group_rental.topic import Scored


def truth_vector(frame: pd.DataFrame, truth_dir: Path) -> tuple[NDArray[np.bool_], int]:
    """Per dwelling-month of ``frame`` whether it truly is a group rental; truth rows unmatched."""
    truth = pq.read_table(
        truth_dir / "group_rental.parquet", columns=["address_id", "month", "group_rental"]
    ).to_pandas()
    keys = frame[["address_id", "period"]]
    merged = keys.merge(
        truth.rename(columns={"month": "period"}), on=["address_id", "period"], how="left"
    )
    actual = merged["group_rental"].fillna(False).to_numpy(dtype=bool)
    positives = truth.loc[truth["group_rental"].astype(bool), ["address_id", "month"]]
    seen = positives.merge(
        keys.rename(columns={"period": "month"}), on=["address_id", "month"], how="inner"
    )
    return actual, len(positives) - len(seen)


def flagged_vector(frame: pd.DataFrame, findings: pa.Table) -> NDArray[np.bool_]:
    found = findings.select(["subject_id", "period"]).to_pandas()
    found["hit"] = True
    keys = frame[["address_id", "period"]].rename(columns={"address_id": "subject_id"})
    merged = keys.merge(found.drop_duplicates(), on=["subject_id", "period"], how="left")
    out: NDArray[np.bool_] = merged["hit"].fillna(False).to_numpy(dtype=bool)
    return out


def write_pr_png(
    path: Path, curves: dict[str, NDArray[np.float64]], actual: NDArray[np.bool_]
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 5))
    for name, scores in curves.items():
        precision, recall, _ = pr_curve(scores, actual)
        axes.plot(recall, precision, label=name)
    axes.set_xlabel("recall")
    axes.set_ylabel("precision")
    axes.set_title("group_rental: precision-recall")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.legend(loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def evaluate_group_rental(
    topic: str, findings: pa.Table, truth_dir: Path, ctx: TopicContext, scored: Scored
) -> Evaluation:
    frame = scored.frame
    actual, unmatched = truth_vector(frame, truth_dir)
    threshold = ctx.params.threshold
    has_findings = findings.num_rows > 0
    predicted = flagged_vector(frame, findings) if has_findings else scored.score >= threshold
    ours = binary_scores(predicted, actual)
    baselines, baseline_scores = run_baselines(frame, actual)
    folder = evaluation_folder(ctx, topic)
    png = folder / "pr_curve.png"
    write_pr_png(png, {topic: scored.score, **baseline_scores}, actual)
    result = Evaluation(
        topic=topic,
        **ours.fields(),
        precision_at_100=precision_at_k(scored.score, actual, 100),
        threshold=threshold,
        baselines=baselines,
        extra={
            "dwelling_months": len(frame),
            "truth_positives_not_scored": unmatched,
            "supervised": scored.supervised,
            "f1_margin_over_best_baseline": ours.f1 - max(b["f1"] for b in baselines.values()),
            "pr_curve_png": str(png),
        },
    )
    return save_evaluation(result, ctx)
