"""守信通 credit topic: grades every enterprise and every resident the city holds credit records of
A/B/C/D with reason codes, and keeps the history.

Each run writes every enterprise's grade to ``topic/credit_scores`` (one ``run_id`` partition per
run, so the partitions are the score history) and raises findings for grades C and D. The API's
credit report, entity 360 and the web app read the newest run of ``credit_scores``. Residents
(``persons``: utility arrears and court listings, when the lake has person links and the arrears
list) go to ``topic/credit_person_scores`` the same way; they raise no findings (personal data),
and the API shows a resident's grade only under an unmask grant.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from citybrain.core.errors import UserError
from citybrain.core.logging import get_logger
from citybrain.topics import (
    REASON_TYPE,
    Evaluation,
    InputSpec,
    MapLayer,
    OverviewTile,
    PagePanel,
    Topic,
    TopicContext,
    TopicParams,
    levels_from_scores,
)
from citybrain.topics.builtin.credit import features, persons, scorecard

log = get_logger("citybrain.topics.credit")
SCORES_TABLE = "credit_scores"
PERSON_SCORES_TABLE = "credit_person_scores"
SCORE_COUNTS = ("dishonest", "penalties", "tax_penalties", "broken", "kept", "inactive")


class CreditParams(TopicParams):
    # a finding's score is (100 − credit score) / 100: C is below 65, D below 50
    threshold: float = Field(0.36, ge=0.0, le=1.0, description="risk of grade C and below")
    high: float = Field(0.51, ge=0.0, le=1.0, description="risk of grade D")


def _withdrawn(ctx: TopicContext) -> dict[str, list[str]]:
    """Records that upheld credit disputes took back (ops database; none if it has no table)."""
    from citybrain.core.opsdb import connect
    from citybrain.topics.builtin.credit.repair import upheld_records

    ops = connect(ctx.workspace.ops_db_url)
    try:
        return upheld_records(ops)
    finally:
        ops.dispose()


def _portal_commitments(ctx: TopicContext, withdrawn: list[str]) -> pa.Table:
    """Commitments signed on the portal (ops database), as the lake's std.commitment rows."""
    from citybrain.core.opsdb import connect
    from citybrain.topics.builtin.credit.commitments import portal_commitments

    ops = connect(ctx.workspace.ops_db_url)
    try:
        signed = portal_commitments(ops)
    finally:
        ops.dispose()
    if not withdrawn:
        return signed
    return signed.filter(pc.invert(pc.is_in(signed["commitment_id"], pa.array(withdrawn))))


def score_table(ctx: TopicContext) -> pa.Table:
    """Every enterprise's score, grade, reasons and the counts its rules used; commitments signed
    on the portal and checked count beside the lake's (``commitments``)."""
    from citybrain.topics.builtin.credit.commitments import add_counts

    try:
        places = ctx.input("std.standard_address")
    except UserError:  # an optional input the lake does not hold: enterprises are not placed
        places = None
    withdrawn = _withdrawn(ctx)
    table, period = features.feature_table(ctx.engine, ctx.input, withdrawn, places)
    table = add_counts(table, _portal_commitments(ctx, withdrawn.get("commitment", [])))
    frame = table.to_pandas()
    version = ctx.model_version
    try:
        model = scorecard.fit(frame)
        base, per_feature = scorecard.feature_points(model, frame)
    except scorecard.NotEnoughLabels as exc:
        # too few adverse records to learn from (a young city): the rules and the hard rule
        # still grade, every firm starts at BASE, and the model version says so
        log.warning("credit scorecard not fitted, rules only: %s", exc)
        base = np.full(len(frame), scorecard.BASE)
        per_feature = np.zeros((len(frame), len(features.MODEL_FEATURES)))
        version += "-rules-only"
    model_points = base + per_feature.sum(axis=1)
    rules = scorecard.rule_points(frame)
    dishonest = frame["dishonest"].to_numpy() > 0
    score = scorecard.final_score(model_points, rules, dishonest)
    n = len(frame)
    out = pa.table(
        {
            "uscc": table["uscc"],
            "name": table["name"],
            "period": pa.array([period] * n, pa.string()),
            "score": pa.array(score, pa.int64()),
            "grade": pa.array(scorecard.grade_of(score, dishonest), pa.string()),
            "model_points": pa.array(model_points, pa.float64()),
            **{c: pa.array(frame[c].to_numpy(dtype=np.int64)) for c in SCORE_COUNTS},
            "street_id": table["street_id"],
            "community_id": table["community_id"],
            "grid_id": table["grid_id"],
            "lon": table["lon"],
            "lat": table["lat"],
            "reasons": scorecard.reasons(frame, per_feature, rules),
            "model_version": pa.array([version] * n, pa.string()),
        }
    )
    return out


