"""Early warning scored against the synthetic city's planted distress, per enterprise.

A firm is warned if any of its months has a finding; its score is its highest monthly score (AUC
over every firm with a panel). Lead time is the planted onset month minus the first warning's
month, for the distressed firms that were warned (positive: warned before the onset). Seasonal
caterers and newly founded firms that are not distressed are reported on their own: the share of
them warned is their false-warning rate.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

from citybrain.core.errors import UserError
from citybrain.topics import Evaluation, TopicContext, binary_scores, save_evaluation

if TYPE_CHECKING:
    from citybrain.topics.builtin.enterprise_warning.topic import Scored


class WarningEvaluation(Evaluation):
    """The shared figures plus what early warning is judged on."""

    auc: float
    median_lead_months: float | None
    seasonal_false_warning_rate: float
    new_false_warning_rate: float


def _month_index(labels: pa.Array) -> np.ndarray:
    text = pc.fill_null(labels, "0000-01")
    year = pc.cast(pc.utf8_slice_codeunits(text, 0, 4), pa.int64()).to_numpy()
    month = pc.cast(pc.utf8_slice_codeunits(text, 5, 7), pa.int64()).to_numpy()
    out: np.ndarray = np.asarray(year * 12 + month - 1, dtype=np.int64)
    return out


def evaluate_warnings(
    topic: str, findings: pa.Table, truth_dir: Path, ctx: TopicContext, scored: Scored
) -> WarningEvaluation:
    path = truth_dir / "enterprise_distress.parquet"
    if not path.is_file():
        raise UserError(f"{path}: no enterprise_distress truth in this folder")
    truth = pq.read_table(path)
    firms = scored.panel.firms
    # truth is keyed by USCC; the golden firm carries the registry's USCC
    at = pc.index_in(firms.column("uscc"), value_set=truth.column("uscc")).to_numpy(
        zero_copy_only=False
    )
    matched = ~np.isnan(at.astype(np.float64))
    idx = np.where(matched, np.nan_to_num(at.astype(np.float64)), 0).astype(np.int64)
    pick = truth.take(pa.array(idx))

    def flag(name: str) -> np.ndarray:
        values = pc.fill_null(pick.column(name), False).to_numpy(zero_copy_only=False)
        out: np.ndarray = np.asarray(values, dtype=bool) & matched
        return out

    distress, seasonal, new = flag("distress"), flag("seasonal"), flag("new_enterprise")
    onset = _month_index(pick.column("start_month").combine_chunks())
    score = np.nan_to_num(scored.assessment.score, nan=0.0)
    best = score.max(axis=1) if score.shape[1] else np.zeros(score.shape[0])
    # first month with a finding, per firm
    found = findings.select(["subject_id", "period"])
    row = pc.index_in(found.column("subject_id"), value_set=scored.firm_ids.cast(pa.string()))
    row_np = np.asarray(pc.fill_null(row, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    month = _month_index(found.column("period").combine_chunks())
    first = np.full(firms.num_rows, np.iinfo(np.int64).max)
    ok = row_np >= 0
    np.minimum.at(first, row_np[ok], month[ok])
    warned = first < np.iinfo(np.int64).max
    evaluated = matched
    ours = binary_scores(warned[evaluated], distress[evaluated])
    auc = float(roc_auc_score(distress[evaluated], best[evaluated])) if distress.any() else 0.0
    hit = warned & distress
    leads = (onset - first)[hit]
    clean_seasonal = seasonal & ~distress
    clean_new = new & ~distress

    def rate(group: np.ndarray) -> float:
        return float(warned[group].mean()) if group.any() else 0.0

    insufficient = int(np.isnan(scored.assessment.score[:, -1]).sum()) if score.shape[1] else 0
    result = WarningEvaluation(
        topic=topic,
        **ours.fields(),
        threshold=ctx.params.threshold,
        auc=auc,
        median_lead_months=float(np.median(leads)) if leads.size else None,
        seasonal_false_warning_rate=rate(clean_seasonal),
        new_false_warning_rate=rate(clean_new),
        extra={
            "firms": int(firms.num_rows),
            "firms_matched_to_truth": int(matched.sum()),
            "truth_firms_without_panel": int(truth.num_rows - matched.sum()),
            "months": int(scored.panel.months.size),
            "lead_months_quartiles": (
                [float(q) for q in np.percentile(leads, [25, 50, 75])] if leads.size else []
            ),
            "lead_months_definition": "planted onset month minus first warning month",
            "seasonal_firms_not_distressed": int(clean_seasonal.sum()),
            "new_firms_not_distressed": int(clean_new.sum()),
            "insufficient_history_latest_month": insufficient,
        },
    )
    return save_evaluation(result, ctx)
