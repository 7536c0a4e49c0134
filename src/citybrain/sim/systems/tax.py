"""税务 — monthly VAT/income declarations per taxpayer as Parquet, pinyin-initial columns; some
declarations arrive late and are delivered with the next month's file."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim import dirt
from citybrain.sim.economy import filing_days, firm_month
from citybrain.sim.formats import write_parquet
from citybrain.sim.systems.base import SystemContext, dirty, row_keys

SYSTEM = "tax_declarations"


def build(ctx: SystemContext) -> None:
    w = ctx.world
    e = w.ent.table
    folder = ctx.dir(SYSTEM)
    late: pa.Table | None = None
    start = 0
    for m in range(w.months):
        rng = ctx.rng(SYSTEM, str(m))
        f = firm_month(w, m, ctx.rng("economy", str(m)))
        rows = np.flatnonzero(f.alive)
        n = rows.size
        label = w.month_label(m).replace("-", "")
        decl = w.month_starts[m + 1] + filing_days(w, m, rows, rng)
        t = pa.table(
            {
                "SBXH": row_keys(f"SB{label}", start, n, 8),
                "NSRSBH": e["uscc"].take(pa.array(rows)),
                "NSRMC": e["name"].take(pa.array(rows)),
                "SSQ": pa.repeat(pa.scalar(label), n),
                "YYSR": f.revenue[rows],
                "YNSE": f.tax[rows],
                "SBRQ": pa.array(decl.astype("datetime64[D]")),
            }
        )
        start += n
        t = dirty(
            ctx,
            SYSTEM,
            label,
            t,
            "SBXH",
            "NSRSBH",
            dirt.wrong_check_digit,
            rng,
            0.002,
            "wrong_check_digit",
            kind="uscc",
        )
        ctx.truth.link("enterprise", SYSTEM, "*", "SBXH", t["SBXH"], rows)
        split = dirt.split_late(t, rng, 0.01)
        ctx.truth.dirt(
            SYSTEM,
            label,
            "SBXH",
            split.late["SBXH"],
            np.ones(split.late.num_rows, bool),
            "*",
            "late_row",
        )
        out = split.on_time if late is None else pa.concat_tables([split.on_time, late])
        late = split.late
        if m == w.months - 1:
            out = pa.concat_tables([out, late])
        ctx.count(SYSTEM, write_parquet(folder / f"sb_{label}.parquet", out))
    _ = pc
