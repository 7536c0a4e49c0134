"""发改 重大项目 — monthly progress reports of the zone's major projects (XLSX, one sheet per year).
Some projects slip (funding, land, approvals, construction); their self-reported "behind
schedule" flag often says 否 anyway. The truth has the real delay and its cause.

Each report also carries what a 重大项目 schedule (进度计划) carries: the planned completion
(计划竣工), the current node's planned date and the schedule's own expected date for it
(预计完成日期: the current pace carried forward; the plan until the project has slowed; empty
once the node can no longer be reached), and the planned and actual dates of the last node
reached. Nodes are the quarters of the works: 开工 ends at 25 %, 主体施工 at 50 %, 主体完工 at
75 %, 竣工验收 at completion; 前期 ends at the planned start. A slowed project stops at its
planned completion (the truth's model), so its later nodes have no expected date."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from citybrain.sim.formats import Sheet, write_xlsx
from citybrain.sim.ids import concat, padded, pick
from citybrain.sim.systems.base import SystemContext
from citybrain.sim.world import World

SYSTEM = "major_projects"
_KINDS = [
    "产业园",
    "研发中心",
    "智能制造基地",
    "总部大楼",
    "人才公寓",
    "数据中心",
    "道路改造",
    "学校",
]
_CAUSES = ["funding", "land_acquisition", "approval", "construction"]
_STAGES = ["前期", "开工", "主体施工", "主体完工", "竣工验收"]


def project_plan(ctx: SystemContext) -> pa.Table:
    w = ctx.world
    rng = ctx.rng(SYSTEM, "plan")
    n = w.scale.projects
    e = w.ent.table
    start = rng.integers(-12, max(1, w.months - 3), n)
    duration = rng.integers(12, 36, n)
    # projects are run by developers, builders, headquarters and R&D firms
    sections = np.array([c[0] for c in e["industry_code"].to_pylist()])
    builders = np.flatnonzero(np.isin(sections, ["E", "K", "L", "M"]) & ~e["individual"].to_numpy())
    builders = builders if builders.size else np.arange(len(e))
    delayed = rng.random(n) < 0.25
    delay_from = start + (duration * rng.uniform(0.1, 0.7, n)).astype(np.int64)
    slip = np.where(delayed, rng.uniform(0.35, 0.8, n), 1.0)  # progress rate once behind
    return pa.table(
        {
            "project_id": np.arange(n),
            "code": concat("ZDXM", padded(np.arange(n) + 1, 4)),
            "name": concat(
                "示例高新区",
                pick(["天府", "锦城", "交子", "新川", "中和"], rng.integers(0, 5, n)),
                pick(_KINDS, rng.integers(0, len(_KINDS), n)),
                "项目",
            ),
            "enterprise_id": builders[rng.integers(0, builders.size, n)],
            "investment": np.round(rng.lognormal(2.0, 0.8, n), 2),  # 亿元
            "start_month": start,
            "duration": duration,
            "delayed": delayed,
            "delay_from_month": np.where(delayed, delay_from, -1),
            "slip": slip,
            "cause": pa.array(np.array(_CAUSES)[rng.integers(0, 4, n)], mask=~delayed),
        }
    )


def build(ctx: SystemContext) -> None:
    w = ctx.world
    plan = project_plan(ctx)
    rng = ctx.rng(SYSTEM)
    n = len(plan)
    m = np.arange(w.months)
    start, dur = plan["start_month"].to_numpy(), plan["duration"].to_numpy()
    dfrom, slip = plan["delay_from_month"].to_numpy(), plan["slip"].to_numpy()
    delayed = plan["delayed"].to_numpy()
    elapsed = m[None, :] - start[:, None]
    planned = np.clip(elapsed / dur[:, None], 0, 1)
    late = delayed[:, None] & (m[None, :] >= dfrom[:, None])
    before = np.clip((dfrom - start) / dur, 0, 1)[:, None]
    true_actual = np.where(late, before + (planned - before) * slip[:, None], planned)
    actual = np.clip(true_actual + rng.normal(0, 0.01, true_actual.shape) * (planned > 0), 0, 1)
    report = elapsed >= -2  # reports begin two months before the planned start
    p_i, m_i = np.nonzero(report)
    k = p_i.size
    e = w.ent.table
    # the node reached is a fact, not the estimated 形象进度: stages follow the true progress
    stage = np.minimum(
        (true_actual[p_i, m_i] * 4 + 1e-9 + (elapsed[p_i, m_i] >= 0)).astype(np.int64), 4
    )
    schedule = _schedule(plan, stage, p_i, late[p_i, m_i])
    behind = planned[p_i, m_i] - actual[p_i, m_i] > 0.05
    says = np.where(behind & (rng.random(k) < 0.4), "是", "否")
    inv = plan["investment"].to_numpy()
    t = pa.table(
        {
            "报表编号": concat("JD", padded(np.arange(k), 7)),
            "项目编号": plan["code"].combine_chunks().take(pa.array(p_i)),
            "项目名称": plan["name"].combine_chunks().take(pa.array(p_i)),
            "建设单位": e["name"]
            .combine_chunks()
            .take(plan["enterprise_id"].combine_chunks().take(pa.array(p_i))),
            "总投资(亿元)": inv[p_i],
            "计划开工": pa.array(
                [
                    w.month_label(int(s))
                    if 0 <= s < w.months
                    else str(w.month_starts[0].astype("datetime64[M]") + int(s))
                    for s in start[p_i]
                ]
            ),
            "报告期": pa.array([w.month_label(int(x)) for x in m_i]),
            "计划进度(%)": np.round(planned[p_i, m_i] * 100, 1),
            "形象进度(%)": np.round(actual[p_i, m_i] * 100, 1),
            "累计完成投资(亿元)": np.round(inv[p_i] * actual[p_i, m_i], 2),
            "当前节点": pick(_STAGES, stage),
            "是否滞后": pa.array(says),
            "计划竣工": _dates(w, (start + dur)[p_i].astype(np.float64)),
            "节点计划完成日期": _dates(w, schedule["node_planned"]),
            "节点预计完成日期": _dates(w, schedule["node_expected"]),
            "上一节点计划完成日期": _dates(w, schedule["last_planned"]),
            "上一节点实际完成日期": _dates(w, schedule["last_done"]),
        }
    )
    ctx.truth.link(
        "enterprise",
        SYSTEM,
        "进度",
        "报表编号",
        t["报表编号"],
        plan["enterprise_id"].to_numpy()[p_i],
    )
    ctx.truth.write(
        "project_delays",
        plan.append_column(
            "delay_from",
            pa.array(
                [w.month_label(int(x)) if 0 <= x < w.months else None for x in dfrom], pa.string()
            ),
        ),
    )
    years = np.array([s[:4] for s in t["报告期"].to_pylist()])
    sheets = [
        Sheet(f"{y}年", t.filter(pa.array(years == y)), title_rows=[f"{y}年重大项目推进情况月报"])
        for y in sorted(set(years.tolist()))
    ]
    ctx.count(SYSTEM, write_xlsx(ctx.dir(SYSTEM) / "重大项目进度月报.xlsx", sheets))
    _ = n


def reached_at(plan: pa.Table, p_i: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Month (fractional, the sim's month index) each project ``p_i`` truly reaches ``share``
    of its works; NaN when it never does (a slowed project stops at its planned completion)."""
    start = plan["start_month"].to_numpy()[p_i].astype(np.float64)
    dur = plan["duration"].to_numpy()[p_i].astype(np.float64)
    dfrom = plan["delay_from_month"].to_numpy()[p_i].astype(np.float64)
    slip = plan["slip"].to_numpy()[p_i]
    delayed = plan["delayed"].to_numpy()[p_i]
    before = np.clip((dfrom - start) / dur, 0, 1)
    on_plan = start + share * dur
    with np.errstate(divide="ignore", invalid="ignore"):
        slowed = dfrom + (share - before) * dur / slip
    out = np.where(delayed & (share > before), slowed, on_plan)
    out = np.where(out - start > dur + 1e-9, np.nan, out)
    result: np.ndarray = out
    return result


