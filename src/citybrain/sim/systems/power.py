"""国网电力 — monthly readings as Parquet, English column names, one file per month."""

from __future__ import annotations

from citybrain.sim.formats import write_parquet
from citybrain.sim.systems.base import BackgroundWriter, SystemContext
from citybrain.sim.systems.utility import UtilitySpec, readings

SYSTEM = "power_grid"
COLUMNS = {
    "row_key": "record_id",
    "account": "cons_no",
    "holder": "cons_name",
    "phone": "mobile",
    "address": "elec_addr",
    "period": "ym",
    "read_date": "read_date",
    "previous": "last_read",
    "current": "this_read",
    "usage": "kwh",
}


def build(ctx: SystemContext) -> None:
    folder = ctx.dir(SYSTEM)
    spec = UtilitySpec(
        SYSTEM, "power", "30", COLUMNS, ["floor_number", "road", "estate"], date_format="%Y%m%d"
    )
    with BackgroundWriter(ctx, SYSTEM) as writer:
        for m, t in readings(ctx, spec):
            label = ctx.world.month_label(m).replace("-", "")
            path = folder / f"consumption_{label}.parquet"
            writer.submit(
                write_parquet,
                path,
                t,
                use_dictionary=[COLUMNS["period"], COLUMNS["read_date"]],
            )