def person_score_table(ctx: TopicContext, period: str) -> pa.Table | None:
    """Every graded resident's score, grade and reasons; None where the lake holds no person
    links or no utility arrears (a lake without them grades enterprises only)."""
    try:
        read = ctx.input
        read("base.person_link")
        read("std.utility_arrears")
    except UserError:
        return None
    withdrawn = _withdrawn(ctx).get("dishonest")
    frame = persons.person_feature_table(ctx.engine, read, withdrawn).to_pandas()
    if frame.empty:
        return None
    table, fitted = persons.person_scores(frame)
    version = ctx.model_version + ("" if fitted else "-rules-only")
    n = table.num_rows
    return table.append_column("period", pa.array([period] * n, pa.string())).append_column(
        "model_version", pa.array([version] * n, pa.string())
    )


def _finding_reasons(reasons: pa.ChunkedArray | pa.ListArray) -> pa.ListArray:
    lists = reasons.combine_chunks() if isinstance(reasons, pa.ChunkedArray) else reasons
    flat = lists.flatten()
    points = pc.cast(flat.field("points"), pa.float64())
    values = pa.StructArray.from_arrays(
        [
            flat.field("signal"),
            flat.field("observed"),
            pa.nulls(len(flat), pa.float64()),
            pc.divide(pc.negate(points), 100.0),
            flat.field("text_zh"),
            flat.field("text_en"),
        ],
        fields=list(REASON_TYPE),
    )
    offsets = pc.subtract(lists.offsets, lists.offsets[0])
    return pa.ListArray.from_arrays(offsets, values)


