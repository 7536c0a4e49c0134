"""The credit scorecard: optbinning WoE bins + logistic regression, points, rules, grades, reasons.

The model learns from labels the lake holds — an enterprise with an adverse record (失信被执行人,
行政处罚 or a broken commitment) — over the behaviour indicators only (tax, social security, age,
capital), so a record never predicts itself. Records then score by fixed rules:

=====================================  ======================================
rule                                   points
=====================================  ======================================
administrative penalty                 −5 each, at most 3
tax-arrears penalty (拖欠税款 …)         −5 more each
broken commitment (未履约)               −30 each
kept commitment (已履约)                 +3 each, at most 2
registration not 存续 / 在业 / 开业       −20
on the dishonesty list (失信被执行人)     grade D, score at most 40 (hard rule)
=====================================  ======================================

Points scale (PDO 20): a firm at the population's odds scores BASE; twice the odds of staying
clean is 20 points more. Clamped to 0–100; A ≥ 80, B ≥ 65, C ≥ 50, D below.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from citybrain.topics.builtin.credit.features import MODEL_FEATURES
from citybrain.topics.errors import NotEnoughData

BASE, PDO = 70.0, 20.0
FACTOR = PDO / math.log(2)
GRADE_FLOORS = ((80, "A"), (65, "B"), (50, "C"), (0, "D"))
DISHONEST_CAP = 40
BROKEN_POINTS = 30.0  # per broken commitment
MIN_CLASS = 5  # adverse and clean enterprises each needed to fit

REASON_POINTS = pa.struct(
    [
        ("signal", pa.string()),
        ("points", pa.int64()),
        ("observed", pa.float64()),
        ("text_zh", pa.string()),
        ("text_en", pa.string()),
    ]
)


class NotEnoughLabels(NotEnoughData):
    """Too few enterprises with (or without) an adverse record to fit the scorecard: the run goes
    on without credit grades (a small district may not hold enough records yet)."""


@dataclass(frozen=True)
class Template:
    """How one signal's observed value reads: ``value`` maps the raw indicator for the text."""

    zh: str
    en: str
    missing_zh: str
    missing_en: str
    kind: str = "count"  # count | percent | change | capital


TEMPLATES: dict[str, Template] = {
    "age_months": Template(
        "成立{v}个月", "founded {v} months ago", "无成立日期", "no founding date"
    ),
    "log_capital": Template(
        "注册资本{v}万元", "registered capital {v} (10k yuan)", "无注册资本", "no capital",
        "capital",
    ),
    "tax_missing": Template(
        "近6个月有{v}个月未申报纳税", "no tax declared in {v} of the last 6 months",
        "无纳税申报记录", "no tax declarations on record",
    ),
    "revenue_drop": Template(
        "最近一月营业收入为本企业常态的{v}%", "latest month's revenue {v}% of the firm's usual",
        "无营业收入申报", "no revenue declared", "percent",
    ),
    "revenue_slope": Template(
        "营业收入月均变化{v}%", "revenue changes {v}% a month on average",
        "营业收入记录不足", "too little revenue history", "change",
    ),
    "ss_missing": Template(
        "近6个月有{v}个月未缴社保", "no social security paid in {v} of the last 6 months",
        "无社保缴费记录", "no social-security records",
    ),
    "headcount_drop": Template(
        "最近一月参保人数为本企业常态的{v}%", "latest month's insured staff {v}% of the usual",
        "无参保人数记录", "no insured-staff records", "percent",
    ),
    "headcount_slope": Template(
        "参保人数月均变化{v}%", "insured staff change {v}% a month on average",
        "参保记录不足", "too little social-security history", "change",
    ),
}  # fmt: skip

RULES: dict[str, tuple[str, str]] = {
    "penalty": ("受到行政处罚{v}次", "{v} administrative penalties"),
    "tax_penalty": ("因欠税等税务违法受罚{v}次", "{v} tax penalties (arrears and the like)"),
    "commitment_broken": ("{v}项信用承诺未履约", "{v} credit commitment(s) broken"),
    "commitment_kept": ("{v}项信用承诺经核查已履约", "{v} credit commitment(s) checked and kept"),
    "registration_status": ("登记状态非存续/在业", "registration not active"),
    "dishonest_judgment": (
        "列入失信被执行人名单{v}次（直接评为D级）",
        "on the court dishonesty list {v} time(s) (grade D by rule)",
    ),
    "repaired": ("经信用修复撤销{v}条记录", "{v} record(s) withdrawn by credit repair"),
}


