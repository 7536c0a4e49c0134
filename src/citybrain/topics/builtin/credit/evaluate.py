"""Evaluation against the synthetic city's planted commitment outcomes (truth ``credit_outcomes``).

A commitment broken is the bad outcome; the risk is 100 minus the enterprise's credit score. ``auc``
orders every planted outcome by the grade the system shows (checked commitments feed back into the
score, as they do in service); ``auc_unseen`` only those whose check the lake does not show yet —
outcomes no input reveals, the honest out-of-sample figure. Commitments are joined to enterprises
by the commitment number the lake holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

from citybrain.topics import Evaluation, TopicContext, binary_scores, save_evaluation


class CreditEvaluation(Evaluation):
    """The shared figures plus how well the grades order the planted commitment outcomes."""

    auc: float | None
    auc_unseen: float | None
    auc_persons: float | None = None


def _auc(actual: np.ndarray, risk: np.ndarray) -> float | None:
    if actual.all() or not actual.any():
        return None
    return float(roc_auc_score(actual, risk))


def _persons(truth_dir: Path, ctx: TopicContext, people: pa.Table) -> dict[str, object]:
    """How residents' grades order the planted later defaults (truth ``person_credit_outcomes``).

    A planted person is found in the lake by the accounts they hold: the truth's account → person
    links beside the lake's account → golden person links; a person split over several golden ids
    takes the highest risk."""
    outcomes_path = truth_dir / "person_credit_outcomes.parquet"
    if not outcomes_path.is_file():
        return {"auc_persons": None, "persons": "no person_credit_outcomes in truth"}
    outcomes = pq.read_table(outcomes_path, columns=["person_id", "serious_default"]).to_pandas()
    truth_links = pq.read_table(
        truth_dir / "links_person.parquet", columns=["system", "key", "entity_id"]
    ).to_pandas()
    truth_links = truth_links[
        truth_links["system"].isin(["water_utility", "power_grid", "gas_utility"])
    ]
    links = ctx.engine.to_arrow(ctx.input("base.person_link")).to_pandas()
    links = links[links["source_table"] == "utility_reading"]
    acc = truth_links.merge(
        links[["source_key", "golden_person_id"]].drop_duplicates(),
        left_on="key",
        right_on="source_key",
    )
    frame = people.select(["golden_person_id", "score", "grade"]).to_pandas()
    acc = acc.merge(frame, on="golden_person_id")
    risk = (100.0 - acc["score"]).groupby(acc["entity_id"]).max()
    merged = outcomes.merge(risk.rename("risk"), left_on="person_id", right_index=True)
    bad = merged["serious_default"].to_numpy(dtype=bool)
    grades = frame["grade"].value_counts().reindex(["A", "B", "C", "D"], fill_value=0)
    return {
        "auc_persons": _auc(bad, merged["risk"].to_numpy(dtype=np.float64)),
        "persons_graded": len(frame),
        "persons_planted": len(outcomes),
        "persons_matched": len(merged),
        "persons_defaults": int(bad.sum()),
        "person_grades": {k: int(v) for k, v in grades.items()},
    }


def evaluate_credit(
    topic: str,
    findings: pa.Table,
    truth_dir: Path,
    ctx: TopicContext,
    scores: pa.Table,
    people: pa.Table | None = None,
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
    person_figures = (
        {"auc_persons": None, "persons": "not graded"}
        if people is None
        else _persons(truth_dir, ctx, people)
    )
    auc_persons = person_figures.pop("auc_persons")
    result = CreditEvaluation(
        topic=topic,
        **ours.fields(),
        auc=_auc(broken, risk),
        auc_unseen=_auc(broken[unseen], risk[unseen]),
        auc_persons=auc_persons if isinstance(auc_persons, float) else None,
        threshold=ctx.params.threshold,
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
            **person_figures,
        },
    )
    return save_evaluation(result, ctx)
