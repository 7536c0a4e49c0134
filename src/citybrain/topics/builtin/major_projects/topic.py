"""The major-projects topic (重大项目调度): milestones against plan, delay warnings with days late
and the likely cause, and a project board.

The cause is a reading of the reports, not a certainty: a project stuck before construction
(前期 / 开工 stage at the break) points to approvals or land; one slowing in the main works
(主体施工 and after) to construction; when its builder's own declared revenue has fallen, to
funding. The self-reported "behind schedule" flag is shown beside it, never trusted alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import Field

from citybrain.core.errors import UserError
from citybrain.topics import (
    Evaluation,
    InputSpec,
    Level,
    OverviewTile,
    PagePanel,
    Signal,
    Topic,
    TopicContext,
    TopicParams,
    binary_scores,
    build_reasons,
    findings_table,
    save_evaluation,
)
from citybrain.topics.builtin.enterprise_warning.features import month_index, month_label
from citybrain.topics.builtin.major_projects.delays import (
    DAYS_PER_MONTH,
    Delays,
    Schedule,
    find_delays,
    schedule_lag,
    with_schedule,
)

CAUSES_ZH = {
    "approval_or_land": "前期审批或用地未落实",
    "construction": "施工组织滞后",
    "funding": "建设单位资金紧张",
}
CAUSES_EN = {
    "approval_or_land": "approvals or land not in place",
    "construction": "construction behind",
    "funding": "builder short of funds",
}
_EARLY_STAGES = ("前期", "开工")
# the schedule's dates (进度计划), when the reports carry them
SCHEDULE_COLUMNS = (
    "planned_completion",
    "milestone_planned",
    "milestone_expected",
    "last_milestone_planned",
    "last_milestone_done",
)


class MajorProjectsParams(TopicParams):
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="score of a delay warning")
    high: float = Field(0.8, ge=0.0, le=1.0, description="score at or above which level is high")
    min_days: float = Field(7.0, ge=0.0, description="days behind plan before a delay is raised")
    min_evidence: float = Field(16.0, ge=0.0, description="likelihood ratio of the break")
    noise: float = Field(0.01, gt=0.0, description="spread of reported progress (share)")
    high_days: float = Field(90.0, gt=0.0, description="days late that count as high")


class Board:
    """Projects × months matrices from the progress reports and their delays."""

    def __init__(self, reports: pa.Table, params: MajorProjectsParams) -> None:
        ids = pc.unique(reports.column("project_id")).sort()
        self.projects = ids
        row = pc.index_in(reports.column("project_id"), value_set=ids).to_numpy()
        m = reports.column("m").to_numpy()
        self.months = np.arange(int(m.min()), int(m.max()) + 1) if m.size else np.zeros(0, int)
        col = m - (self.months[0] if m.size else 0)
        shape = (len(ids), self.months.size)

        def matrix(name: str, scale: float = 1.0) -> np.ndarray:
            out = np.full(shape, np.nan)
            values = pc.cast(reports.column(name), pa.float64()).to_numpy(zero_copy_only=False)
            out[row, col] = values / scale
            return out

        self.planned = matrix("planned_progress", 100.0)
        self.actual = matrix("actual_progress", 100.0)
        start = np.zeros(len(ids), np.int64)
        start[row] = reports.column("s").to_numpy()
        self.start = start
        last = np.full(len(ids), -1, np.int64)
        np.maximum.at(last, row, np.arange(reports.num_rows))
        self.latest = reports.take(pa.array(last))  # each project's latest report
        self.stage = np.full(shape, "", dtype=object)
        self.stage[row, col] = reports.column("milestone").to_numpy(zero_copy_only=False)
        fit = find_delays(
            self.start,
            self.months,
            self.planned,
            self.actual,
            noise=params.noise,
            min_evidence=params.min_evidence,
            min_days=params.min_days,
        )
        self.from_schedule = np.zeros(len(ids), bool)
        if all(c in reports.column_names for c in SCHEDULE_COLUMNS):
            dates = {c: date_months(reports.column(c)) for c in SCHEDULE_COLUMNS}
            schedule = Schedule(
                row=row.astype(np.int64),
                month=m.astype(np.float64),
                completion=dates["planned_completion"],
                node_planned=dates["milestone_planned"],
                node_expected=dates["milestone_expected"],
                last_planned=dates["last_milestone_planned"],
                last_done=dates["last_milestone_done"],
            )
            sched = schedule_lag(schedule, len(ids))
            completion = np.full(len(ids), np.nan)
            ok = np.isfinite(schedule.completion)
            completion[row[ok]] = schedule.completion[ok]
            elapsed_last = (self.latest.column("m").to_numpy() - start).astype(np.float64)
            fit = with_schedule(fit, sched, completion - start, elapsed_last, params.min_days)
            self.from_schedule = np.isfinite(sched.days_late)
        self.delays: Delays = fit


def date_months(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Dates → fractional month indexes (``2023-07-16`` → 2023 * 12 + 6 + 15/31); NaN for null."""
    days = pc.cast(values, pa.date32()).to_numpy(zero_copy_only=False).astype("datetime64[D]")
    ok = ~np.isnat(days)
    month = np.where(ok, days, np.datetime64("1970-01-01")).astype("datetime64[M]")
    first = month.astype("datetime64[D]")
    length = ((month + 1).astype("datetime64[D]") - first).astype(np.float64)
    since = (np.where(ok, days, first) - first).astype(np.float64)
    index = month.astype(np.int64).astype(np.float64) + 1970 * 12 + since / length
    out: np.ndarray = np.where(ok, index, np.nan)
    return out


