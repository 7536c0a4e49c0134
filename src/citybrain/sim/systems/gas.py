"""燃气公司 — monthly readings, GBK CSV with Chinese headers and 年月日 dates; quarterly exports."""

from __future__ import annotations

import pyarrow as pa

from citybrain.sim.formats import write_csv
from citybrain.sim.systems.base import BackgroundWriter, SystemContext, handed_over
from citybrain.sim.systems.utility import UtilitySpec, readings

SYSTEM = "gas_utility"
COLUMNS = {
    "row_key": "流水号",
    "account": "用户编号",
    "holder": "用户名称",
    "id_number": "证件号码",
    "address": "用气地址",
    "period": "账期",
    "read_date": "抄表日期",
    "previous": "上次读数",
    "current": "本次读数",
    "usage": "用气量(立方米)",
}


def build(ctx: SystemContext) -> None:
    folder = ctx.dir(SYSTEM)
    spec = UtilitySpec(
        SYSTEM, "gas", "RQ", COLUMNS, ["full", "estate", "road"], date_format="%Y年%m月%d日"
    )
    batch: list[pa.Table] = []
    with BackgroundWriter(ctx, SYSTEM) as writer:
        for m, t in readings(ctx, spec):
            batch.append(t)
            if (m + 1) % 3 == 0 or m == ctx.world.months - 1:
                q = f"{ctx.world.month_label(m - len(batch) + 1)}_{ctx.world.month_label(m)}"
                path = folder / f"用气量_{q}.csv"
                write, path = handed_over(ctx, path, write_csv, encoding="gbk")
                writer.submit(write, path, batch)
                batch = []
