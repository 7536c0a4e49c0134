"""渣土车 GPS — pings from the trucks' terminals via the transport-monitoring platform, Parquet per
month: epoch-millisecond times, WGS-84 coordinates, speed, heading, loaded flag.

Trucks shuttle between their construction site and disposal site during 22:00–06:00; on a
violation day a truck runs in daytime, or stops loaded for half an hour at a place that is no
disposal site, or leaves its approved route (from 02:00, ``DETOUR_PINGS`` pings
``DETOUR_STEP_MIN`` minutes apart — added to its usual ones, so a coarse city's detour is seen —
and any usual ping of that window lie ``DETOUR_M`` beside the route); unpermitted trucks simply
run. Generated a month at a time, fully vectorised."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import numpy as np
import pyarrow as pa

from citybrain.sim.formats import write_parquet
from citybrain.sim.muck import (
    DETOUR_PINGS,
    DETOUR_START_H,
    DETOUR_STEP_MIN,
    MuckPlan,
    build_muck,
)
from citybrain.sim.systems.base import SystemContext, write_streamed

SYSTEM = "muck_truck_gps"


def shared_muck(ctx: SystemContext) -> MuckPlan:
    plan: MuckPlan = ctx.shared("muck", lambda: build_muck(ctx.world))
    return plan


def build(ctx: SystemContext) -> None:
    w = ctx.world
    plan = shared_muck(ctx)
    tr = plan.trucks
    n_trucks = len(tr)
    k = w.scale.truck_pings_per_day
    sites = plan.sites
    slon, slat = sites["lon"].to_numpy(), sites["lat"].to_numpy()
    a_lon, a_lat = slon[tr["site_id"].to_numpy()], slat[tr["site_id"].to_numpy()]
    b_lon, b_lat = slon[tr["disposal_id"].to_numpy()], slat[tr["disposal_id"].to_numpy()]
    v = plan.violations
    v_key = v["truck_id"].to_numpy() * 100_000 + v["day"].to_numpy()
    order_v = np.argsort(v_key, kind="stable")
    v_sorted = v_key[order_v]
    names = v["kind"].to_numpy(zero_copy_only=False)[order_v]
    kind_sorted = np.select(
        [names == "outside_hours", names == "illegal_dumping", names == "off_route"], [1, 2, 4], 3
    )
    v_lon_sorted, v_lat_sorted = v["lon"].to_numpy()[order_v], v["lat"].to_numpy()[order_v]
    d_lon_sorted, d_lat_sorted = v["d_lon"].to_numpy()[order_v], v["d_lat"].to_numpy()[order_v]
    plates = pa.DictionaryArray.from_arrays(
        pa.array(np.arange(n_trucks, dtype=np.int32)), tr["plate"].combine_chunks()
    )
    folder = ctx.dir(SYSTEM)
    epoch0 = w.month_starts[0].astype("datetime64[ms]").astype(np.int64) - 8 * 3600 * 1000
    seq = [0]
    block_days = 7  # pings are built a week at a time, so memory does not grow with the fleet

    def blocks(m: int) -> Iterator[pa.Table]:
        d_month = int((w.month_starts[m] - w.month_starts[0]).astype(np.int64))
        for b0 in range(0, w.days_in_month(m), block_days):
            rng = ctx.rng(SYSTEM, str(m), str(b0))
            d0 = d_month + b0
            nd = min(block_days, w.days_in_month(m) - b0)
            # about 80 % of trucks work on a given night; violation days are working days
            works = rng.random((nd, n_trucks)) < 0.8
            vd = v["day"].to_numpy()
            here = (vd >= d0) & (vd < d0 + nd)
            works[vd[here] - d0, v["truck_id"].to_numpy()[here]] = True
            day_i, truck = np.nonzero(works)
            yield _pings(d0 + day_i, truck, rng)

    def _pings(day: np.ndarray, truck: np.ndarray, rng: np.random.Generator) -> pa.Table:
        key = truck * 100_000 + day
        kind, v_at = _lookup(v_sorted, kind_sorted, key)
        rows = np.repeat(np.arange(day.size), k)
        step = np.tile(np.arange(k), day.size)
        start_h = np.where(kind[rows] == 1, 9.0, 22.0)  # violators run in daytime
        hours = start_h + step / k * 8.0 + rng.uniform(0, 8.0 / k, rows.size)
        phase = (step / k * 6.0) % 2.0  # three round trips a shift
        frac = np.where(phase < 1, phase, 2 - phase)
        t = truck[rows]
        lon = a_lon[t] + (b_lon[t] - a_lon[t]) * frac + rng.normal(0, 0.0003, rows.size)
        lat = a_lat[t] + (b_lat[t] - a_lat[t]) * frac + rng.normal(0, 0.0003, rows.size)
        loaded = phase < 1
        dump = (kind[rows] == 2) & (step >= k // 3) & (step < k // 3 + max(1, k // 16))
        vlon = v_lon_sorted[v_at[rows]] if v_key.size else lon
        vlat = v_lat_sorted[v_at[rows]] if v_key.size else lat
        lon = np.where(dump, vlon + rng.normal(0, 0.00005, rows.size), lon)
        lat = np.where(dump, vlat + rng.normal(0, 0.00005, rows.size), lat)
        speed = np.where(dump, 0.0, np.round(rng.uniform(15, 55, rows.size), 1))
        det = np.flatnonzero(kind == 4)
        if det.size:  # off route: the detour's own pings, drawn after the usual ones
            x_rows = np.repeat(det, DETOUR_PINGS)
            x_step = np.tile(np.arange(DETOUR_PINGS), det.size) + 0.5
            x_hours = DETOUR_START_H + x_step * DETOUR_STEP_MIN / 60
            x_phase = ((x_hours - 22.0) / 8.0 * 6.0) % 2.0
            x_frac = np.where(x_phase < 1, x_phase, 2 - x_phase)
            xt = truck[x_rows]
            x_lon = a_lon[xt] + (b_lon[xt] - a_lon[xt]) * x_frac + rng.normal(0, 0.0003, xt.size)
            x_lat = a_lat[xt] + (b_lat[xt] - a_lat[xt]) * x_frac + rng.normal(0, 0.0003, xt.size)
            rows, hours = np.concatenate([rows, x_rows]), np.concatenate([hours, x_hours])
            t = np.concatenate([t, xt])
            lon, lat = np.concatenate([lon, x_lon]), np.concatenate([lat, x_lat])
            loaded = np.concatenate([loaded, x_phase < 1])
            speed = np.concatenate([speed, np.round(rng.uniform(15, 55, xt.size), 1)])
            end_h = DETOUR_START_H + DETOUR_PINGS * DETOUR_STEP_MIN / 60
            aside = (kind[rows] == 4) & (hours >= DETOUR_START_H) & (hours < end_h)
            lon = lon + np.where(aside, d_lon_sorted[v_at[rows]], 0.0)
            lat = lat + np.where(aside, d_lat_sorted[v_at[rows]], 0.0)
        ms = epoch0 + (day[rows] * 86_400_000 + (hours * 3_600_000).astype(np.int64))
        order = np.lexsort((t, ms))
        n = rows.size
        table = pa.table(
            {
                "gps_id": np.arange(seq[0], seq[0] + n, dtype=np.int64),
                "vehicle_no": plates.take(pa.array(t[order])),
                "gps_time": ms[order],
                "lng": np.round(lon[order], 6),
                "lat": np.round(lat[order], 6),
                "speed": speed[order],
                "direction": rng.integers(0, 360, n).astype(np.int16),
                "acc": np.ones(n, np.int8),
                "load_status": loaded[order].astype(np.int8),
            }
        )
        seq[0] += n
        return table

    for m in range(w.months):
        path = folder / f"gps_{w.month_label(m)}.parquet"
        write = partial(
            write_parquet,
            use_dictionary=["vehicle_no"],
            column_encoding={"gps_id": "DELTA_BINARY_PACKED", "gps_time": "DELTA_BINARY_PACKED"},
        )
        ctx.count(SYSTEM, write_streamed(write, path, blocks(m)))
    v_day_dt = w.month_starts[0] + v["day"].to_numpy().astype("timedelta64[D]")
    ctx.truth.write(
        "truck_violations",
        pa.table(
            {
                "plate": tr["plate"].combine_chunks().take(v["truck_id"].combine_chunks()),
                "truck_id": v["truck_id"],
                "date": pa.array(v_day_dt),
                "kind": v["kind"],
                "lon": v["lon"],
                "lat": v["lat"],
            }
        ),
    )


def _lookup(
    sorted_keys: np.ndarray, kinds: np.ndarray, key: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Violation code (0 none, 1 outside hours, 2 dumping, 3 no permit) and position in the sorted
    violations of each truck-day."""
    if sorted_keys.size == 0:
        return np.zeros(key.size, np.int64), np.zeros(key.size, np.int64)
    pos = np.minimum(np.searchsorted(sorted_keys, key), sorted_keys.size - 1)
    hit = sorted_keys[pos] == key
    return np.where(hit, kinds[pos], 0), pos