@dataclass
class Model:
    """A fitted scorecard: the binning, the regression and the reference log-odds."""

    binning: object
    coef: NDArray[np.float64]
    intercept: float
    log_odds_ref: float
    positives: int
    labelled: int


def adverse_label(frame: pd.DataFrame) -> NDArray[np.int64]:
    """1 where the lake holds an adverse record of the enterprise (the training label)."""
    bad = (frame["dishonest"] > 0) | (frame["penalties"] > 0) | (frame["broken"] > 0)
    out: NDArray[np.int64] = np.asarray(bad, dtype=np.int64)
    return out


def fit(
    frame: pd.DataFrame,
    features: Sequence[str] = MODEL_FEATURES,
    label: Callable[[pd.DataFrame], NDArray[np.int64]] = adverse_label,
    subject: str = "enterprises",
) -> Model:
    """Fit the scorecard on ``features`` against ``label`` (enterprises by default; residents
    pass their own)."""
    from optbinning import BinningProcess  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression

    y = label(frame)
    positives = int(y.sum())
    if positives < MIN_CLASS or len(y) - positives < MIN_CLASS:
        raise NotEnoughLabels(
            f"credit: {positives} of {len(y)} {subject} have an adverse record; the scorecard "
            f"needs at least {MIN_CLASS} with and {MIN_CLASS} without"
        )
    x = frame[list(features)].astype("float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        binning = BinningProcess(list(features), max_n_bins=5, min_prebin_size=0.05)
        binning.fit(x, y)
        woe = binning.transform(x, metric="woe").to_numpy(dtype=np.float64)
        regression = LogisticRegression(C=1.0, max_iter=1000).fit(woe, y)
    prior = positives / len(y)
    return Model(
        binning,
        regression.coef_[0].astype(np.float64),
        float(regression.intercept_[0]),
        math.log((1 - prior) / prior),
        positives,
        len(y),
    )


@dataclass(frozen=True)
class Scale:
    """How log-odds of staying clean become points: ``points`` at the reference log-odds
    (None: the population's, as the model saw it), ``factor`` points per unit of log-odds."""

    points: float = BASE
    factor: float = FACTOR
    ref_log_odds: float | None = None


def feature_points(
    model: Model,
    frame: pd.DataFrame,
    features: Sequence[str] = MODEL_FEATURES,
    scale: Scale | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Base points of each subject and the points each feature adds (n × features)."""
    scale = scale or Scale()
    ref = model.log_odds_ref if scale.ref_log_odds is None else scale.ref_log_odds
    x = frame[list(features)].astype("float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        woe = model.binning.transform(x, metric="woe").to_numpy(dtype=np.float64)  # type: ignore[attr-defined]
    # log-odds of staying clean = −(b0 + Σ c·w): each feature adds −F·c·w points
    per_feature = -scale.factor * woe * model.coef
    base = scale.points + scale.factor * (-model.intercept - ref)
    return np.full(len(frame), base), per_feature


def rule_points(frame: pd.DataFrame) -> dict[str, NDArray[np.float64]]:
    """Points of each rule per enterprise (0 where it does not apply)."""
    pen = frame["penalties"].to_numpy(dtype=np.float64)
    return {
        "penalty": -5.0 * np.minimum(pen, 3),
        "tax_penalty": -5.0 * frame["tax_penalties"].to_numpy(dtype=np.float64),
        # a commitment signed in place of documents and then broken (承诺不实 / 未履约) is the
        # firm's own credit broken: it costs two grades (A 85 → C 55), not one
        "commitment_broken": -BROKEN_POINTS * frame["broken"].to_numpy(dtype=np.float64),
        "commitment_kept": 3.0 * np.minimum(frame["kept"].to_numpy(dtype=np.float64), 2),
        "registration_status": -20.0 * frame["inactive"].to_numpy(dtype=np.float64),
    }


RULE_OBSERVED = {
    "penalty": "penalties",
    "tax_penalty": "tax_penalties",
    "commitment_broken": "broken",
    "commitment_kept": "kept",
    "registration_status": "inactive",
}


def grade_of(score: NDArray[np.int64], dishonest: NDArray[np.bool_]) -> NDArray[np.str_]:
    out = np.full(len(score), "D", dtype="<U1")
    for floor, letter in reversed(GRADE_FLOORS):
        out[score >= floor] = letter
    out[dishonest] = "D"
    return out


def final_score(
    model_points: NDArray[np.float64],
    rules: dict[str, NDArray[np.float64]],
    dishonest: NDArray[np.bool_],
) -> NDArray[np.int64]:
    total = model_points + sum(rules.values(), np.zeros(len(model_points)))
    total = np.where(dishonest, np.minimum(total, DISHONEST_CAP), total)
    return np.clip(np.round(total), 0, 100).astype(np.int64)


def _display(values: NDArray[np.float64], kind: str) -> pa.Array:
    if kind == "percent":
        shown = np.round(np.exp(values) * 100)
    elif kind == "change":
        shown = np.round((np.exp(values) - 1) * 100, 1)
    elif kind == "capital":
        shown = np.round(np.exp(values) - 1, 1)
    else:
        shown = np.round(values)
    text = pc.cast(pa.array(shown, pa.float64()), pa.string())
    return pc.replace_substring_regex(text, r"\.0$", "")


def _fill(template: str, values: pa.Array) -> pa.Array:
    head, _, tail = template.partition("{v}")
    return pc.binary_join_element_wise(head, values, tail, "")


def reasons(
    frame: pd.DataFrame,
    per_feature: NDArray[np.float64],
    rules: dict[str, NDArray[np.float64]],
    *,
    min_points: float = 1.0,
    features: Sequence[str] = MODEL_FEATURES,
    templates: dict[str, Template] | None = None,
    rule_texts: dict[str, tuple[str, str]] | None = None,
    rule_observed: dict[str, str] | None = None,
) -> pa.ListArray:
    """Each enterprise's reasons (a feature moving at least ``min_points``, each rule that
    applies), largest effect first — built column-wise, one list per enterprise."""
    n = len(frame)
    templates = TEMPLATES if templates is None else templates
    rule_texts = RULES if rule_texts is None else rule_texts
    rule_observed = RULE_OBSERVED if rule_observed is None else rule_observed
    parts: list[pa.Table] = []
    for j, name in enumerate(features):
        points = np.round(per_feature[:, j])
        keep = np.abs(points) >= min_points
        if not keep.any():
            continue
        raw = frame[name].to_numpy(dtype=np.float64)[keep]
        tpl = templates[name]
        missing = pa.array(np.isnan(raw))
        shown = _display(np.nan_to_num(raw), tpl.kind)
        parts.append(
            pa.table(
                {
                    "i": np.flatnonzero(keep),
                    "signal": pa.array([name] * int(keep.sum()), pa.string()),
                    "points": points[keep].astype(np.int64),
                    "observed": pa.array(raw, pa.float64(), from_pandas=True),
                    "text_zh": pc.if_else(missing, tpl.missing_zh, _fill(tpl.zh, shown)),
                    "text_en": pc.if_else(missing, tpl.missing_en, _fill(tpl.en, shown)),
                }
            )
        )
    dishonest = frame["dishonest"].to_numpy(dtype=np.float64)
    rule_values = {**rules, "dishonest_judgment": np.where(dishonest > 0, -1.0, 0.0)}
    observed_cols = {**rule_observed, "dishonest_judgment": "dishonest"}
    for name, points_all in rule_values.items():
        keep = points_all != 0
        if not keep.any():
            continue
        raw = frame[observed_cols[name]].to_numpy(dtype=np.float64)[keep]
        shown = _display(raw, "count")
        zh, en = rule_texts[name]
        points = np.round(points_all[keep]).astype(np.int64)
        if name == "dishonest_judgment":
            points = np.zeros(int(keep.sum()), np.int64)  # a cap, not points
        parts.append(
            pa.table(
                {
                    "i": np.flatnonzero(keep),
                    "signal": pa.array([name] * int(keep.sum()), pa.string()),
                    "points": points,
                    "observed": pa.array(raw, pa.float64()),
                    "text_zh": _fill(zh, shown),
                    "text_en": _fill(en, shown),
                }
            )
        )
    if not parts:
        offsets = pa.array(np.zeros(n + 1, np.int32))
        return pa.ListArray.from_arrays(offsets, pa.array([], REASON_POINTS))
    long = pa.concat_tables(parts)
    weight = pc.abs(long["points"])
    long = long.append_column("w", weight).sort_by([("i", "ascending"), ("w", "descending")])
    counts = np.bincount(long["i"].to_numpy(), minlength=n)
    offsets = pa.array(np.r_[0, np.cumsum(counts)].astype(np.int32))
    values = pa.StructArray.from_arrays(
        [long[c].combine_chunks() for c in REASON_POINTS.names], fields=list(REASON_POINTS)
    )
    return pa.ListArray.from_arrays(offsets, values)
