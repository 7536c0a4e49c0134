"""Evaluation against the synthetic city's planted commitment outcomes (truth ``credit_outcomes``).

A commitment broken is the bad outcome; the risk is 100 minus the enterprise's credit score. ``auc``
orders every planted outcome by the grade the system shows (checked commitments feed back into the
score, as they do in service); ``auc_unseen`` only those whose check the lake does not show yet —
outcomes no input reveals, the honest out-of-sample figure. Commitments are joined to enterprises
by the commitment number the lake holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

from citybrain.topics import Evaluation, TopicContext, binary_scores


class CreditEvaluation(Evaluation):
    """The shared figures plus how well the grades order the planted commitment outcomes."""

    auc: float | None
    auc_unseen: float | None


def _auc(actual: np.ndarray, risk: np.ndarray) -> float | None:
    if actual.all() or not actual.any():
        return None
    return float(roc_auc_score(actual, risk))


def evaluate_credit(
    topic: str, findings: pa.Table, truth_dir: Path, ctx: TopicContext, scores: pa.Table
) -> Evaluation:
    truth = pq.read_table(
        truth_dir / "credit_outcomes.parquet", columns=["commitment_no", "kept", "result_visible"]
    ).to_pandas()
    commitments = ctx.engine.to_arrow(
        ctx.input("std.commitment").select("commitment_id", "uscc")
    ).to_pandas()
    frame = scores.select(["uscc", "score", "grade"]).to_pandas()
    merged = truth.merge(commitments, left_on="commitment_no", right_on="commitment_id", how="left")
    merged = merged.merge(frame, on="uscc", how="left")
    unmatched = int(merged["score"].isna().sum())
    merged = merged.dropna(subset=["score"])
    broken = ~merged["kept"].to_numpy(dtype=bool)
    risk = 100.0 - merged["score"].to_numpy(dtype=np.float64)
    unseen = ~merged["result_visible"].to_numpy(dtype=bool)
    grade_rank = merged["grade"].map({"A": 0, "B": 1, "C": 2, "D": 3}).to_numpy(dtype=np.float64)
    predicted = np.isin(merged["grade"].to_numpy(), ["C", "D"])
    ours = binary_scores(predicted, broken)
    grades = frame["grade"].value_counts().reindex(["A", "B", "C", "D"], fill_value=0)
    by_grade = (
        pd.DataFrame({"grade": merged["grade"], "broken": broken})
        .groupby("grade")["broken"]
        .agg(["size", "mean"])
    )
    result = CreditEvaluation(
        topic=topic,
        auc=_auc(broken, risk),
        auc_unseen=_auc(broken[unseen], risk[unseen]),
        precision=ours.precision,
        recall=ours.recall,
        f1=ours.f1,
        threshold=ctx.params.threshold,
        support=ours.support,
        flagged=ours.flagged,
        extra={
            "auc_grade": _auc(broken, grade_rank),
            "commitments": len(merged),
            "commitments_unseen": int(unseen.sum()),
            "broken": int(broken.sum()),
            "broken_unseen": int(broken[unseen].sum()),
            "truth_rows_not_matched": unmatched,
            "enterprises": len(frame),
            "grades": {k: int(v) for k, v in grades.items()},
            "broken_rate_by_grade": {
                str(g): {"commitments": int(r["size"]), "broken_rate": float(r["mean"])}
                for g, r in by_grade.iterrows()
            },
            "findings": findings.num_rows,
        },
    )
    folder = ctx.artifacts_dir or ctx.workspace.zone("topic") / f"{topic}_evaluation"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "evaluation.json"
    result.extra["json"] = str(path)
    path.write_text(json.dumps(result.model_dump(), ensure_ascii=False, indent=2), "utf-8")
    return result
