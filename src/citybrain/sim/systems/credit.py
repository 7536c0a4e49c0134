"""信用承诺 — credit commitments signed by enterprises (告知承诺, 信用修复, 主动承诺), GB18030 CSV.
The check result is visible only once the check is due; the truth knows every outcome."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.formats import write_csv
from citybrain.sim.ids import pick
from citybrain.sim.systems.base import SystemContext, row_keys

SYSTEM = "credit_commitments"
_KINDS = ["告知承诺", "信用修复承诺", "主动承诺", "行业自律承诺"]
_MATTERS = [
    "办理食品经营许可",
    "申请政府补贴资金",
    "参与政府采购",
    "办理建设工程施工许可",
    "失信行为信用修复",
]


def build(ctx: SystemContext) -> None:
    w = ctx.world
    rng = ctx.rng(SYSTEM)
    e = w.ent.table
    n_e = len(e)
    est = np.maximum(e["established_month"].to_numpy(), 0)
    signer = np.flatnonzero((rng.random(n_e) < w.scale.commitment_share) & (est < w.months))
    n = signer.size
    month = np.minimum(est[signer] + rng.integers(0, max(1, w.months), n), w.months - 1)
    start = e["distress_start"].to_numpy()[signer]
    at_risk = (start >= 0) & (start <= month + 6)
    broken = rng.random(n) < np.where(at_risk, 0.7, 0.04)
    due = month + 6
    checked = due < w.months
    day = w.month_starts[month] + rng.integers(0, 28, n).astype("timedelta64[D]")
    result = np.where(~checked, "待核查", np.where(broken, "未履约", "已履约"))
    t = pa.table(
        {
            "承诺编号": row_keys("XYCN", 0, n, 8),
            "承诺主体名称": e["name"].combine_chunks().take(pa.array(signer)),
            "统一社会信用代码": e["uscc"].combine_chunks().take(pa.array(signer)),
            "承诺类型": pick(_KINDS, rng.integers(0, len(_KINDS), n)),
            "承诺事项": pick(_MATTERS, rng.integers(0, len(_MATTERS), n)),
            "承诺日期": pc.strftime(pa.array(day.astype("datetime64[s]")), format="%Y/%m/%d"),
            "核查结果": pa.array(result),
        }
    )
    ctx.truth.link("enterprise", SYSTEM, "承诺", "承诺编号", t["承诺编号"], signer)
    ctx.truth.write(
        "credit_outcomes",
        pa.table(
            {
                "commitment_no": t["承诺编号"],
                "enterprise_id": signer,
                "signed_month": pa.array([w.month_label(int(x)) for x in month], pa.string()),
                "due_month_index": due,
                "kept": ~broken,
                "result_visible": checked,
            }
        ),
    )
    ctx.count(SYSTEM, write_csv(ctx.dir(SYSTEM) / "信用承诺.csv", t, encoding="gb18030"))
