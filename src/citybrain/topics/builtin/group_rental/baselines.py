"""The two references the topic must beat, run in the same evaluation: electricity per dwelling
above a threshold (its best threshold on the same data, to be fair to it) and an IsolationForest
on the raw features."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.ensemble import IsolationForest

from citybrain.topics import binary_scores, pr_curve

RAW_COLUMNS = ("water", "electricity", "gas", "items", "phones", "registered", "area_m2")


def best_threshold(scores: NDArray[np.float64], actual: NDArray[np.bool_]) -> tuple[float, float]:
    """The threshold with the best F1 on these data, and that F1."""
    precision, recall, thresholds = pr_curve(scores, actual)
    with np.errstate(all="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    best = int(np.argmax(f1))
    return float(thresholds[best]), float(f1[best])


def _figures(scores: NDArray[np.float64], actual: NDArray[np.bool_]) -> dict[str, float]:
    threshold, _ = best_threshold(scores, actual)
    result = binary_scores(scores >= threshold, actual)
    return {
        "precision": result.precision,
        "recall": result.recall,
        "f1": result.f1,
        "threshold": threshold,
        "flagged": float(result.flagged),
    }


def electricity_scores(frame: pd.DataFrame) -> NDArray[np.float64]:
    out: NDArray[np.float64] = frame["electricity"].fillna(0.0).to_numpy(dtype=np.float64)
    return out


def isolation_forest_scores(frame: pd.DataFrame, seed: int = 7) -> NDArray[np.float64]:
    x = np.column_stack(
        [np.log1p(frame[c].fillna(0.0).to_numpy(dtype=np.float64).clip(0)) for c in RAW_COLUMNS]
    )
    forest = IsolationForest(n_estimators=100, max_samples=4096, random_state=seed, n_jobs=2)
    forest.fit(x)
    out: NDArray[np.float64] = -forest.score_samples(x)
    return out


def run_baselines(
    frame: pd.DataFrame, actual: NDArray[np.bool_]
) -> tuple[dict[str, dict[str, float]], dict[str, NDArray[np.float64]]]:
    """Each baseline's figures at its best threshold, and its scores (for the PR curve)."""
    scores = {
        "electricity_threshold": electricity_scores(frame),
        "isolation_forest": isolation_forest_scores(frame),
    }
    return {name: _figures(s, actual) for name, s in scores.items()}, scores
