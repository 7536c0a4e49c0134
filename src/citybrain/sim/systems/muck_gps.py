"""渣土车 GPS — pings from the trucks' terminals via the transport-monitoring platform, Parquet per
month: epoch-millisecond times, WGS-84 coordinates, speed, heading, loaded flag.

Trucks shuttle between their construction site and disposal site during 22:00–06:00; on a
violation day a truck runs in daytime, or drives at road speed from its site to a place that is
no disposal site, stands there loaded for half an hour and drives back empty (``TruckDays``; the
trip's pings every ``DUMP_STEP_MIN`` minutes are added to the usual ones), or leaves its approved
route (from 02:00, ``DETOUR_PINGS`` pings ``DETOUR_STEP_MIN`` minutes apart — added to its usual
ones, so a coarse city's detour is seen — and any usual ping of that window lie ``DETOUR_M``
beside the route); unpermitted trucks simply run. Positions follow the time of each ping, so no
truck is ever faster between two pings than it drives. Generated a month at a time, fully
vectorised."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np
import pyarrow as pa

from citybrain.sim.formats import write_parquet
from citybrain.sim.muck import (
    DETOUR_PINGS,
    DETOUR_START_H,
    DETOUR_STEP_MIN,
    DUMP_KMH,
    DUMP_START_H,
    DUMP_STAY_MIN,
    DUMP_STEP_MIN,
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
        start_h = np.where(kind == 1, 9.0, 22.0)  # violators run in daytime
        hours = start_h[rows] + step / k * 8.0 + rng.uniform(0, 8.0 / k, rows.size)
        t = truck[rows]
        noise_lon, noise_lat = rng.normal(0, 0.0003, (2, rows.size))
        stay_lon, stay_lat = rng.normal(0, 0.00005, (2, rows.size))
        drive = rng.uniform(15, 55, rows.size)
        field_lon = v_lon_sorted[v_at] if v_key.size else np.zeros(day.size)
        field_lat = v_lat_sorted[v_at] if v_key.size else np.zeros(day.size)
        trip = TruckDays(start_h, a_lon[truck], a_lat[truck], b_lon[truck], b_lat[truck],
                         np.where(kind == 2, field_lon, np.nan), field_lat)  # fmt: skip
        lon, lat, loaded, leg = trip.at(rows, hours)
        stay = leg == STAY
        lon = np.where(stay, lon + stay_lon, lon + noise_lon)
        lat = np.where(stay, lat + stay_lat, lat + noise_lat)
        # on its dumping trip a truck drives at about DUMP_KMH (the usual draw, narrowed)
        drive = np.where(leg == ROUTE, drive, DUMP_KMH - 5.0 + (drive - 15.0) / 4.0)
        speed = np.where(stay, 0.0, np.round(drive, 1))
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
        dumps = np.flatnonzero(kind == 2)
        if dumps.size:  # the dumping trip's own pings, drawn after the usual ones
            y_rows, y_hours = trip.trip_pings(dumps)
            y_lon, y_lat, y_loaded, y_leg = trip.at(y_rows, y_hours)
            y_stay = y_leg == STAY
            jitter = np.where(y_stay, 0.00005, 0.0003) * rng.normal(0, 1, (2, y_rows.size))
            y_speed = np.where(y_stay, 0.0, np.round(rng.uniform(25, 35, y_rows.size), 1))
            rows, hours = np.concatenate([rows, y_rows]), np.concatenate([hours, y_hours])
            t = np.concatenate([t, truck[y_rows]])
            lon = np.concatenate([lon, y_lon + jitter[0]])
            lat = np.concatenate([lat, y_lat + jitter[1]])
            loaded = np.concatenate([loaded, y_loaded])
            speed = np.concatenate([speed, y_speed])
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


ROUTE, OUT, STAY, BACK = 0, 1, 2, 3  # where a truck is on its shift: legs of a dumping trip


@dataclass(frozen=True)
class TruckDays:
    """Where a truck is at any hour of its shift (per truck-day arrays): shuttling between its
    construction site ``a`` and disposal site ``b`` (three round trips in eight hours, loaded on
    the way out), and on a dumping day (``f_lon`` not NaN) driving from ``a`` to the field at
    ``DUMP_KMH``, standing there ``DUMP_STAY_MIN`` loaded, driving back empty and taking up its
    route where it left it — so every position is reachable from the one before at road speed."""

    start_h: np.ndarray
    a_lon: np.ndarray
    a_lat: np.ndarray
    b_lon: np.ndarray
    b_lat: np.ndarray
    f_lon: np.ndarray
    f_lat: np.ndarray

    def drive_h(self) -> np.ndarray:
        """Hours to drive from the site to the field (NaN: no dumping trip that day)."""
        kx = 111_320.0 * np.cos(np.radians(self.a_lat))
        km = np.hypot((self.f_lon - self.a_lon) * kx, (self.f_lat - self.a_lat) * 110_574.0)
        out: np.ndarray = np.maximum(km / 1000.0, 0.01) / DUMP_KMH
        return out

    def trip_pings(self, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every ``DUMP_STEP_MIN`` of the dumping trips of ``days``: (truck-day, hour)."""
        trip_h = 2 * self.drive_h()[days] + DUMP_STAY_MIN / 60
        count = np.floor(trip_h * 60 / DUMP_STEP_MIN).astype(np.int64)
        rows = np.repeat(days, count)
        j = np.arange(rows.size) - np.repeat(np.cumsum(count) - count, count) + 1
        return rows, DUMP_START_H + j * DUMP_STEP_MIN / 60

    def at(
        self, rows: np.ndarray, hours: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """lon, lat, loaded and leg (ROUTE/OUT/STAY/BACK) of truck-days ``rows`` at ``hours``."""
        drive = self.drive_h()[rows]
        dumping = np.isfinite(drive)
        d, stay = np.nan_to_num(drive, nan=1.0), DUMP_STAY_MIN / 60
        u = hours - DUMP_START_H
        trip_h = 2 * d + stay
        leg = np.select(
            [~dumping | (u < 0), u < d, u < d + stay, u < trip_h], [ROUTE, OUT, STAY, BACK], ROUTE
        )
        route_h = np.where(dumping & (u >= trip_h), hours - trip_h, hours)  # resumed, later
        phase = ((route_h - self.start_h[rows]) / 8.0 * 6.0) % 2.0  # three round trips a shift
        frac = np.where(phase < 1, phase, 2 - phase)
        a_lon, a_lat = self.a_lon[rows], self.a_lat[rows]
        lon = a_lon + (self.b_lon[rows] - a_lon) * frac
        lat = a_lat + (self.b_lat[rows] - a_lat) * frac
        g = np.clip(np.select([leg == OUT, leg == BACK], [u / d, (trip_h - u) / d], 1.0), 0, 1)
        away = leg != ROUTE
        lon = np.where(away, a_lon + (np.nan_to_num(self.f_lon[rows]) - a_lon) * g, lon)
        lat = np.where(away, a_lat + (np.nan_to_num(self.f_lat[rows]) - a_lat) * g, lat)
        loaded = np.where(away, leg != BACK, phase < 1)
        return lon, lat, loaded, leg


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
