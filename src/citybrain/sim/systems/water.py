"""自来水公司 — monthly readings, one UTF-8 CSV per month, pinyin-initial column names; from the
middle of the period the billing system upgrade renames the usage column."""

from __future__ import annotations

from citybrain.sim.formats import truncate_file, write_csv
from citybrain.sim.systems.base import BackgroundWriter, SystemContext, handed_over
from citybrain.sim.systems.utility import UtilitySpec, readings

SYSTEM = "water_utility"
COLUMNS = {
    "row_key": "LSH",
    "account": "HH",
    "holder": "HM",
    "phone": "LXDH",
    "address": "YSDZ",
    "period": "ZQ",
    "read_date": "CBRQ",
    "previous": "SYDS",
    "current": "BYDS",
    "usage": "YSL",
}


def build(ctx: SystemContext) -> None:
    folder = ctx.dir(SYSTEM)
    spec = UtilitySpec(
        SYSTEM,
        "water",
        "SW",
        COLUMNS,
        ["road", "full", "no_district"],
        date_format="%Y/%m/%d",
        drift_month=ctx.world.months // 2,
        drift={"YSL": "YSL_M3"},
    )
    with BackgroundWriter(ctx, SYSTEM) as writer:
        for m, t in readings(ctx, spec):
            write, path = handed_over(
                ctx,
                folder / f"YS_{ctx.world.month_label(m).replace('-', '')}.csv",
                write_csv,
                encoding="utf-8",
            )
            writer.submit(write, path, t)
    if ctx.world.months > 1 and path.suffix == ".csv":
        # the latest export was cut off in transfer
        b = truncate_file(path, keep_fraction=0.97)
        ctx.truth.broken_file(SYSTEM, path, b.kind, b.lines, b.detail)
