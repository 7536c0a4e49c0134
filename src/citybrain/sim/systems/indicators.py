"""统计 经济运行 — monthly economic indicators of the zone (XLSX, wide table with a title row).
Tax revenue, new market entities, power use and investment agree with the other systems, because
they are sums over the same truth; the rest follow trends with noise."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from citybrain.sim.economy import firm_month
from citybrain.sim.formats import Sheet, write_xlsx
from citybrain.sim.systems.base import SystemContext
from citybrain.sim.systems.projects import project_plan
from citybrain.sim.usage import monthly_usage

SYSTEM = "economic_indicators"


def build(ctx: SystemContext) -> None:
    w = ctx.world
    rng = ctx.rng(SYSTEM)
    e = w.ent.table
    est = e["established_month"].to_numpy()
    plan = project_plan(ctx)
    rows: dict[str, list[float]] = {
        k: []
        for k in (
            "税收收入(亿元)",
            "营业收入(亿元)",
            "新登记市场主体(户)",
            "参保职工人数(人)",
            "全社会用电量(万千瓦时)",
            "固定资产投资(亿元)",
            "社会消费品零售总额(亿元)",
            "规上工业增加值增速(%)",
        )
    }
    retail = np.isin(np.array([c[0] for c in e["industry_code"].to_pylist()]), ["F", "H"])
    for m in range(w.months):
        f = firm_month(w, m, ctx.rng("economy", str(m)))
        power = monthly_usage(w, m, "power")
        live = f.alive
        rows["税收收入(亿元)"].append(round(float(f.tax[live].sum()) / 1e4, 4))
        rows["营业收入(亿元)"].append(round(float(f.revenue[live].sum()) / 1e4, 3))
        rows["新登记市场主体(户)"].append(float((est == m).sum()))
        rows["参保职工人数(人)"].append(
            float(f.headcount[live & ~e["individual"].to_numpy()].sum())
        )
        rows["全社会用电量(万千瓦时)"].append(round(float(power.sum()) / 1e4, 2))
        running = (plan["start_month"].to_numpy() <= m) & (
            m < plan["start_month"].to_numpy() + plan["duration"].to_numpy()
        )
        rows["固定资产投资(亿元)"].append(
            round(
                float(
                    (
                        plan["investment"].to_numpy()[running]
                        / plan["duration"].to_numpy()[running]
                    ).sum()
                ),
                3,
            )
        )
        rows["社会消费品零售总额(亿元)"].append(
            round(float(f.revenue[live & retail].sum()) / 1e4 * rng.uniform(2.5, 2.8), 3)
        )
        rows["规上工业增加值增速(%)"].append(round(float(rng.normal(7.5, 1.5)), 1))
    t = pa.table({"指标期": [w.month_label(m) for m in range(w.months)], **rows})
    ctx.count(
        SYSTEM,
        write_xlsx(
            ctx.dir(SYSTEM) / "主要经济指标月报.xlsx",
            [Sheet("主要经济指标", t, title_rows=["示例高新区主要经济指标（月度）"])],
        ),
    )
