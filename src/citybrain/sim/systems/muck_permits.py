"""城管 渣土运输 — transport permits (GBK CSV, one row per truck and permit period) and the
construction and disposal sites (JSON Lines with coordinates); unpermitted trucks are absent.
Each permit carries its approved route (核准线路) as a WKT line from the construction site to the
disposal site, the way the trucks drive it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.formats import write_csv, write_jsonl
from citybrain.sim.ids import concat, padded
from citybrain.sim.systems.base import SystemContext
from citybrain.sim.systems.muck_gps import shared_muck

SYSTEM = "muck_transport_permits"
SITES = "construction_sites"


def build(ctx: SystemContext) -> None:
    w = ctx.world
    plan = shared_muck(ctx)
    tr = plan.trucks.filter(plan.trucks["permitted"])
    e = w.ent.table
    sites = plan.sites
    n = len(tr)
    rng = ctx.rng(SYSTEM)
    names = sites["name"].combine_chunks()
    slon, slat = sites["lon"].to_numpy(), sites["lat"].to_numpy()
    a, b = tr["site_id"].to_numpy(), tr["disposal_id"].to_numpy()
    route = [
        f"LINESTRING({x0:.6f} {y0:.6f},{x1:.6f} {y1:.6f})"
        for x0, y0, x1, y1 in zip(slon[a], slat[a], slon[b], slat[b], strict=True)
    ]  # one per permitted truck: a few hundred at most
    start = w.month_starts[0] - rng.integers(0, 60, n).astype("timedelta64[D]")
    t = pa.table(
        {
            "核准证号": concat("高渣准字", padded(np.arange(n) + 1, 6)),
            "车牌号码": tr["plate"],
            "运输企业": e["name"].combine_chunks().take(tr["enterprise_id"].combine_chunks()),
            "统一社会信用代码": e["uscc"]
            .combine_chunks()
            .take(tr["enterprise_id"].combine_chunks()),
            "出土工地": names.take(tr["site_id"].combine_chunks()),
            "消纳场所": names.take(tr["disposal_id"].combine_chunks()),
            "核准线路": pa.array(route, pa.string()),
            "准运时段": pa.repeat(pa.scalar("22:00-06:00"), n),
            "有效期起": pc.strftime(pa.array(start.astype("datetime64[s]")), format="%Y-%m-%d"),
            "有效期止": pc.strftime(
                pa.array(
                    (w.month_starts[-1] + np.timedelta64(30, "D")).astype("datetime64[s]").repeat(n)
                ),
                format="%Y-%m-%d",
            ),
        }
    )
    ctx.truth.link(
        "enterprise", SYSTEM, "核准", "核准证号", t["核准证号"], tr["enterprise_id"].to_numpy()
    )
    ctx.count(SYSTEM, write_csv(ctx.dir(SYSTEM) / "渣土运输核准.csv", t, encoding="gbk"))
    s = pa.table(
        {
            "site_code": concat("GD", padded(sites["site_id"].to_numpy(), 5)),
            "site_name": sites["name"],
            "site_type": sites["kind"],
            "longitude": np.round(sites["lon"].to_numpy(), 6),
            "latitude": np.round(sites["lat"].to_numpy(), 6),
            "builder_uscc": pc.if_else(
                pc.greater_equal(sites["enterprise_id"], 0),
                e["uscc"]
                .combine_chunks()
                .take(pa.array(np.clip(sites["enterprise_id"].to_numpy(), 0, None))),
                pa.scalar(None, pa.string()),
            ),
        }
    )
    ctx.count(SITES, write_jsonl(ctx.dir(SITES) / "sites.jsonl", s))
    ctx.truth.link(
        "enterprise", SITES, "sites", "site_code", s["site_code"], sites["enterprise_id"].to_numpy()
    )
