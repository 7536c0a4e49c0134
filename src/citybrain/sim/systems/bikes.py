"""共享单车 — positions reported by three operators, each with its own schema and format:
美团 Parquet (epoch seconds, GCJ-02 coordinates), 哈啰 JSON Lines (a "lng,lat" string), 青桔 CSV
(Chinese headers, compact timestamps); and 城管's parking zones with per-operator quotas."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import numpy as np
import pyarrow as pa

from citybrain.core.coords import wgs84_to_gcj02
from citybrain.sim.bikes import (
    OPERATORS,
    ZONE_H,
    ZONE_W,
    BikePlan,
    build_bike_plan,
    day_positions,
    snapshot_hours,
)
from citybrain.sim.formats import write_csv, write_jsonl, write_parquet
from citybrain.sim.ids import ascii_to_strings, concat, int_digits, padded, pick
from citybrain.sim.systems.base import SystemContext, write_streamed

SYSTEM = "bike_meituan"
SYSTEMS = ("bike_meituan", "bike_hellobike", "bike_qingju")
ZONES = "bike_parking_zones"
_KEY = {"bike_meituan": "record_id", "bike_hellobike": "msgId", "bike_qingju": "记录号"}
_BIKE = {"bike_meituan": "bike_id", "bike_hellobike": "bikeNo", "bike_qingju": "车辆编号"}
_TIME_TEXT = {"bike_hellobike": "reportTime", "bike_qingju": "上报时间"}
BEIJING = np.datetime64("1970-01-01T08:00:00")


def build(ctx: SystemContext) -> None:
    build_months(ctx, range(ctx.world.months))


def build_months(ctx: SystemContext, months: range) -> None:
    """The three operators' files of ``months`` (each month stands alone, so months can be
    built in separate processes); the zones with the first month."""
    w = ctx.world
    plan: BikePlan = ctx.shared("bikes", lambda: build_bike_plan(w))
    if 0 in months:
        _zones(ctx, plan)
    b = plan.n_bikes
    ids = {
        "bike_meituan": concat("MT", padded(np.arange(b) + 8_600_000, 9)),
        "bike_hellobike": concat("HB", padded(np.arange(b) + 2_100_000, 10)),
        "bike_qingju": concat("QJ", padded(np.arange(b) + 550_000, 8)),
    }
    hours = snapshot_hours(w.scale.bike_snapshots_per_day)
    quota = plan.zones["quota"].to_numpy()
    writers, patterns = _writers(w.scale.bulk_parquet)
    for m in months:
        label = w.month_label(m)
        # bikes of all three operators per zone and snapshot, for the over-parking truth
        parked = np.zeros((w.days_in_month(m), len(hours), quota.size), np.int64)
        for s in SYSTEMS:
            days = _days(ctx, plan, m, s, ids[s], hours, parked)
            path = ctx.dir(s) / patterns[s].format(label)
            ctx.count(s, write_streamed(writers[s], path, days))
        over = _over_parking(ctx, m, hours, parked, quota)
        if over.num_rows:
            ctx.truth.append("bike_overparking", over)


def _writers(bulk: bool) -> tuple[dict[str, Callable[..., int]], dict[str, str]]:
    """Each operator's writer and file name; at city size all hand over Parquet (same columns)."""
    patterns = {
        "bike_meituan": "bike_location_{}.parquet",
        "bike_hellobike": "hb_bikes_{}.jsonl",
        "bike_qingju": "青桔单车位置_{}.csv",
    }
    writers: dict[str, Callable[..., int]] = {
        "bike_meituan": _parquet("bike_meituan"),
        "bike_hellobike": write_jsonl,
        "bike_qingju": write_csv,
    }
    if bulk:
        patterns = {s: p.rsplit(".", 1)[0] + ".parquet" for s, p in patterns.items()}
        writers = {s: _parquet(s) for s in SYSTEMS}
    return writers, patterns


def _parquet(system: str) -> Callable[..., int]:
    # bike numbers and snapshot times repeat: dictionary; keys count up: delta; the rest plain
    return partial(
        write_parquet,
        use_dictionary=[_BIKE[system], *([_TIME_TEXT[system]] if system in _TIME_TEXT else [])],
        column_encoding={_KEY[system]: "DELTA_BINARY_PACKED"},
    )


