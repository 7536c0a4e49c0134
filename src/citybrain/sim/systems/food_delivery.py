"""外卖平台 — food-delivery platform data sharing: orders and distinct recipient phones per
delivery address per month, JSON Lines, the address as customers type it, platform geocodes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from citybrain.sim import dirt
from citybrain.sim.addresses import mixed
from citybrain.sim.formats import write_jsonl
from citybrain.sim.people import GROUP, OWNER, RENTED, STUDENTS
from citybrain.sim.systems.base import SystemContext, dirty_columns, handed_over, row_keys

SYSTEM = "food_delivery_platform"
# orders per occupant per month by situation: young renters and students order far more
_RATE = {OWNER: 2.5, RENTED: 4.5, GROUP: 6.0, STUDENTS: 9.0}


def orders_and_phones(
    ctx: SystemContext, m: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Orders and distinct ordering phones of every dwelling in month m."""
    pop = ctx.world.pop
    occ = pop.occupants[:, m].astype(np.int64)
    rate = np.zeros(occ.size)
    for s, r in _RATE.items():
        rate[pop.situation == s] = r
    rate *= rng.lognormal(0, 0.35, occ.size)
    business = pop.confounder == 1  # home business: customers and staff order too
    orders = rng.poisson(rate * occ + np.where(business, 15, 0))
    phones = np.minimum(
        orders,
        rng.binomial(occ, 0.8)
        + rng.poisson(0.2, occ.size)
        + np.where(business, rng.integers(2, 8, occ.size), 0),
    )
    return orders, phones


def build(ctx: SystemContext) -> None:
    w = ctx.world
    folder = ctx.dir(SYSTEM)
    rng0 = ctx.rng(SYSTEM, "addresses")
    res = np.flatnonzero(w.pop.situation != 5)
    addr = mixed(ctx.parts.take(res), ["estate", "shorthand", "estate", "no_district"], rng0)
    lon = w.geo.dwellings["lon"].to_numpy()[res] + rng0.normal(0, 0.0002, res.size)
    lat = w.geo.dwellings["lat"].to_numpy()[res] + rng0.normal(0, 0.0002, res.size)
    start = 0
    for m in range(w.months):
        rng = ctx.rng(SYSTEM, str(m))
        orders, phones = orders_and_phones(ctx, m, rng)
        keep = orders[res] > 0
        dw = res[keep]
        n = dw.size
        label = w.month_label(m)
        t = pa.table(
            {
                "stat_id": row_keys(f"WM{label.replace('-', '')}", start, n, 8),
                "stat_month": pa.repeat(pa.scalar(label), n),
                "city_name": pa.repeat(pa.scalar("成都"), n),
                "recv_address": addr.filter(pa.array(keep)),
                "lng": np.round(lon[keep], 6),
                "lat": np.round(lat[keep], 6),
                "order_cnt": orders[dw],
                "phone_cnt": phones[dw],
            }
        )
        start += n
        t = dirty_columns(
            ctx,
            SYSTEM,
            label,
            t,
            "stat_id",
            rng,
            [
                ("recv_address", dirt.chinese_numerals, 0.04, "chinese_numerals"),
                ("recv_address", dirt.full_width, 0.03, "full_width"),
                ("recv_address", dirt.address_typos, 0.01, "address_typo"),
            ],
        )
        ctx.truth.link("dwelling", SYSTEM, label, "stat_id", t["stat_id"], dw)
        write, path = handed_over(ctx, folder / f"orders_{label}.jsonl", write_jsonl)
        ctx.count(SYSTEM, write(path, t))
