"""快递 — parcel deliveries per recipient phone, address and month from the couriers' shared
data: pipe-delimited UTF-8 CSV; recipients are often written as 王先生 / 李女士."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim import dirt
from citybrain.sim.addresses import mixed
from citybrain.sim.formats import break_row_width, write_csv
from citybrain.sim.ids import pick
from citybrain.sim.systems.base import (
    SystemContext,
    dirty_columns,
    handed_over,
    resend_rows,
    row_keys,
)

SYSTEM = "parcel_express"
_COURIERS = [
    "中通快递",
    "圆通速递",
    "申通快递",
    "韵达快递",
    "顺丰速运",
    "京东物流",
    "极兔速递",
    "邮政EMS",
]
_ROLE_RATE = {"owner_family": 1.8, "tenant": 2.5, "student": 4.0, "group_tenant": 3.0}


def build(ctx: SystemContext) -> None:
    w = ctx.world
    p = w.pop.persons
    folder = ctx.dir(SYSTEM)
    rng0 = ctx.rng(SYSTEM, "static")
    dw_all = p["dwelling_id"].to_numpy()
    has_phone = p["phone"].is_valid().to_numpy(zero_copy_only=False)
    cand = np.flatnonzero((dw_all >= 0) & has_phone)
    role = p["role"].to_numpy(zero_copy_only=False)[cand]
    rate = np.zeros(cand.size)
    for r, v in _ROLE_RATE.items():
        rate[role == r] = v
    rate *= rng0.lognormal(0, 0.5, cand.size)  # some people shop online far more
    business = w.pop.confounder[dw_all[cand]] == 1
    rate += np.where(business & (p["member"].to_numpy()[cand] == 0), 25, 0)
    addr = mixed(ctx.parts.take(dw_all[cand]), ["shorthand", "estate", "road", "full"], rng0)
    name = p["name"].combine_chunks().take(pa.array(cand))
    polite = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(name, 0, 1),
        pc.if_else(p["male"].combine_chunks().take(pa.array(cand)), "先生", "女士"),
        "",
    )
    name = pc.if_else(pa.array(rng0.random(cand.size) < 0.3), polite, name)
    in_m = p["in_month"].to_numpy()[cand]
    out_m = p["out_month"].to_numpy()[cand]
    start = 0
    for m in range(w.months):
        rng = ctx.rng(SYSTEM, str(m))
        count = rng.poisson(rate)
        keep = (in_m <= m) & (m < out_m) & (count > 0)
        n = int(keep.sum())
        label = w.month_label(m)
        mask = pa.array(keep)
        t = pa.table(
            {
                "统计ID": row_keys(f"KD{label.replace('-', '')}", start, n, 9),
                "统计月份": pa.repeat(pa.scalar(label), n),
                "快递公司": pick(_COURIERS, rng.integers(0, len(_COURIERS), n)),
                "收件人": name.filter(mask),
                "收件电话": p["phone"].combine_chunks().take(pa.array(cand[keep])),
                "收件地址": addr.filter(mask),
                "件数": count[keep],
            }
        )
        start += n
        t = dirty_columns(
            ctx,
            SYSTEM,
            label,
            t,
            "统计ID",
            rng,
            [
                ("收件电话", dirt.phone_typos, 0.01, "phone_typo"),
                ("收件地址", dirt.address_shorthand, 0.05, "shorthand"),
                ("收件地址", dirt.address_typos, 0.01, "address_typo"),
            ],
        )
        ctx.truth.link("person", SYSTEM, label, "统计ID", t["统计ID"], cand[keep])
        ctx.truth.link("dwelling", SYSTEM, label, "统计ID", t["统计ID"], dw_all[cand[keep]])
        # a batch re-sent now and then (copies at the end of the file)
        t = resend_rows(ctx, SYSTEM, label, t, "统计ID", rng, 0.003)
        write, path = handed_over(ctx, folder / f"express_{label}.csv", write_csv, delimiter="|")
        ctx.count(SYSTEM, write(path, t))
        if m == max(0, w.months - 2) and t.num_rows > 3 and path.suffix == ".csv":
            # one month's export has rows with a stray delimiter (an unquoted '|' in a field)
            b = break_row_width(path, rng, rows=3, delimiter="|")
            ctx.truth.broken_file(SYSTEM, path, b.kind, b.lines, b.detail)