def _days(
    ctx: SystemContext,
    plan: BikePlan,
    m: int,
    system: str,
    ids: pa.Array,
    hours: np.ndarray,
    parked: np.ndarray,
) -> Iterator[pa.Table]:
    """One table per day of month m for one operator (snapshot by snapshot, bike by bike);
    adds the operator's bikes per zone and snapshot to ``parked``."""
    w = ctx.world
    b, s = plan.n_bikes, hours.size
    op = SYSTEMS.index(system)
    d0 = int((w.month_starts[m] - w.month_starts[0]).astype(np.int64))
    bike = pa.array(np.tile(np.arange(b, dtype=np.int64), s))
    snapshot = np.repeat(np.arange(s), b)
    nz = parked.shape[2]
    for d in range(w.days_in_month(m)):
        rng = ctx.rng(system, str(m), str(d))
        zone, lon, lat = day_positions(plan, hours, rng)
        at = zone >= 0
        parked[d] += np.bincount((np.arange(s)[:, None] * nz + zone)[at], minlength=s * nz).reshape(
            s, nz
        )
        stamps = (w.month_starts[m] + np.timedelta64(d, "D")).astype("datetime64[s]") + _seconds(
            hours
        )
        # row keys: snapshot number × fleet size + bike, stable without a running counter
        first = (d0 + d) * s * b
        key = np.arange(first, first + s * b, dtype=np.int64)
        cols = _columns(op, ids.take(bike), stamps, snapshot, lon.ravel(), lat.ravel(), rng)
        yield pa.table({_KEY[system]: key, **cols})


def _columns(
    op: int,
    bike_ids: pa.Array,
    stamps: np.ndarray,
    snapshot: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, pa.Array | np.ndarray]:
    n = lon.size
    if op == 0:  # 美团: epoch seconds, GCJ-02
        secs = (stamps - BEIJING).astype(np.int64)
        g_lon, g_lat = wgs84_to_gcj02(lon, lat)  # the published shift, as the platform applies
        return {
            "bike_id": bike_ids,
            "ts": secs[snapshot],
            "lng": np.round(g_lon, 6),
            "lat": np.round(g_lat, 6),
            "lock_status": np.ones(n, np.int8),
        }
    if op == 1:  # 哈啰: "lng,lat" text
        text = [str(t).replace("T", " ") for t in stamps]  # one string per snapshot, not per row
        return {
            "bikeNo": bike_ids,
            "reportTime": pick(text, snapshot),
            "location": _lng_lat_text(lon, lat),
            "battery": rng.integers(5, 101, n),
        }
    compact = [str(t).replace("-", "").replace("T", "").replace(":", "") for t in stamps]
    return {  # 青桔: Chinese headers, compact time
        "车辆编号": bike_ids,
        "上报时间": pick(compact, snapshot),
        "经度": np.round(lon, 6),
        "纬度": np.round(lat, 6),
        "状态": pick(["正常", "故障"], (rng.random(n) >= 0.97).astype(np.int64)),
    }


def _seconds(hours: np.ndarray) -> np.ndarray:
    return (hours * 3600).astype(np.int64).astype("timedelta64[s]")


def _lng_lat_text(lon: np.ndarray, lat: np.ndarray) -> pa.StringArray:
    """``104.012345,30.567891`` built as one byte matrix (six decimals; 3 + 2 integer digits in
    this part of the world), far cheaper than formatting floats one by one."""
    lo = int_digits(np.round(lon * 1e6).astype(np.int64), 9) + ord("0")
    la = int_digits(np.round(lat * 1e6).astype(np.int64), 8) + ord("0")
    mat = np.empty((lon.size, 20), np.uint8)
    mat[:, 0:3], mat[:, 3], mat[:, 4:10] = lo[:, :3], ord("."), lo[:, 3:]
    mat[:, 10] = ord(",")
    mat[:, 11:13], mat[:, 13], mat[:, 14:20] = la[:, :2], ord("."), la[:, 2:]
    return ascii_to_strings(mat)


def _over_parking(
    ctx: SystemContext, m: int, hours: np.ndarray, parked: np.ndarray, quota: np.ndarray
) -> pa.Table:
    """Zone and snapshot where the three fleets together exceed the zone's quota."""
    day, k, zone = np.nonzero(parked > quota)
    start = ctx.world.month_starts[m].astype("datetime64[s]")
    stamps = start + (day * 86_400).astype("timedelta64[s]") + _seconds(hours[k])
    return pa.table(
        {
            "zone_id": zone,
            "snapshot": pa.array(stamps),
            "bikes": parked[day, k, zone],
            "quota": quota[zone],
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
