"""人社 社保 — monthly insured headcount per employer, UTF-8 CSV with BOM (Excel export); the unit
name is written as the social-security office has it and the USCC is often missing."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim import dirt
from citybrain.sim.economy import firm_month, in_arrears
from citybrain.sim.formats import inject_invalid_bytes, write_csv
from citybrain.sim.ids import concat, padded
from citybrain.sim.systems.base import SystemContext, dirty, row_keys

SYSTEM = "social_security"


def build(ctx: SystemContext) -> None:
    w = ctx.world
    e = w.ent.table
    folder = ctx.dir(SYSTEM)
    rng0 = ctx.rng(SYSTEM, "units")
    unit_no = concat("51019", padded(rng0.permutation(len(e)) + 100000, 7))
    # the unit name on file drops the city or writes brackets the registry does not
    name = pc.replace_substring(e["name"], "成都", "")
    name = pc.if_else(pa.array(rng0.random(len(e)) < 0.7), e["name"], name)
    start = 0
    drift_month = max(1, w.months * 2 // 3)
    for m in range(w.months):
        rng = ctx.rng(SYSTEM, str(m))
        f = firm_month(w, m, ctx.rng("economy", str(m)))
        rows = np.flatnonzero(f.alive & ~e["individual"].to_numpy())
        n = rows.size
        label = w.month_label(m)
        idx = pa.array(rows)
        t = pa.table(
            {
                "流水号": row_keys(f"SS{label.replace('-', '')}", start, n, 8),
                "单位编号": unit_no.take(idx),
                "单位名称": name.take(idx),
                "统一社会信用代码": e["uscc"].take(idx),
                "费款所属期": pa.repeat(pa.scalar(label.replace("-", "")), n),
                "参保人数": f.headcount[rows],
                "缴费基数合计": np.round(f.headcount[rows] * rng.uniform(4000, 12000, n), 0)
                * ~in_arrears(w, m)[rows],
            }
        )
        start += n
        t = dirty(
            ctx,
            SYSTEM,
            label,
            t,
            "流水号",
            "统一社会信用代码",
            dirt.nulls,
            rng,
            0.15,
            "missing_value",
            empty_string=True,
        )
        ctx.truth.link("enterprise", SYSTEM, "*", "流水号", t["流水号"], rows)
        if m >= drift_month:
            # the social-security system upgrade splits the headcount and adds retirees
            t, change = dirt.drift_schema(
                t,
                rename={"参保人数": "在职参保人数"},
                add={"退休参保人数": pa.array(rng.poisson(0.3, n))},
            )
            if m == drift_month:
                ctx.truth.schema_change(SYSTEM, label, change.renamed, change.added, change.dropped)
        path = folder / f"参保单位_{label}.csv"
        ctx.count(SYSTEM, write_csv(path, t, encoding="utf-8-sig"))
        if m == 0 and n > 2:
            b = inject_invalid_bytes(path, rng, rows=2)
            ctx.truth.broken_file(SYSTEM, path, b.kind, b.lines, b.detail)
