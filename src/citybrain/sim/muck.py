"""Muck trucks (渣土车): construction and disposal sites, trucks and their permits, and the truth of
violations — driving outside the permitted night hours, dumping away from any disposal site,
running without a permit, and leaving the permit's approved route (a detour of about
``DETOUR_M`` metres beside it for ``DETOUR_PINGS`` pings). GPS pings are generated a month at a
time from this plan."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from citybrain.sim.geography import LAT0, LAT1, LON0, LON1
from citybrain.sim.ids import concat, padded, pick
from citybrain.sim.rng import rng_for
from citybrain.sim.world import World

_PLATE_LETTERS = list("ABCDEFGHJKLMNPQRSTUVWXYZ")
VIOLATIONS = ("outside_hours", "illegal_dumping", "no_permit", "off_route")
DETOUR_M = 800.0  # how far beside its route a detouring truck drives (the corridor is 200 m)
DETOUR_START_H = 26.0  # 02:00 of the shift (hours from the shift day's midnight)
DETOUR_PINGS = 4  # pings of the detour, DETOUR_STEP_MIN apart
DETOUR_STEP_MIN = 5.0
# a dumping trip: from its construction site (loaded, at the start of the shift's second round
# trip) the truck drives to the field at DUMP_KMH, stands DUMP_STAY_MIN, drives back empty and
# takes up its route again; its terminal pings every DUMP_STEP_MIN on the trip (besides the
# usual pings), so even a coarse city shows the stop as a stop
DUMP_START_H = 22.0 + 8.0 / 3.0
DUMP_KMH = 30.0
DUMP_STAY_MIN = 30.0
DUMP_STEP_MIN = 10.0


@dataclass(frozen=True)
class MuckPlan:
    sites: pa.Table  # site_id, name, kind (construction/disposal), lon, lat, enterprise_id
    trucks: pa.Table  # truck_id, plate, enterprise_id, site_id, disposal_id, permitted
    # per truck: day index of violations (one row per violation day); off_route rows carry the
    # detour's offset from the route in degrees (d_lon, d_lat; 0 for the other kinds)
    violations: pa.Table  # truck_id, day, kind, lon, lat, d_lon, d_lat


def build_muck(world: World) -> MuckPlan:
    rng = rng_for(world.seed, "muck")
    sc = world.scale
    n_con = max(3, sc.trucks // 6)
    n_dis = max(2, sc.trucks // 60)
    lon = np.concatenate(
        [
            rng.uniform(LON0 + 0.005, LON1 - 0.005, n_con),
            rng.choice([LON0 + 0.003, LON1 - 0.003], n_dis),
        ]
    )
    lat = rng.uniform(LAT0 + 0.005, LAT1 - 0.005, n_con + n_dis)
    firms = world.ent.table
    builders = np.flatnonzero(
        np.isin(firms["industry_code"].to_numpy(zero_copy_only=False), ["E4710", "K7020"])
    )
    haulers = np.flatnonzero(
        np.isin(firms["industry_code"].to_numpy(zero_copy_only=False), ["G5431", "N7820"])
    )
    builders = builders if builders.size else np.arange(len(firms))
    haulers = haulers if haulers.size else np.arange(len(firms))
    kind = np.array(["construction"] * n_con + ["disposal"] * n_dis)
    sites = pa.table(
        {
            "site_id": np.arange(n_con + n_dis),
            "name": concat(
                pick(
                    ["天府", "锦城", "交子", "新川", "中和", "桂溪"],
                    rng.integers(0, 6, n_con + n_dis),
                ),
                pa.array(np.where(kind == "construction", "项目工地", "建筑垃圾消纳场")),
            ),
            "kind": pa.array(kind),
            "lon": lon,
            "lat": lat,
            "enterprise_id": np.where(
                kind == "construction", builders[rng.integers(0, builders.size, n_con + n_dis)], -1
            ),
        }
    )
    n = sc.trucks
    plate = concat(
        "川A",
        pick(_PLATE_LETTERS, rng.integers(0, len(_PLATE_LETTERS), n)),
        padded(rng.choice(100_000, n, replace=False), 5),
    )
    permitted = rng.random(n) >= 0.05
    trucks = pa.table(
        {
            "truck_id": np.arange(n),
            "plate": plate,
            "enterprise_id": haulers[rng.integers(0, haulers.size, n)],
            "site_id": rng.integers(0, n_con, n),
            "disposal_id": n_con + rng.integers(0, n_dis, n),
            "permitted": permitted,
        }
    )
    days = world.days
    # violators: a few trucks break the rules on some days; unpermitted trucks every day they run
    bad = rng.random(n) < 0.12
    per = np.where(bad, rng.poisson(max(1, days // 60), n), 0)
    t_id = np.repeat(np.arange(n), per)
    v_day = rng.integers(0, days, t_id.size)
    v_kind = rng.integers(0, 2, t_id.size)
    un = np.flatnonzero(~permitted)
    un_days = rng.integers(0, days, (un.size, max(1, days // 30)))
    t_id = np.concatenate([t_id, np.repeat(un, un_days.shape[1])])
    v_day = np.concatenate([v_day, un_days.ravel()])
    v_kind = np.concatenate([v_kind, np.full(un_days.size, 2)])
    keys = np.unique(t_id * 100_000 + v_day, return_index=True)[1]
    t_id, v_day, v_kind = t_id[keys], v_day[keys], v_kind[keys]
    # only dumping happens at a place; the other kinds are about time or papers
    v_lon = np.where(v_kind == 1, rng.uniform(LON0, LON1, t_id.size), np.nan)
    v_lat = np.where(v_kind == 1, rng.uniform(LAT0, LAT1, t_id.size), np.nan)
    o_id, o_day, o_lon, o_lat, d_lon, d_lat = _detours(world, trucks, sites, t_id, v_day)
    zero = np.zeros(t_id.size)
    violations = pa.table(
        {
            "truck_id": np.concatenate([t_id, o_id]),
            "day": np.concatenate([v_day, o_day]),
            "kind": pick(list(VIOLATIONS), np.concatenate([v_kind, np.full(o_id.size, 3)])),
            "lon": np.concatenate([v_lon, o_lon]),
            "lat": np.concatenate([v_lat, o_lat]),
            "d_lon": np.concatenate([zero, d_lon]),
            "d_lat": np.concatenate([zero, d_lat]),
        }
    )
    return MuckPlan(sites, trucks, violations)


def _detours(
    world: World, trucks: pa.Table, sites: pa.Table, taken_truck: np.ndarray, taken_day: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Off-route days of permitted trucks (their own random stream, so the other violations stay
    as they were; never on a day the truck already breaks a rule): truck, day, the detour's
    middle (lon, lat) and its offset from the route in degrees — ``DETOUR_M`` across the route,
    to the side nearer the zone's centre, so the detour stays inside the zone."""
    rng = rng_for(world.seed, "muck", "off_route")
    n, days = len(trucks), world.days
    permitted = trucks["permitted"].to_numpy(zero_copy_only=False)
    per = np.where(permitted & (rng.random(n) < 0.1), rng.poisson(max(1, days // 60), n), 0)
    t_id = np.repeat(np.arange(n), per)
    day = rng.integers(0, days, t_id.size)
    key = t_id * 100_000 + day
    fresh = ~np.isin(key, taken_truck * 100_000 + taken_day)
    keep = np.unique(key, return_index=True)[1]
    keep = keep[fresh[keep]]
    t_id, day = t_id[keep], day[keep]
    slon, slat = sites["lon"].to_numpy(), sites["lat"].to_numpy()
    a, b = trucks["site_id"].to_numpy()[t_id], trucks["disposal_id"].to_numpy()[t_id]
    kx = 111_320.0 * np.cos(np.radians((LAT0 + LAT1) / 2))
    dx, dy = (slon[b] - slon[a]) * kx, (slat[b] - slat[a]) * 110_574.0
    norm = np.maximum(np.hypot(dx, dy), 1.0)
    px, py = -dy / norm * DETOUR_M, dx / norm * DETOUR_M  # across the route, metres
    mid_lon, mid_lat = (slon[a] + slon[b]) / 2, (slat[a] + slat[b]) / 2
    to_x, to_y = ((LON0 + LON1) / 2 - mid_lon) * kx, ((LAT0 + LAT1) / 2 - mid_lat) * 110_574.0
    towards = to_x * px + to_y * py
    sign = np.where(towards >= 0, 1.0, -1.0)
    d_lon, d_lat = sign * px / kx, sign * py / 110_574.0
    return t_id, day, mid_lon + d_lon, mid_lat + d_lat, d_lon, d_lat