def load_reports(ctx: TopicContext) -> pa.Table:
    p = ctx.input("std.project_progress")
    p = p.filter(p.project_id.notnull() & p.period.notnull() & p.planned_start.notnull())
    # the schedule's dates: older workspaces and departments' exports may lack them
    dates = {c: p[c].cast("date") for c in SCHEDULE_COLUMNS if c in p.columns}
    expr = p.select(
        "project_id",
        "name",
        "builder",
        "milestone",
        "reported_delayed",
        m=month_index(p.period),
        s=month_index(p.planned_start),
        planned_progress=p.planned_progress.cast("float64"),
        actual_progress=p.actual_progress.cast("float64"),
        total_investment=p.total_investment.cast("float64"),
        invested=p.invested.cast("float64"),
        **dates,
    ).order_by(["m", "project_id"])
    return ctx.engine.to_arrow(expr)


def likely_cause(board: Board, builder_declining: np.ndarray) -> np.ndarray:
    d = board.delays
    at = np.clip(d.break_month - board.months[0], 0, max(board.months.size - 1, 0))
    rows = np.arange(len(at))
    stage = board.stage[rows, at] if board.months.size else np.full(len(at), "", object)
    early = np.isin(stage.astype(str), _EARLY_STAGES)
    cause = np.where(early, "approval_or_land", "construction").astype(object)
    cause[builder_declining] = "funding"
    cause[~d.delayed] = None
    out: np.ndarray = cause
    return out


def builder_declining(ctx: TopicContext, builders: pa.Array) -> np.ndarray:
    """Whether each builder's declared revenue in its latest three months is a third below its
    earlier months (False where it cannot be told)."""
    try:
        tax = ctx.input("std.tax_declaration")
    except UserError:
        return np.zeros(len(builders), bool)
    t = tax.filter(tax.name.isin(pc.unique(pc.drop_null(builders)).to_pylist()))
    t = t.mutate(m=month_index(t.period))
    last = t.m.max().as_scalar() if hasattr(t.m.max(), "as_scalar") else t.m.max()
    recent = t.revenue.cast("float64").mean(where=t.m > last - 3)
    before = t.revenue.cast("float64").mean(where=t.m <= last - 3)
    agg = ctx.engine.to_arrow(t.aggregate(by="name", recent=recent, before=before))
    at = pc.index_in(builders, value_set=agg.column("name"))
    r = pc.fill_null(agg.column("recent").take(at), np.nan).to_numpy(zero_copy_only=False)
    b = pc.fill_null(agg.column("before").take(at), np.nan).to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.nan_to_num(r / b, nan=1.0) < 2.0 / 3.0
    return out