def _schedule(
    plan: pa.Table, stage: np.ndarray, p_i: np.ndarray, late: np.ndarray
) -> dict[str, np.ndarray]:
    """Per report: the current node's planned and expected dates, the last reached node's
    planned and actual dates (months; NaN where there is none)."""
    start = plan["start_month"].to_numpy()[p_i].astype(np.float64)
    dur = plan["duration"].to_numpy()[p_i].astype(np.float64)
    node = np.where(stage == 0, 0.0, stage / 4.0)  # share at which the current node ends
    node_planned = start + node * dur
    # the schedule forecasts the plan until the project has slowed, then its true pace
    node_expected = np.where(late, reached_at(plan, p_i, node), node_planned)
    prev = (stage - 1) / 4.0
    has_prev = stage >= 1
    last_planned = np.where(has_prev, start + np.maximum(prev, 0) * dur, np.nan)
    last_done = np.where(has_prev, reached_at(plan, p_i, np.maximum(prev, 0)), np.nan)
    return {
        "node_planned": node_planned,
        "node_expected": node_expected,
        "last_planned": last_planned,
        "last_done": last_done,
    }


def _dates(w: World, months: np.ndarray) -> pa.Array:
    """Fractional month indexes → ``YYYY-MM-DD`` text: the month's first day plus the fraction
    of that month's days (null where NaN)."""
    base = w.month_starts[0].astype("datetime64[M]")
    ok = np.isfinite(months)
    whole = np.floor(np.where(ok, months, 0.0))
    month = base + whole.astype(np.int64)
    first = month.astype("datetime64[D]")
    days_in = ((month + 1).astype("datetime64[D]") - first).astype(np.int64)
    day = first + np.round((np.where(ok, months, 0.0) - whole) * days_in).astype(np.int64)
    return pa.array(np.datetime_as_string(day, unit="D"), pa.string(), mask=~ok)