class Credit(Topic):
    """守信通: enterprise credit grades with reasons, for facilitation and supervision."""

    name = "credit"
    title_zh = "守信通信用评价"
    title_en = "Credit grades (守信通)"
    subject_type = "enterprise"
    version = "1"
    department_hint = "市场监督管理局"
    params_model: ClassVar[type[TopicParams]] = CreditParams
    inputs = (
        InputSpec(
            table="enterprise_registration",
            columns=(
                "uscc", "name", "entity_type", "established_date", "registered_capital",
                "industry_code", "status",
            ),
        ),
        InputSpec(table="tax_declaration", columns=("uscc", "period", "revenue")),
        InputSpec(table="social_security", columns=("uscc", "period", "insured")),
        InputSpec(table="dishonest_judgment", columns=("case_code", "identifier")),
        InputSpec(table="penalty", columns=("decision_no", "uscc", "amount", "violation")),
        InputSpec(table="commitment", columns=("commitment_id", "uscc", "check_result")),
        InputSpec(table="standard_address", columns=("address_id", "lon", "lat"), optional=True),
        InputSpec(zone="base", table="person_link",
                  columns=("source_table", "source_key", persons.GOLDEN), optional=True),
        InputSpec(table="utility_arrears",
                  columns=("notice_id", "account_id", "utility", "months_overdue", "amount",
                           "paid"), optional=True),
    )  # fmt: skip

    def run(self, ctx: TopicContext) -> pa.Table:
        scores = score_table(ctx)
        # the score history keeps one shape across runs; the location is only for the findings
        stored = scores.drop(["lon", "lat"]).append_column(
            "run_id", pa.array([ctx.run_id] * scores.num_rows, pa.string())
        )
        ctx.engine.write(stored, "topic", SCORES_TABLE, mode="append", partition_by=["run_id"])
        people = person_score_table(ctx, scores["period"][0].as_py() if scores.num_rows else "")
        if people is not None:
            people = people.append_column(
                "run_id", pa.array([ctx.run_id] * people.num_rows, pa.string())
            )
            ctx.engine.write(
                people, "topic", PERSON_SCORES_TABLE, mode="append", partition_by=["run_id"]
            )
        risk = pc.divide(pc.subtract(100.0, pc.cast(scores["score"], pa.float64())), 100.0)
        flagged = pc.greater_equal(risk, ctx.params.threshold)
        rows = scores.filter(flagged)
        values = risk.filter(flagged)
        n = rows.num_rows
        return pa.table(
            {
                "topic": pa.array([self.name] * n, pa.string()),
                "subject_type": pa.array([self.subject_type] * n, pa.string()),
                "subject_id": rows["uscc"],
                "period": rows["period"],
                "score": values,
                "level": levels_from_scores(values, self.level_thresholds(ctx.params)),
                "lon": rows["lon"],
                "lat": rows["lat"],
                "grid_id": rows["grid_id"],
                "community_id": rows["community_id"],
                "street_id": rows["street_id"],
                "model_version": rows["model_version"],
                "reasons": _finding_reasons(rows["reasons"]),
            }
        )

    def evaluate(self, findings: pa.Table, truth_dir: Path, ctx: TopicContext) -> Evaluation:
        from citybrain.topics.builtin.credit.evaluate import evaluate_credit

        scores = score_table(ctx)
        period = scores["period"][0].as_py() if scores.num_rows else ""
        people = person_score_table(ctx, period)
        return evaluate_credit(self.name, findings, truth_dir, ctx, scores, people)

    def map_layers(self) -> list[MapLayer]:
        return [
            MapLayer(
                id="credit_low_grades",
                title_zh="信用C/D级企业",
                title_en="Enterprises graded C or D",
                kind="h3",
                color="#c92a2a",
            )
        ]

    def overview_tiles(self) -> list[OverviewTile]:
        return [
            OverviewTile(
                id="credit_low_grades",
                title_zh="信用C/D级企业",
                title_en="Enterprises graded C or D",
                unit_zh="家",
                unit_en="enterprises",
            )
        ]

    def page_panels(self) -> list[PagePanel]:
        return [
            PagePanel(
                id="credit_how_to_read",
                title_zh="如何看懂信用等级",
                title_en="How to read the grades",
                text_zh=(
                    "每家企业按纳税、社保、经营变化等行为指标得出评分卡分数（WoE分箱+逻辑回归，"
                    "以数据中已有的失信、处罚、承诺未履约记录为训练标签），再按规则扣分："
                    "行政处罚、承诺未履约扣分，承诺已履约加分；列入失信被执行人名单直接评为D级。"
                    "A≥80分，B≥65分，C≥50分，其余为D。这里列出C、D级企业及其原因。"
                    "居民个人信用按水电气欠费催缴和失信被执行人记录同样评分（欠费3个月以上扣分），"
                    "分数刻度按数据中已有的严重欠费和失信记录校准：A、B、C级分别表示模型估计"
                    "出现此类记录的可能不超过10%、25%、50%。"
                    "属个人信息，不在此列出，仅在一人一档中凭脱敏授权查看。"
                ),
                text_en=(
                    "Each enterprise gets scorecard points from its behaviour — tax, social"
                    " security, changes in business (WoE bins and a logistic regression trained"
                    " on the dishonesty, penalty and broken-commitment records the data holds) —"
                    " then rule points: penalties and broken commitments cost points, kept ones"
                    " add some; the court dishonesty list means grade D. A ≥ 80, B ≥ 65, C ≥ 50,"
                    " else D. Grades C and D are listed here with their reasons. Residents are"
                    " graded the same way from utility arrears notices and the court list"
                    " (arrears of 3+ months cost points), on a points scale calibrated on the"
                    " serious arrears and listings the data holds: A, B and C mean a modelled"
                    " chance of such a record of at most 10 %, 25 % and 50 %. Their grades are"
                    " personal data, not listed here, shown on a person's 360 page under an"
                    " unmask grant only."
                ),
            ),
            PagePanel(
                id="credit_by_level",
                title_zh="C级与D级",
                title_en="Grades C and D",
                kind="breakdown",
                by="level",
            ),
        ]