class MajorProjects(Topic):
    """Major projects behind their plan (重大项目调度)."""

    name = "major_projects"
    title_zh = "重大项目调度"
    title_en = "Major projects"
    subject_type = "project"
    version = "1"
    department_hint = "发展改革局"
    params_model: ClassVar[type[TopicParams]] = MajorProjectsParams
    inputs = (
        InputSpec(table="project_progress",
                  columns=("project_id", "name", "builder", "planned_start", "period",
                           "planned_progress", "actual_progress", "milestone",
                           "reported_delayed", "total_investment", "invested",
                           *SCHEDULE_COLUMNS)),
        InputSpec(table="tax_declaration", columns=("name", "period", "revenue"), optional=True),
    )  # fmt: skip

    def board(self, ctx: TopicContext) -> Board:
        reports = load_reports(ctx)
        if reports.num_rows == 0:
            raise UserError("std.project_progress holds no usable progress report")
        params = ctx.params
        assert isinstance(params, MajorProjectsParams)
        return Board(reports, params)

    def run(self, ctx: TopicContext) -> pa.Table:
        params = ctx.params
        assert isinstance(params, MajorProjectsParams)
        board = self.board(ctx)
        d = board.delays
        latest = board.latest
        builders = latest.column("builder").combine_chunks()
        cause = likely_cause(board, builder_declining(ctx, builders))
        # score: 0.5 at min_days, rising towards 1 with days late (high at high_days)
        ratio = np.clip(d.days_late / params.high_days, 0.0, None)
        score = np.where(d.delayed, 0.5 + 0.5 * (1.0 - np.power(0.5, ratio / 0.5 * 2.0)), 0.0)
        score = np.where(d.delayed, np.maximum(score, params.threshold), 0.0)
        rows = np.flatnonzero(d.delayed)
        n = rows.size
        values = pa.array(score[rows], pa.float64())
        picked = cause[rows].astype(str) if n else np.array([], str)
        signals = [
            Signal(
                "days_late",
                pa.array(d.days_late[rows]),
                pa.array(np.zeros(n)),
                pa.array(np.full(n, 1.0)),
                "按计划进度测算落后{observed}天",
                "{observed} days behind plan",
                decimals=0,
            ),
            Signal(
                "progress_gap",
                pa.array(_pct(board.actual, rows, board)),
                pa.array(_pct(board.planned, rows, board)),
                pa.array(np.full(n, 0.9)),
                "形象进度{observed}%，计划应达{expected}%",
                "progress {observed}% against {expected}% planned",
            ),
            Signal(
                "pace",
                pa.array(d.slip[rows] * 100.0),
                pa.array(np.full(n, 100.0)),
                pa.array(np.full(n, 0.8)),
                "滞后以来推进速度仅为计划的{observed}%",
                "since falling behind it moves at {observed}% of the planned pace",
                decimals=0,
            ),
        ]
        for key in CAUSES_ZH:
            signals.append(
                Signal(
                    f"cause_{key}",
                    pa.array(d.days_late[rows]),
                    pa.array(np.zeros(n)),
                    pa.array(np.where(picked == key, 0.7, 0.0)),
                    f"可能原因：{CAUSES_ZH[key]}（已落后{{observed}}天）",
                    f"likely cause: {CAUSES_EN[key]} ({{observed}} days behind)",
                    decimals=0,
                )
            )
        reported = pc.fill_null(latest.column("reported_delayed"), False).to_numpy(
            zero_copy_only=False
        )
        signals.append(
            Signal(
                "self_reported_on_time",
                pa.array(d.days_late[rows]),
                pa.array(np.zeros(n)),
                pa.array(np.where(reported[rows].astype(bool), 0.0, 0.5)),
                "月报自报“未滞后”，但按进度测算已落后{observed}天",
                "the monthly report says it is not behind, yet it is {observed} days behind",
                decimals=0,
            )
        )
        last_label = month_label(board.months[-1:])[0] if board.months.size else ""
        return findings_table(
            self.name,
            self.subject_type,
            subject_id=board.projects.take(pa.array(rows, pa.int64())).cast(pa.string()),
            period=pa.array([last_label] * n, pa.string()),
            score=values,
            thresholds=self.level_thresholds(params),
            reasons=build_reasons(signals, min_contribution=0.0),
            model_version=ctx.model_version,
        )

    def level_thresholds(self, params: TopicParams) -> dict[Level, float]:
        assert isinstance(params, MajorProjectsParams)
        high = 0.5 + 0.5 * (1.0 - np.power(0.5, 2.0))
        return {Level.high: float(high), Level.medium: params.threshold}

    def evaluate(self, findings: pa.Table, truth_dir: Path, ctx: TopicContext) -> Evaluation:
        path = truth_dir / "project_delays.parquet"
        if not path.is_file():
            raise UserError(f"{path}: no project_delays truth in this folder")
        truth = pq.read_table(path)
        board = self.board(ctx)
        return evaluate_delays(self.name, board, findings, truth, ctx)

    def overview_tiles(self) -> list[OverviewTile]:
        return [
            OverviewTile(
                id="major_projects_delayed",
                title_zh="滞后重大项目",
                title_en="Major projects behind plan",
                unit_zh="个",
                unit_en="projects",
            )
        ]

    def page_panels(self) -> list[PagePanel]:
        return [
            PagePanel(
                id="major_projects_how_to_read",
                title_zh="项目调度说明",
                title_en="How delays are found",
                text_zh=(
                    "月报附有进度计划（计划竣工、当前节点的计划与预计完成日期、上一节点的计划与"
                    "实际完成日期）时，按这些日期测算落后天数：节点实际或预计晚于计划的天数连成"
                    "一条线，推到最新报告期；日期没有读数误差。没有这些日期的项目，"
                    "按每个项目的计划开工时间和计划进度推算工期，将每月形象进度与计划比较，"
                    "找出进度开始放缓的月份及放缓后的推进速度，测算落后天数；"
                    "按全部月报的稳健拟合判断，单月明显错误的读数不会单独触发滞后。"
                    "落后7天以上且证据充分的项目列为滞后，并给出可能原因（前期审批用地、"
                    "施工组织或建设单位资金）。月报中的“是否滞后”仅作参考。"
                ),
                text_en=(
                    "When the reports carry the schedule (planned completion, the current"
                    " node's planned and expected dates, the last node's planned and actual"
                    " dates), the days late come from those dates: how late each node was or is"
                    " expected to be, joined into a line and carried to the latest report —"
                    " dates have no reading error. Without them, each"
                    " project's duration is read back from its planned start and planned"
                    " progress; monthly progress is compared with the plan to find the month it"
                    " slowed and its pace since, and so the days it is behind — a robust fit over"
                    " every report, so one clearly wrong reading never makes a delay alone."
                    " Projects 7 or more"
                    " days behind, on clear evidence, are delays with a likely cause (approvals"
                    " or land, construction, or the builder's funds). The report's own 'behind"
                    " schedule' flag is shown for reference only."
                ),
            ),
            PagePanel(
                id="major_projects_by_level",
                title_zh="滞后项目等级",
                title_en="Delays by level",
                kind="breakdown",
                by="level",
            ),
        ]


