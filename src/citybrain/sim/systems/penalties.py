"""行政处罚 — administrative penalties of the zone's enforcement bodies, XLSX with a title row,
dates as 2023.05.17."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.formats import Sheet, write_xlsx
from citybrain.sim.ids import concat, padded, pick
from citybrain.sim.systems.base import SystemContext
from citybrain.sim.systems.events import firm_events

SYSTEM = "admin_penalties"
_OFFENCES = [
    ("未按规定公示年度报告", "警告", 0.0),
    ("拖欠税款", "罚款", 2.0),
    ("未按规定缴纳社会保险费", "罚款", 1.0),
    ("虚假宣传", "罚款", 5.0),
    ("食品安全不合格", "罚款", 3.0),
    ("消防设施未保持完好有效", "罚款", 1.5),
    ("未取得许可擅自经营", "没收违法所得、罚款", 4.0),
]
_AGENCY = [
    "示例高新区市场监督管理局",
    "示例高新区税务局",
    "示例高新区应急管理局",
    "示例高新区综合执法局",
]


def build(ctx: SystemContext) -> None:
    w = ctx.world
    rng = ctx.rng(SYSTEM)
    e = w.ent.table
    firms, month = firm_events(w, rng, 0.4, 0.02, (1, 6))
    n = firms.size
    kind = rng.integers(0, len(_OFFENCES), n)
    day = w.month_starts[month] + rng.integers(0, 28, n).astype("timedelta64[D]")
    amount = np.array([o[2] for o in _OFFENCES])[kind] * rng.uniform(0.5, 3, n)
    idx = pa.array(firms)
    reps = e["legal_rep_person_id"].to_numpy()[firms]
    t = pa.table(
        {
            "决定书文号": concat(
                "示高监罚〔",
                pa.array(day.astype("datetime64[Y]").astype(np.int64) + 1970).cast(pa.string()),
                "〕",
                padded(np.arange(n) + 1, 5),
                "号",
            ),
            "相对人名称": e["name"].combine_chunks().take(idx),
            "统一社会信用代码": e["uscc"].combine_chunks().take(idx),
            "法定代表人": w.pop.persons["name"].combine_chunks().take(pa.array(reps)),
            "违法行为类型": pick([o[0] for o in _OFFENCES], kind),
            "处罚种类": pick([o[1] for o in _OFFENCES], kind),
            "罚没金额(万元)": np.round(amount, 2),
            "处罚决定日期": pc.strftime(pa.array(day.astype("datetime64[s]")), format="%Y.%m.%d"),
            "处罚机关": pick(_AGENCY, rng.integers(0, len(_AGENCY), n)),
        }
    )
    key = "决定书文号"
    ctx.truth.link("enterprise", SYSTEM, "处罚", key, t[key], firms)
    ctx.truth.link("person", SYSTEM, "处罚", key, t[key], reps)
    ctx.count(
        SYSTEM,
        write_xlsx(
            ctx.dir(SYSTEM) / "行政处罚公示.xlsx",
            [Sheet("处罚信息", t, title_rows=["示例高新区行政处罚信息公示"])],
        ),
    )
