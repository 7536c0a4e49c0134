"""Supervised takeover: once inspectors have confirmed / rejected enough findings, LightGBM trained
on those outcomes (raw features, peer-relative signals and the unsupervised score as a feature)
replaces the unsupervised score. Persistence is applied to its monthly output the same way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from citybrain.topics.builtin.group_rental.features import FEATURE_COLUMNS

# The dwelling's own features, then the peer-relative signals and the unsupervised score.
MODEL_COLUMNS = (
    *FEATURE_COLUMNS,
    "gap",
    "inferred",
    "z_water",
    "z_gas",
    "z_items",
    "z_phones",
    "raw_score",
)


def design_matrix(frame: pd.DataFrame, sig: pd.DataFrame) -> NDArray[np.float64]:
    parts = [frame[c] if c in frame.columns else sig[c] for c in MODEL_COLUMNS]
    matrix: NDArray[np.float64] = np.column_stack(
        [p.to_numpy(dtype=np.float64, na_value=np.nan) for p in parts]
    )
    return matrix


def label_vector(frame: pd.DataFrame, labels: pa.Table) -> NDArray[np.float64]:
    """Per row the label of its (subject_id, period), NaN where none was given."""
    table = labels.select(["subject_id", "period", "label"]).to_pandas()
    table = table.dropna().drop_duplicates(["subject_id", "period"], keep="last")
    keys = frame[["address_id", "period"]].rename(columns={"address_id": "subject_id"})
    merged = keys.merge(table, on=["subject_id", "period"], how="left")
    out: NDArray[np.float64] = merged["label"].to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def enough(y: NDArray[np.float64], min_labels: int) -> bool:
    known = y[~np.isnan(y)]
    return len(known) >= min_labels and 0 < known.sum() < len(known)


def fit_predict(
    x: NDArray[np.float64], y: NDArray[np.float64], prior: NDArray[np.float64], seed: int = 7
) -> NDArray[np.float64]:
    """Train on the labelled rows, predict every row's probability.

    Inspectors only visit findings and near-misses, so the outcomes say nothing about the bulk
    of ordinary dwellings; rows the unsupervised ``prior`` is sure about (below 0.01) are added
    as negatives (five per outcome) so that the model does not extrapolate into them.
    """
    import lightgbm as lgb

    y = y.copy()
    known = ~np.isnan(y)
    sure = np.flatnonzero(~known & (prior < 0.01))
    rng = np.random.default_rng(seed)
    extra = rng.choice(sure, min(len(sure), 5 * int(known.sum())), replace=False)
    y[extra] = 0.0
    known = ~np.isnan(y)
    model = lgb.LGBMClassifier(
        n_estimators=200,
        learning_rate=0.05,
        num_leaves=7,
        min_child_samples=5,
        subsample=0.9,
        subsample_freq=1,
        colsample_bytree=0.9,
        random_state=seed,
        n_jobs=2,
        verbose=-1,
    )
    model.fit(x[known], y[known].astype(np.int64))
    matrix = np.asarray(model.predict_proba(x), dtype=np.float64)
    proba: NDArray[np.float64] = matrix[:, 1]
    return proba