def _pct(matrix: np.ndarray, rows: np.ndarray, board: Board) -> np.ndarray:
    seen = np.isfinite(matrix[rows])
    t = matrix.shape[1]
    last = np.where(seen, np.arange(t)[None, :], -1).max(axis=1) if t else rows * 0
    out: np.ndarray = matrix[rows, np.maximum(last, 0)] * 100.0
    return out


def true_days_late(truth: pa.Table, first_month: int, last_month: int) -> np.ndarray:
    """Days each project is truly behind at the latest report, from the planted plan and slip."""
    start = truth.column("start_month").to_numpy() + first_month
    dur = truth.column("duration").to_numpy().astype(np.float64)
    dfrom = truth.column("delay_from_month").to_numpy() + first_month
    delayed = truth.column("delayed").to_numpy(zero_copy_only=False).astype(bool)
    slip = truth.column("slip").to_numpy()
    elapsed = last_month - start
    plan = np.clip(elapsed / dur, 0, 1)
    before = np.clip((dfrom - start) / dur, 0, 1)
    late = delayed & (last_month >= dfrom)
    actual = np.where(late, before + (plan - before) * slip, plan)
    days: np.ndarray = np.where(
        late, np.clip((elapsed - actual * dur) * DAYS_PER_MONTH, 0, None), 0
    )
    return days


def evaluate_delays(
    topic: str, board: Board, findings: pa.Table, truth: pa.Table, ctx: TopicContext
) -> Evaluation:
    """F1 of the delayed projects found, and the error of their days late.

    A project truly counts as delayed at the latest report when its planted delay has begun and
    left it behind (more than zero days); a delay planted after the period is not yet a delay.
    """
    first, last = int(board.months[0]), int(board.months[-1])
    days = true_days_late(truth, first, last)
    codes = truth.column("code").combine_chunks()
    actual = days > 0
    at = pc.index_in(codes, value_set=findings.column("subject_id").combine_chunks())
    predicted = np.asarray(pc.is_valid(at).to_numpy(zero_copy_only=False), dtype=bool)
    ours = binary_scores(predicted, actual)
    on_board = pc.index_in(codes, value_set=board.projects.cast(pa.string()))
    row = np.asarray(pc.fill_null(on_board, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    found_days = np.where(row >= 0, board.delays.days_late[np.maximum(row, 0)], np.nan)
    both = predicted & actual & (row >= 0)
    error = np.abs(found_days[both] - days[both])
    result = Evaluation(
        topic=topic,
        **ours.fields(),
        threshold=ctx.params.threshold,
        extra={
            "projects": int(truth.num_rows),
            "days_late_abs_error_max": float(error.max()) if error.size else None,
            "days_late_abs_error_median": float(np.median(error)) if error.size else None,
            "days_late_within_3": float(np.mean(error <= 3.0)) if error.size else None,
            "planted_delays_after_period": int(
                (
                    truth.column("delayed").to_numpy(zero_copy_only=False).astype(bool) & ~actual
                ).sum()
            ),
        },
    )
    return save_evaluation(result, ctx)
