"""The economic-operation topic (经济运行): monthly indicators by industry and by street, month on
month and year on year, with the enterprise warnings overlaid.

A finding is an indicator of an industry, a street or the district that swings down in a month:
its month-on-month step is far outside its own earlier steps (robust z), or it is well below the
same month a year before. Each finding also counts the enterprises of that industry or street
that the early-warning topic warned that month, so a fall in the figures and the firms behind it
are read together. The indicator table itself (every series, every month, with MoM and YoY) is
written beside the findings as ``topic.economic_operation_indicators`` for the topic page.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from citybrain.topics import (
    InputSpec,
    Level,
    OverviewTile,
    PagePanel,
    Signal,
    Topic,
    TopicContext,
    TopicParams,
    build_reasons,
    findings_table,
)
from citybrain.topics.builtin.economic_operation import indicators
from citybrain.topics.builtin.enterprise_warning.features import GOLDEN, month_label

INDICATORS_TABLE = "economic_operation_indicators"


class EconomicOperationParams(TopicParams):
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="score of an indicator warning")
    high: float = Field(0.8, ge=0.0, le=1.0, description="score at or above which level is high")
    z_cut: float = Field(3.0, gt=0.0, description="robust z of a month's fall that counts")
    yoy_cut: float = Field(0.15, gt=0.0, lt=1.0, description="year-on-year fall that counts")
    mom_cut: float = Field(0.05, ge=0.0, lt=1.0, description="smallest MoM fall worth raising")


def _has(ctx: TopicContext, dataset: str) -> bool:
    if ctx.inputs is not None:
        return dataset in ctx.inputs
    zone, _, table = dataset.partition(".")
    return ctx.engine.exists(zone, table)


def indicator_table(ctx: TopicContext) -> indicators.Changes:
    long = indicators.pull(ctx.engine, ctx.input, lambda d: _has(ctx, d))
    return indicators.changes(long)


def warned_counts(ctx: TopicContext, series: pa.Table, months: np.ndarray) -> np.ndarray:
    """Per series × month, the enterprises the early-warning topic warned there (its latest run)."""
    out = np.zeros((series.num_rows, months.size))
    name = "topic.enterprise_warning_findings"
    if not _has(ctx, name) or not months.size or not series.num_rows:
        return out
    f = ctx.input(name)
    latest = f.aggregate(latest_run=f.run_id.max())
    f = f.inner_join(latest, f.run_id == latest.latest_run)
    places = indicators.places(ctx.input)
    joined = f.inner_join(places, f.subject_id == places[GOLDEN])
    labels: list[pa.Array] = []
    counts: list[pa.Array] = []
    for dimension in ("industry", "street"):
        agg = ctx.engine.to_arrow(
            joined.aggregate(
                by=[joined[dimension].cast("string").name("key"), joined.period],
                warned=joined.subject_id.nunique(),
            )
        )
        prefix = pa.array([dimension] * agg.num_rows, pa.string())
        joined_labels = pc.binary_join_element_wise(prefix, agg["key"], agg["period"], "\x1f")
        labels.append(_array(joined_labels))
        counts.append(_array(pc.cast(agg["warned"], pa.float64())))
    # the label of every series × month cell, looked up in the counts at once
    head = pc.binary_join_element_wise(series["dimension"], series["key"], "\x1f")
    cells = np.char.add(
        np.char.add(np.asarray(head.to_numpy(zero_copy_only=False)).astype(str)[:, None], "\x1f"),
        month_label(months)[None, :],
    ).ravel()
    at = pc.index_in(pa.array(cells), value_set=pa.concat_arrays(labels))
    found = pc.take(pa.concat_arrays(counts), at)
    flat = np.asarray(pc.fill_null(found, 0.0).to_numpy(zero_copy_only=False), dtype=np.float64)
    return flat.reshape(out.shape)


def _array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


class EconomicOperation(Topic):
    """Monthly economic indicators and their swings (经济运行)."""

    name = "economic_operation"
    title_zh = "经济运行"
    title_en = "Economic operation"
    subject_type = "indicator"
    version = "1"
    department_hint = "经济运行局"
    params_model: ClassVar[type[TopicParams]] = EconomicOperationParams
    inputs = (
        InputSpec(zone="base", table="enterprise_link",
                  columns=("source_table", "source_key", GOLDEN)),
        InputSpec(table="enterprise_registration",
                  columns=("registration_id", "industry_code", "street_id")),
        InputSpec(table="tax_declaration",
                  columns=("declaration_id", "period", "revenue", "tax_payable")),
        InputSpec(table="social_security", columns=("record_id", "period", "insured"),
                  optional=True),
        InputSpec(table="economic_indicator", columns=("period", *indicators.DISTRICT_INDICATORS),
                  optional=True),
        InputSpec(zone="topic", table="enterprise_warning_findings",
                  columns=("subject_id", "period", "run_id"), optional=True),
    )  # fmt: skip

    def run(self, ctx: TopicContext) -> pa.Table:
        params = ctx.params
        assert isinstance(params, EconomicOperationParams)
        c = indicator_table(ctx)
        warned = warned_counts(ctx, c.series, c.months)
        self._store(ctx, c, warned)
        fall_z = np.clip(-np.nan_to_num(c.z, nan=0.0) - params.z_cut, 0.0, None)
        fall_yoy = np.clip(-np.nan_to_num(c.yoy, nan=0.0) - params.yoy_cut, 0.0, None) * 10.0
        mom_ok = np.nan_to_num(c.mom, nan=0.0) <= -params.mom_cut
        evidence = np.where(mom_ok, fall_z, 0.0) + fall_yoy
        evidence = evidence + np.where(evidence > 0, 0.1 * np.minimum(warned, 10.0), 0.0)
        score = np.where(evidence > 0, 1.0 - np.power(0.5, evidence), 0.0)
        rows, cols = np.nonzero(score >= params.threshold)
        n = rows.size
        values = pa.array(score[rows, cols], pa.float64())
        series = c.series.take(pa.array(rows, pa.int64()))
        dim = np.asarray(series.column("dimension").to_numpy(zero_copy_only=False)).astype(str)
        key = np.asarray(series.column("key").to_numpy(zero_copy_only=False)).astype(str)
        indicator = np.asarray(series.column("indicator").to_numpy(zero_copy_only=False)).astype(
            str
        )
        subject = np.char.add(np.char.add(np.char.add(dim, ":"), np.char.add(key, ":")), indicator)
        street = key.astype(object)
        street[dim != "street"] = None

        def col(x: np.ndarray) -> pa.Array:
            return pa.array(np.asarray(x, dtype=np.float64), pa.float64())

        signals = [
            Signal("mom", col(c.mom[rows, cols] * 100.0), col(c.z[rows, cols]),
                   col(np.where(mom_ok[rows, cols], fall_z[rows, cols], 0.0) + 1e-6),
                   "环比变动{observed}%（相对自身以往月度波动的稳健Z值{expected}）",
                   "{observed}% month on month (robust z {expected} against its own months)"),
            Signal("yoy", col(c.yoy[rows, cols] * 100.0), col(np.zeros(n)),
                   col(fall_yoy[rows, cols]),
                   "同比变动{observed}%", "{observed}% year on year"),
            Signal("level", col(c.values[rows, cols]), col(c.values[rows, np.maximum(cols - 1, 0)]),
                   col(np.full(n, 1e-6)),
                   "本月{observed}，上月{expected}", "{observed} this month, {expected} last month",
                   decimals=0),
            Signal("enterprise_warnings", col(warned[rows, cols]), col(np.zeros(n)),
                   col(np.where(warned[rows, cols] > 0, 0.1 * warned[rows, cols], 0.0)),
                   "本月该范围内企业运行预警{observed}家",
                   "{observed} enterprise warning(s) here this month",
                   decimals=0),
        ]  # fmt: skip
        return findings_table(
            self.name,
            self.subject_type,
            subject_id=subject,
            period=month_label(c.months[cols]),
            score=values,
            thresholds=self.level_thresholds(params),
            reasons=build_reasons(signals, min_contribution=0.0),
            model_version=ctx.model_version,
            street_id=street,
        )

    def _store(self, ctx: TopicContext, c: indicators.Changes, warned: np.ndarray) -> None:
        """Every series and month with MoM, YoY and the warnings, for the topic page."""
        s, t = c.values.shape
        row = np.repeat(np.arange(s), t)
        table = c.series.take(pa.array(row, pa.int64()))
        table = table.append_column("period", pa.array(np.tile(month_label(c.months), s)))
        for name, matrix in (("value", c.values), ("mom", c.mom), ("yoy", c.yoy),
                             ("mom_z", c.z), ("enterprise_warnings", warned)):  # fmt: skip
            flat = matrix.ravel()
            table = table.append_column(
                name,
                pa.array(flat, pa.float64(), mask=~np.isfinite(flat)),
            )
        table = table.append_column("run_id", pa.array([ctx.run_id] * table.num_rows))
        ctx.engine.write(table, "topic", INDICATORS_TABLE)

    def level_thresholds(self, params: TopicParams) -> dict[Level, float]:
        return {Level.high: params.high, Level.medium: params.threshold}

    def overview_tiles(self) -> list[OverviewTile]:
        return [
            OverviewTile(
                id="economic_operation_swings",
                title_zh="本月经济指标异动",
                title_en="Indicator swings this month",
                unit_zh="项",
                unit_en="indicators",
            )
        ]

    def page_panels(self) -> list[PagePanel]:
        return [
            PagePanel(
                id="economic_operation_how_to_read",
                title_zh="经济运行监测说明",
                title_en="How indicators are watched",
                text_zh=(
                    "按行业（国民经济行业门类）、街道和全区，逐月汇总企业申报营业收入、税额、"
                    "参保人数和申报企业数，并纳入全区经济指标月报，计算环比、同比。"
                    "某月环比下降远超该指标以往的月度波动，或同比明显下降时列为异动，"
                    "同时标出该行业或街道当月的企业运行预警家数。"
                ),
                text_en=(
                    "Declared revenue, tax, insured headcount and the number of declaring firms are"
                    " summed each month by industry section, by street and for the district, beside"
                    " the district's reported indicators, with month-on-month and year-on-year"
                    " change. A month that falls far beyond the indicator's usual monthly swing, or"
                    " clearly below a year before, is a swing, shown with the enterprise warnings"
                    " of that industry or street that month."
                ),
            ),
            PagePanel(
                id="economic_operation_by_street",
                title_zh="各街道指标异动",
                title_en="Swings by street",
                kind="breakdown",
                by="street",
            ),
            PagePanel(
                id="economic_operation_by_level",
                title_zh="异动等级",
                title_en="Swings by level",
                kind="breakdown",
                by="level",
            ),
        ]
