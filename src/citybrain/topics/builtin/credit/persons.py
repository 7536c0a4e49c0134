"""Residents' credit (守信通·个人): one row per golden person the city holds credit records of.

Records reach a golden person through ``base.person_link``: a utility arrears notice by its account
number (the account the meter readings link to its holder), a court listing by its case code.

=====================  ==========================================================================
group                  indicators
=====================  ==========================================================================
basic                  utility accounts held
utility arrears        notices 1–2 months behind, notices still unpaid, amount still owed,
                       utilities with a notice (water, power, gas)
serious arrears        notices 3 or more months behind (欠费3个月以上)
judicial               dishonesty-list entries (失信被执行人)
=====================  ==========================================================================

The scorecard (the enterprises' machinery) learns from the label the lake holds — serious arrears
or a listing — over the behaviour indicators only; serious arrears then cost rule points and a
listing means grade D.

Residents have their own points scale (`RESIDENT_SCALE`), calibrated on that same lake label: the
logistic regression gives each resident's odds of the label, and the points are set so that the
grade cut-offs the firms use (A ≥ 80, B ≥ 65, C ≥ 50) mean a modelled chance of serious arrears
or a listing of at most 10 %, 25 % and 50 %: 50 points at even odds, ``30 / ln 9`` points per unit
of log-odds (PDO ≈ 9.5; ln 9 = 2 ln 3, so 65 falls exactly at 25 %). The firms' scale (70 points at
the population's odds, PDO 20) put most residents at the 100 cap and the chronic 1–2-month late
payers in D by points alone — 17 % of small seed 1's residents D where the lake's label says 11 %.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from citybrain.core.engine import Engine
from citybrain.core.logging import get_logger
from citybrain.topics.builtin.credit import scorecard

log = get_logger("citybrain.topics.credit")

GOLDEN = "golden_person_id"
SERIOUS_MONTHS = 3
UNPAID = "未缴清"

#: 50 points at even odds of the lake's label; A/B/C cut-offs at a 10 / 25 / 50 % chance of it
RESIDENT_SCALE = scorecard.Scale(points=50.0, factor=30.0 / math.log(9.0), ref_log_odds=0.0)

PERSON_FEATURES = ("accounts", "late_notices", "unpaid_notices", "log_owed", "utilities")
PERSON_COUNTS = ("notices", "serious", "dishonest")

Reader = Callable[[str], ir.Table]


def person_label(frame: pd.DataFrame) -> NDArray[np.int64]:
    """1 where the lake holds serious arrears or a court listing of the person."""
    bad = (frame["serious"] > 0) | (frame["dishonest"] > 0)
    out: NDArray[np.int64] = np.asarray(bad, dtype=np.int64)
    return out


def person_rules(frame: pd.DataFrame) -> dict[str, NDArray[np.float64]]:
    """Rule points per person: −10 per serious-arrears notice, at most 3."""
    serious = frame["serious"].to_numpy(dtype=np.float64)
    return {"serious_arrears": -10.0 * np.minimum(serious, 3)}


def _links(links: ir.Table, table: str) -> ir.Table:
    mine = links.filter(links.source_table == table)
    return mine.select(_key=mine.source_key.cast("string").strip(), golden=mine[GOLDEN])


def person_feature_table(
    engine: Engine, read: Reader, withdrawn_dishonest: list[str] | None = None
) -> pa.Table:
    """Every golden person holding a utility account or listed by the court (sorted by id)."""
    links = read("base.person_link")
    accounts = _links(links, "utility_reading")
    held = accounts.group_by("golden").aggregate(accounts=accounts._key.nunique())
    arrears = read("std.utility_arrears")
    arrears = arrears.mutate(_key=arrears.account_id.cast("string").strip())
    arrears = arrears.inner_join(accounts.distinct(on="_key"), "_key")
    arrears = arrears.distinct(on="notice_id")
    months = arrears.months_overdue.cast("int64")
    unpaid = arrears.paid == UNPAID
    per = arrears.group_by("golden").aggregate(
        notices=arrears.count(),
        late_notices=arrears.count(where=months < SERIOUS_MONTHS),
        serious=arrears.count(where=months >= SERIOUS_MONTHS),
        unpaid_notices=arrears.count(where=unpaid),
        owed=arrears.amount.cast("float64").sum(where=unpaid),
        utilities=arrears.utility.nunique(),
    )
    court = read("std.dishonest_judgment")
    if withdrawn_dishonest:
        court = court.filter(~court.case_code.isin(withdrawn_dishonest))
    court = court.mutate(_key=court.case_code.cast("string").strip())
    listed = court.inner_join(_links(links, "dishonest_judgment"), "_key")
    listed = listed.group_by("golden").aggregate(dishonest=listed.case_code.nunique())
    ids = ibis.union(held.select("golden"), listed.select("golden"), distinct=True)
    joined = ids
    for part in (held, per, listed):
        joined = joined.left_join(part, "golden").drop("golden_right")
    out = joined.select(
        **{GOLDEN: joined.golden.cast("string")},
        accounts=joined.accounts.fill_null(0).cast("int64"),
        notices=joined.notices.fill_null(0).cast("int64"),
        late_notices=joined.late_notices.fill_null(0).cast("float64"),
        serious=joined.serious.fill_null(0).cast("int64"),
        unpaid_notices=joined.unpaid_notices.fill_null(0).cast("float64"),
        log_owed=(joined.owed.fill_null(0.0) + 1.0).ln(),
        utilities=joined.utilities.fill_null(0).cast("float64"),
        dishonest=joined.dishonest.fill_null(0).cast("int64"),
    )
    return engine.to_arrow(out.order_by(GOLDEN))


def _templates() -> dict[str, scorecard.Template]:
    t = scorecard.Template
    return {
        "accounts": t("名下水电气户{v}个", "{v} utility account(s) held", "无户", "no accounts"),
        "late_notices": t(
            "欠费1-2个月被催缴{v}次", "{v} arrears notice(s) 1–2 months behind", "", ""
        ),
        "unpaid_notices": t("催缴后仍未缴清{v}次", "{v} notice(s) still unpaid", "", ""),
        "log_owed": t(
            "尚欠水电气费{v}元", "{v} yuan of utility bills still owed", "", "", "capital"
        ),
        "utilities": t("{v}类公用事业费有欠费", "arrears on {v} kind(s) of utility", "", ""),
    }


PERSON_TEMPLATES = _templates()
PERSON_RULE_TEXTS: dict[str, tuple[str, str]] = {
    "serious_arrears": ("欠费3个月以上被催缴{v}次", "{v} notice(s) 3 or more months behind"),
    "dishonest_judgment": scorecard.RULES["dishonest_judgment"],
}
PERSON_RULE_OBSERVED = {"serious_arrears": "serious"}


def person_scores(frame: pd.DataFrame) -> tuple[pa.Table, bool]:
    """Score, grade and reasons of every person in ``frame`` (from `person_feature_table`), and
    whether the scorecard was fitted (False: too few labels, rules only)."""
    fitted = True
    try:
        model = scorecard.fit(frame, PERSON_FEATURES, person_label, "residents")
        base, per_feature = scorecard.feature_points(model, frame, PERSON_FEATURES, RESIDENT_SCALE)
    except scorecard.NotEnoughLabels as exc:
        log.warning("resident credit scorecard not fitted, rules only: %s", exc)
        fitted = False
        base = np.full(len(frame), scorecard.BASE)
        per_feature = np.zeros((len(frame), len(PERSON_FEATURES)))
    model_points = base + per_feature.sum(axis=1)
    rules = person_rules(frame)
    dishonest = frame["dishonest"].to_numpy() > 0
    score = scorecard.final_score(model_points, rules, dishonest)
    table = pa.table(
        {
            GOLDEN: pa.array(frame[GOLDEN], pa.string()),
            "score": pa.array(score, pa.int64()),
            "grade": pa.array(scorecard.grade_of(score, dishonest), pa.string()),
            "model_points": pa.array(model_points, pa.float64()),
            **{c: pa.array(frame[c].to_numpy(dtype=np.int64)) for c in PERSON_COUNTS},
            "reasons": scorecard.reasons(
                frame,
                per_feature,
                rules,
                features=PERSON_FEATURES,
                templates=PERSON_TEMPLATES,
                rule_texts=PERSON_RULE_TEXTS,
                rule_observed=PERSON_RULE_OBSERVED,
            ),
        }
    )
    return table, fitted
