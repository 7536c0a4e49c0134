"""The enterprise early-warning topic (企业运行预警): swings in a firm's revenue, headcount and
premises' use against its own history and its industry, as 红 / 橙 / 黄 warnings with reasons.

A warning is a *service* matter: it goes to the enterprise service centre (企业服务中心) to
contact the firm and offer help, never to an enforcement department.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from citybrain.topics import (
    Evaluation,
    InputSpec,
    Level,
    MapLayer,
    OverviewTile,
    PagePanel,
    Signal,
    Topic,
    TopicContext,
    TopicParams,
    build_reasons,
    findings_table,
)
from citybrain.topics.builtin.enterprise_warning import features, scoring

#: level → how the clerk sees it
LEVEL_COLOUR_ZH = {Level.high: "红", Level.medium: "橙", Level.low: "黄"}
INSUFFICIENT = "insufficient history"
SERVICE_DEPARTMENT = "企业服务中心"


class EnterpriseWarningParams(TopicParams):
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="score of a 黄 (yellow) warning")
    orange: float = Field(0.7, ge=0.0, le=1.0, description="score of an 橙 (orange) warning")
    high: float = Field(0.85, ge=0.0, le=1.0, description="score of a 红 (red) warning")
    min_history: int = Field(4, ge=3, le=24, description="months of declarations before any test")
    key_enterprises: list[str] = Field(
        default_factory=list, description="USCCs always watched first (重点企业名单)"
    )
    key_share: float = Field(
        0.1, ge=0.0, le=1.0, description="share of firms by median revenue that count as key"
    )

    @model_validator(mode="after")
    def _ordered(self) -> EnterpriseWarningParams:
        if not self.threshold <= self.orange <= self.high:
            raise ValueError("levels must rise: threshold (黄) ≤ orange (橙) ≤ high (红)")
        return self


@dataclass
class Scored:
    """The panel, its assessment and the per-firm facts the findings and evaluation use."""

    panel: features.Panel
    assessment: scoring.Assessment
    key: np.ndarray  # per firm: watched first
    typical_revenue: np.ndarray  # per firm: median monthly declared revenue (元), NaN if none

    @property
    def firm_ids(self) -> pa.Array:
        return self.panel.firms.column(features.GOLDEN).combine_chunks()


def _has(ctx: TopicContext, dataset: str) -> bool:
    if ctx.inputs is not None:
        return dataset in ctx.inputs
    zone, _, table = dataset.partition(".")
    return ctx.engine.exists(zone, table)


def score_enterprises(ctx: TopicContext) -> Scored:
    params = ctx.params
    assert isinstance(params, EnterpriseWarningParams)
    panel = features.build_panel(ctx.engine, ctx.input, lambda d: _has(ctx, d))
    codes = pc.fill_null(panel.firms.column("industry_code"), "?").to_numpy(zero_copy_only=False)
    _, industry = np.unique(codes.astype(str), return_inverse=True)
    assessment = scoring.assess(panel, industry.astype(np.int64), min_history=params.min_history)
    typical = typical_revenue(panel)
    return Scored(panel, assessment, key_firms(panel, typical, params), typical)


def typical_revenue(panel: features.Panel) -> np.ndarray:
    revenue = panel.values["revenue"]
    typical = np.full(revenue.shape[0], np.nan)
    has = np.isfinite(revenue).any(axis=1)
    if has.any():
        typical[has] = np.nanmedian(revenue[has], axis=1)
    return typical


def key_firms(
    panel: features.Panel, typical: np.ndarray, params: EnterpriseWarningParams
) -> np.ndarray:
    """Key enterprises: those on the configured list, and the largest by median revenue."""
    wanted = pa.array(params.key_enterprises, pa.string())
    listed = pc.is_in(panel.firms.column("uscc"), value_set=wanted)
    key = np.asarray(pc.fill_null(listed, False).to_numpy(zero_copy_only=False), dtype=bool)
    has = np.isfinite(typical)
    if has.any() and params.key_share > 0:
        cut = np.quantile(typical[has], 1.0 - params.key_share)
        key |= has & (np.nan_to_num(typical, nan=-np.inf) >= cut)
    return key


def firm_status(scored: Scored, threshold: float) -> pa.Table:
    """Per firm at the latest month: ``warning``, ``watched`` or ``insufficient history``."""
    a = scored.assessment
    latest = a.score[:, -1] if a.score.shape[1] else np.full(a.score.shape[0], np.nan)
    status = np.where(
        np.isnan(latest), INSUFFICIENT, np.where(latest >= threshold, "warning", "watched")
    )
    months = a.history[:, -1] if a.history.shape[1] else np.zeros(a.score.shape[0], np.int64)
    return pa.table(
        {
            features.GOLDEN: scored.firm_ids,
            "status": pa.array(status.astype(str), pa.string()),
            "history_months": pa.array(months, pa.int64()),
            "key": pa.array(scored.key, pa.bool_()),
        }
    )


_TEXTS = {
    "revenue": (
        "申报营业收入较自身此前水平下降{observed}%（已扣除同行业同期变动），稳健Z值{expected}",
        "declared revenue {observed}% below its own earlier level, net of its industry's"
        " movement (robust z {expected})",
    ),
    "insured": (
        "社保参保人数较此前下降{observed}%（已扣除同行业同期变动），稳健Z值{expected}",
        "insured headcount {observed}% below its earlier level, net of its industry's"
        " movement (robust z {expected})",
    ),
    "power": (
        "经营场所用电量较此前下降{observed}%（已扣除同行业同期变动），稳健Z值{expected}",
        "power use at its premises {observed}% below its earlier level, net of its"
        " industry's movement (robust z {expected})",
    ),
    "water": (
        "经营场所用水量较此前下降{observed}%（已扣除同行业同期变动），稳健Z值{expected}",
        "water use at its premises {observed}% below its earlier level, net of its"
        " industry's movement (robust z {expected})",
    ),
}


def _signals(scored: Scored, rows: np.ndarray, cols: np.ndarray) -> list[Signal]:
    a = scored.assessment

    def col(values: np.ndarray) -> pa.Array:
        return pa.array(np.asarray(values, dtype=np.float64), pa.float64())

    out: list[Signal] = []
    for name, shift in a.shifts.items():
        drop = shift.drop[rows, cols]
        percent = (1.0 - np.exp(np.nan_to_num(drop))) * 100.0
        zh, en = _TEXTS[name]
        out.append(
            Signal(
                f"{name}_drop",
                col(percent),
                col(shift.z[rows, cols]),
                col(a.contributions[name][rows, cols]),
                zh,
                en,
            )
        )
    out.append(
        Signal(
            "court_listings",
            col(a.events["court"][rows, cols]),
            col(np.zeros(rows.size)),
            col(a.contributions["court"][rows, cols]),
            "近6个月被法院列为失信被执行人{observed}次",
            "{observed} court enforcement listing(s) (失信被执行人) in 6 months",
            decimals=0,
        )
    )
    out.append(
        Signal(
            "penalties",
            col(a.events["penalties"][rows, cols]),
            col(np.zeros(rows.size)),
            col(a.contributions["penalties"][rows, cols]),
            "近6个月受到行政处罚{observed}起",
            "{observed} administrative penalt(ies) in 6 months",
            decimals=0,
        )
    )
    out.append(
        Signal(
            "late_filings",
            col(a.events["late"][rows, cols]),
            col(np.full(rows.size, scoring.PRECURSOR_WINDOW)),
            col(a.contributions["late"][rows, cols]),
            "近{expected}个月中有{observed}个月逾期申报纳税（次月15日后）",
            "tax filed late (after the 15th of the next month) in {observed} of the last"
            " {expected} months",
            decimals=0,
        )
    )
    out.append(
        Signal(
            "ss_arrears",
            col(a.events["arrears"][rows, cols]),
            col(np.full(rows.size, scoring.PRECURSOR_WINDOW)),
            col(a.contributions["arrears"][rows, cols]),
            "近{expected}个月中有{observed}个月社保欠缴（有参保职工但未申报缴费基数）",
            "social-security contributions in arrears in {observed} of the last {expected}"
            " months (staff insured, no contribution base declared)",
            decimals=0,
        )
    )
    out.append(
        Signal(
            "key_enterprise",
            col(scored.typical_revenue[rows] / 10_000.0),
            col(np.zeros(rows.size)),
            col(np.where(scored.key[rows], 1e-6, 0.0)),
            "重点企业（按规模或名单），月均申报营业收入约{observed}万元，优先关注",
            "key enterprise (by size or listed), about {observed} 万元 revenue a month;"
            " watched first",
            decimals=0,
        )
    )
    return out


class EnterpriseWarning(Topic):
    """Enterprises whose operation swings down sharply (企业运行预警)."""

    name = "enterprise_warning"
    title_zh = "企业运行预警"
    title_en = "Enterprise early warning"
    subject_type = "enterprise"
    version = "1"
    # A service case: the enterprise service centre contacts the firm (not an enforcement case).
    department_hint = SERVICE_DEPARTMENT
    params_model: ClassVar[type[TopicParams]] = EnterpriseWarningParams
    inputs = (
        *features.PANEL_INPUTS,
        InputSpec(table="utility_reading", columns=("utility", "period", "usage"),
                  optional=True),
        InputSpec(table="dishonest_judgment", columns=("case_code", "registered_date"),
                  optional=True),
        InputSpec(table="penalty", columns=("decision_no", "decided_date"), optional=True),
        InputSpec(table="standard_address", columns=("address_id", "lon", "lat"),
                  optional=True),
    )  # fmt: skip

    def level_thresholds(self, params: TopicParams) -> dict[Level, float]:
        assert isinstance(params, EnterpriseWarningParams)
        return {Level.high: params.high, Level.medium: params.orange}

    def run(self, ctx: TopicContext) -> pa.Table:
        return self.findings(ctx, score_enterprises(ctx))

    def findings(self, ctx: TopicContext, scored: Scored) -> pa.Table:
        score = scored.assessment.score
        rows, cols = np.nonzero(np.nan_to_num(score, nan=-1.0) >= ctx.params.threshold)
        # key enterprises first, then the strongest warnings
        order = np.lexsort((-score[rows, cols], ~scored.key[rows]))
        rows, cols = rows[order], cols[order]
        firms = scored.panel.firms.take(pa.array(rows, pa.int64()))
        values = pa.array(score[rows, cols], pa.float64())
        lon, lat = firm_coordinates(ctx, firms)
        return findings_table(
            self.name,
            self.subject_type,
            subject_id=firms.column(features.GOLDEN).cast(pa.string()),
            period=features.month_label(scored.panel.months[cols]),
            score=values,
            thresholds=self.level_thresholds(ctx.params),
            reasons=build_reasons(_signals(scored, rows, cols), min_contribution=0.0),
            model_version=ctx.model_version,
            lon=lon,
            lat=lat,
            grid_id=firms.column("grid_id").cast(pa.string()),
            community_id=firms.column("community_id").cast(pa.string()),
            street_id=firms.column("street_id").cast(pa.string()),
        )

    def evaluate(self, findings: pa.Table, truth_dir: Path, ctx: TopicContext) -> Evaluation:
        from citybrain.topics.builtin.enterprise_warning.evaluate import evaluate_warnings

        return evaluate_warnings(self.name, findings, truth_dir, ctx, score_enterprises(ctx))

    def map_layers(self) -> list[MapLayer]:
        return [
            MapLayer(
                id="enterprise_warning_firms",
                title_zh="企业运行预警",
                title_en="Enterprise warnings",
                color="#e8590c",
            )
        ]

    def overview_tiles(self) -> list[OverviewTile]:
        return [
            OverviewTile(
                id="enterprise_warning_month",
                title_zh="本月预警企业",
                title_en="Enterprises warned this month",
                unit_zh="家",
                unit_en="firms",
            )
        ]

    def page_panels(self) -> list[PagePanel]:
        return [
            PagePanel(
                id="enterprise_warning_how_to_read",
                title_zh="如何看懂企业预警",
                title_en="How to read the warnings",
                text_zh=(
                    "每家企业按月与自身历史比较：申报营业收入、社保参保人数、经营场所用电用水，"
                    "先扣除同行业同月的共同变动（季节性餐饮随行业淡旺季变化不算异常），"
                    "再检验是否出现持续下降（变点与稳健Z值），并结合失信被执行和行政处罚记录。"
                    "营收下滑之前的先兆——社保欠缴、逾期申报纳税——单独计入，可提前数月预警。"
                    "红、橙、黄三级依次表示证据由强到弱；成立不足4个月的企业显示“历史不足”，"
                    "不会预警。预警转企业服务中心上门了解情况、提供帮扶，不是执法案件。"
                ),
                text_en=(
                    "Each firm is compared month by month with its own history: declared revenue,"
                    " insured headcount and its premises' power and water, after the common"
                    " movement of its industry that month is taken out (a seasonal caterer moving"
                    " with its trade is not a swing), then tested for a lasting fall (change point"
                    " and robust z), with court listings and penalties. Precursors that come"
                    " months before revenue falls — social-security arrears, late tax filings —"
                    " count on their own. Red, orange and yellow"
                    " mean strong to weaker evidence; a firm founded under four months ago"
                    " shows 'insufficient history' and is never warned. A warning"
                    " goes to the enterprise service centre to offer help, not to enforcement."
                ),
            ),
            PagePanel(
                id="enterprise_warning_by_level",
                title_zh="预警等级分布",
                title_en="Warnings by level",
                kind="breakdown",
                by="level",
            ),
            PagePanel(
                id="enterprise_warning_by_street",
                title_zh="各街道预警企业",
                title_en="Warnings by street",
                kind="breakdown",
                by="street",
            ),
        ]


def firm_coordinates(ctx: TopicContext, firms: pa.Table) -> tuple[pa.Array, pa.Array]:
    """Longitude and latitude of each firm's registered address (null where unknown)."""
    n = firms.num_rows
    empty = pa.nulls(n, pa.float64())
    if not n or not _has(ctx, "std.standard_address"):
        return empty, empty
    address = ctx.input("std.standard_address")
    # the firms' premises, joined in the engine (no long IN list)
    premises = features.firms(ctx.input).select("address_id")
    mine = address.semi_join(premises, "address_id")
    points = ctx.engine.to_arrow(
        mine.select("address_id", lon=mine.lon.cast("float64"), lat=mine.lat.cast("float64"))
    )
    at = pc.index_in(firms.column("address_id"), value_set=points.column("address_id"))
    return points.column("lon").take(at).combine_chunks(), points.column("lat").take(
        at
    ).combine_chunks()
