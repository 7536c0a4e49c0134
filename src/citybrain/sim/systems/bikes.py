"""共享单车 — positions reported by three operators, each with its own schema and format:
美团 Parquet (epoch seconds, GCJ-02 coordinates), 哈啰 JSON Lines (a "lng,lat" string), 青桔 CSV
(Chinese headers, compact timestamps); and 城管's parking zones with per-operator quotas."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.bikes import (
    OPERATORS,
    ZONE_H,
    ZONE_W,
    BikePlan,
    build_bike_plan,
    positions,
    snapshot_hours,
)
from citybrain.sim.formats import write_csv, write_jsonl, write_parquet
from citybrain.sim.ids import concat, padded
from citybrain.sim.systems.base import SystemContext

SYSTEM = "bike_meituan"
SYSTEMS = ("bike_meituan", "bike_hellobike", "bike_qingju")
ZONES = "bike_parking_zones"
BULK_ROWS_PER_MONTH = 4_000_000
_KEY = {"bike_meituan": "record_id", "bike_hellobike": "msgId", "bike_qingju": "记录号"}
GCJ_OFFSET = (0.00253, -0.00243)  # the GCJ-02 shift around Chengdu, roughly


def build(ctx: SystemContext) -> None:
    w = ctx.world
    plan: BikePlan = ctx.shared("bikes", lambda: build_bike_plan(w))
    _zones(ctx, plan)
    b = plan.n_bikes
    ids = {
        "bike_meituan": concat("MT", padded(np.arange(b) + 8_600_000, 9)),
        "bike_hellobike": concat("HB", padded(np.arange(b) + 2_100_000, 10)),
        "bike_qingju": concat("QJ", padded(np.arange(b) + 550_000, 8)),
    }
    hours = snapshot_hours(w.scale.bike_snapshots_per_day)
    quota = plan.zones["quota"].to_numpy()
    writers = {
        "bike_meituan": (write_parquet, "bike_location_{}.parquet"),
        "bike_hellobike": (write_jsonl, "hb_bikes_{}.jsonl"),
        "bike_qingju": (write_csv, "青桔单车位置_{}.csv"),
    }
    if plan.n_bikes * len(hours) * 31 > BULK_ROWS_PER_MONTH:
        # at city size operators hand over their bulk exports as Parquet (same columns)
        writers = {
            s: (write_parquet, p.rsplit(".", 1)[0] + ".parquet") for s, (_, p) in writers.items()
        }
    for m in range(w.months):
        label = w.month_label(m)
        over: list[pa.Table] = []
        for i, s in enumerate(SYSTEMS):
            # every operator pass redraws the same positions from per-snapshot streams, so a
            # month is streamed a day at a time per file instead of held in memory
            days = _days(ctx, plan, m, i, s, ids[s], hours, quota, over if i == 0 else None)
            write, pattern = writers[s]
            ctx.count(s, write(ctx.dir(s) / pattern.format(label), days))  # type: ignore[operator]
        if over:
            ctx.truth.append("bike_overparking", pa.concat_tables(over))


def _days(
    ctx: SystemContext,
    plan: BikePlan,
    m: int,
    op: int,
    system: str,
    ids: pa.Array,
    hours: np.ndarray,
    quota: np.ndarray,
    over: list[pa.Table] | None,
) -> Iterator[pa.Table]:
    """One table per day of month m for one operator; records over-parking when asked."""
    w = ctx.world
    b = plan.n_bikes
    d0 = int((w.month_starts[m] - w.month_starts[0]).astype(np.int64))
    for d in range(w.days_in_month(m)):
        day = w.month_starts[0] + np.timedelta64(d0 + d, "D")
        op_rng = ctx.rng(system, str(m), str(d))
        parts = []
        for k, h in enumerate(hours):
            zone, lon, lat = positions(plan, float(h), ctx.rng(SYSTEM, str(m), str(d), str(k)))
            ts = day.astype("datetime64[s]") + np.timedelta64(int(h * 3600), "s")
            if over is not None:
                count = np.bincount(zone[zone >= 0], minlength=quota.size)
                hot = np.flatnonzero(count > quota)
                if hot.size:
                    over.append(
                        pa.table(
                            {
                                "zone_id": hot,
                                "snapshot": pa.array(np.repeat(ts, hot.size)),
                                "bikes": count[hot],
                                "quota": quota[hot],
                            }
                        )
                    )
            secs = int((ts - np.datetime64("1970-01-01T08:00:00")).astype(np.int64))
            sl = slice(op * b, (op + 1) * b)
            # row keys: snapshot number × fleet size + bike, stable without a running counter
            first = ((d0 + d) * len(hours) + k) * b
            rows = _rows(system, ids, secs, ts, lon[sl], lat[sl], op_rng)
            parts.append(
                rows.add_column(
                    0, _KEY[system], pa.array(np.arange(first, first + b, dtype=np.int64))
                )
            )
        yield pa.concat_tables(parts)


def _rows(
    system: str,
    ids: pa.Array,
    secs: int,
    ts: np.datetime64,
    lon: np.ndarray,
    lat: np.ndarray,
    rng: np.random.Generator,
) -> pa.Table:
    n = lon.size
    if system == "bike_meituan":
        return pa.table(
            {
                "bike_id": ids,
                "ts": np.full(n, secs, np.int64),
                "lng": np.round(lon + GCJ_OFFSET[0], 6),
                "lat": np.round(lat + GCJ_OFFSET[1], 6),
                "lock_status": np.ones(n, np.int8),
            }
        )
    if system == "bike_hellobike":
        loc = concat(
            pa.array(np.round(lon, 6)).cast(pa.string()),
            ",",
            pa.array(np.round(lat, 6)).cast(pa.string()),
        )
        return pa.table(
            {
                "bikeNo": ids,
                "reportTime": pa.repeat(pa.scalar(str(ts).replace("T", " ")), n),
                "location": loc,
                "battery": rng.integers(5, 101, n),
            }
        )
    return pa.table(
        {
            "车辆编号": ids,
            "上报时间": pa.repeat(
                pa.scalar(str(ts).replace("-", "").replace("T", "").replace(":", "")), n
            ),
            "经度": np.round(lon, 6),
            "纬度": np.round(lat, 6),
            "状态": pc.if_else(pa.array(rng.random(n) < 0.97), "正常", "故障"),
        }
    )


def _zones(ctx: SystemContext, plan: BikePlan) -> None:
    z = plan.zones
    lon, lat = z["lon"].to_numpy(), z["lat"].to_numpy()
    wkt = [
        f"POLYGON(({a:.6f} {b:.6f},{a + ZONE_W:.6f} {b:.6f},{a + ZONE_W:.6f} {b + ZONE_H:.6f},"
        f"{a:.6f} {b + ZONE_H:.6f},{a:.6f} {b:.6f}))"
        for a, b in zip(lon, lat, strict=True)
    ]
    t = pa.table(
        {
            "区域编号": z["code"],
            "区域名称": z["name"],
            "范围": pa.array(wkt),
            "总配额": z["quota"],
            **{f"配额_{op}": z[f"quota_{op}"] for op in OPERATORS},
        }
    )
    ctx.count(ZONES, write_csv(ctx.dir(ZONES) / "停放区域及配额.csv", t))
    ctx.truth.write("bike_zones", z)
