"""发改 重大项目 — monthly progress reports of the zone's major projects (XLSX, one sheet per year).
Some projects slip (funding, land, approvals, construction); their self-reported "behind
schedule" flag often says 否 anyway. The truth has the real delay and its cause."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from citybrain.sim.formats import Sheet, write_xlsx
from citybrain.sim.ids import concat, padded, pick
from citybrain.sim.systems.base import SystemContext

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
    actual = np.where(late, before + (planned - before) * slip[:, None], planned)
    actual = np.clip(actual + rng.normal(0, 0.01, actual.shape) * (planned > 0), 0, 1)
    report = elapsed >= -2  # reports begin two months before the planned start
    p_i, m_i = np.nonzero(report)
    k = p_i.size
    e = w.ent.table
    stage = np.minimum((actual[p_i, m_i] * 4 + (elapsed[p_i, m_i] >= 0)).astype(np.int64), 4)
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
