"""A Chinese text classifier for 12345 complaints: is this about crowding / partitions?

Character n-grams (1–3) need no word segmenter and handle Chinese well; TF-IDF plus a logistic
regression is trained with **weak labels** taken from the hotline's own categories (群租, 违规隔断,
消防隐患, 噪音扰民 … versus the rest) and then applied to every text, so a crowding complaint that
the call-taker filed under 物业服务 still counts. It works on DISTINCT texts only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# Hotline categories whose tickets are (mostly) about crowded sublets; the weak positive labels.
CROWDING_CATEGORIES = ("群租", "违规隔断", "群租房", "隔断", "出租屋", "消防隐患")
# Categories too mixed to label either way (neighbour noise may be a big family or a sublet).
AMBIGUOUS_CATEGORIES = ("噪音扰民",)
# A few seed sentences so that a city whose hotline never used the categories still gets a model.
_SEED_POSITIVE = (
    "疑似群租，一套房住了十几个人，请核查",
    "房屋被违规隔断成多个小间出租",
    "楼上群租房人员进出频繁，存在消防隐患",
    "一套房子隔成很多间，住了很多人，电动车在屋里充电",
)
_SEED_NEGATIVE = (
    "小区周边乱停车严重",
    "物业服务差，电梯经常故障",
    "路灯不亮，晚上出行不便",
    "餐饮油烟扰民",
    "垃圾清运不及时",
)


def weak_labels(categories: Sequence[str | None]) -> NDArray[np.int8]:
    """1 for a crowding category, 0 for an unrelated one, −1 for ambiguous or missing."""
    values = np.array([c or "" for c in categories], dtype=object)
    labels = np.zeros(len(values), dtype=np.int8)
    labels[np.isin(values, CROWDING_CATEGORIES)] = 1
    labels[np.isin(values, AMBIGUOUS_CATEGORIES) | (values == "")] = -1
    return labels


def train_classifier(texts: Sequence[str], categories: Sequence[str | None]) -> Pipeline:
    """Fit char n-gram TF-IDF + logistic regression on texts labelled by their category."""
    # imported here: scikit-learn takes about a second to import, and every `citybrain run`
    # imports the topics to build its graph, whether group rental runs or is skipped as unchanged
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    labels = weak_labels(categories)
    known = labels >= 0
    train_texts = [t for t, k in zip(texts, known, strict=True) if k]
    train_texts += [*_SEED_POSITIVE, *_SEED_NEGATIVE]
    y = np.concatenate(
        [labels[known], np.ones(len(_SEED_POSITIVE)), np.zeros(len(_SEED_NEGATIVE))]
    ).astype(np.int8)
    model = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1),
        LogisticRegression(C=4.0, class_weight="balanced", max_iter=1000),
    )
    model.fit(train_texts, y)
    return model


def crowding_probability(model: Pipeline, texts: Sequence[str]) -> NDArray[np.float64]:
    if not texts:
        return np.zeros(0, dtype=np.float64)
    proba: NDArray[np.float64] = model.predict_proba(list(texts))[:, 1].astype(np.float64)
    return proba


def decision_threshold(proba: NDArray[np.float64], labels: NDArray[np.int8]) -> float:
    """The cut with the best F1 of the cross-fitted scores against the weak labels (0.2–0.8)."""
    known = labels >= 0
    if not known.any() or labels[known].min() == labels[known].max():
        return 0.5
    cuts = np.linspace(0.2, 0.8, 25)
    y = labels[known] == 1
    p = proba[known]
    f1 = []
    for cut in cuts:
        hit = p >= cut
        tp = float(np.sum(hit & y))
        f1.append(2 * tp / max(float(hit.sum() + y.sum()), 1.0))
    best = np.flatnonzero(np.isclose(f1, max(f1)))
    return float(cuts[best].mean())  # the middle of the best plateau


def classify_texts(distinct: pa.Table, threshold: float | None = None, folds: int = 5) -> pa.Table:
    """From distinct (text, category) rows, the table (text, crowding_p, crowding) per text.

    A text whose own category labelled it is scored by a model trained on the other folds
    (cross-fitting), so a mis-categorised complaint is judged by its words, not by its label.
    Without a ``threshold`` the cut is the one that best reproduces the weak labels out of fold.
    """
    frame = distinct.select(["text", "category"]).to_pandas().dropna(subset=["text"])
    frame = frame.drop_duplicates("text")
    texts = frame["text"].astype(str).tolist()
    categories = frame["category"].tolist()
    proba = np.zeros(len(texts), dtype=np.float64)
    if texts:
        model = train_classifier(texts, categories)
        proba = crowding_probability(model, texts)
        labels = weak_labels(categories)
        fold = np.arange(len(texts)) % folds
        if len(texts) >= 2 * folds:
            for k in range(folds):
                held = fold == k
                if not (held & (labels >= 0)).any():
                    continue
                keep = ~held
                part = train_classifier(
                    [t for t, use in zip(texts, keep, strict=True) if use],
                    [c for c, use in zip(categories, keep, strict=True) if use],
                )
                rows = held & (labels >= 0)
                proba[rows] = crowding_probability(
                    part, [t for t, use in zip(texts, rows, strict=True) if use]
                )
    cut = threshold if threshold is not None else decision_threshold(proba, weak_labels(categories))
    return pa.table(
        {
            "text": pa.array(texts, pa.string()),
            "crowding_p": pa.array(proba, pa.float64()),
            "crowding": pa.array(proba >= cut, pa.bool_()),
        }
    )
