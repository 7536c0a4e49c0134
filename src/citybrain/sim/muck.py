"""Muck trucks (渣土车): construction and disposal sites, trucks and their permits, and the truth of
violations — driving outside the permitted night hours, dumping away from any disposal site, and
running without a permit. GPS pings are generated a month at a time from this plan."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from citybrain.sim.geography import LAT0, LAT1, LON0, LON1
from citybrain.sim.ids import concat, padded, pick
from citybrain.sim.rng import rng_for
from citybrain.sim.world import World

_PLATE_LETTERS = list("ABCDEFGHJKLMNPQRSTUVWXYZ")
VIOLATIONS = ("outside_hours", "illegal_dumping", "no_permit")


@dataclass(frozen=True)
class MuckPlan:
    sites: pa.Table  # site_id, name, kind (construction/disposal), lon, lat, enterprise_id
    trucks: pa.Table  # truck_id, plate, enterprise_id, site_id, disposal_id, permitted
    # per truck: day index of violations (one row per violation day)
    violations: pa.Table  # truck_id, day, kind, lon, lat


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
    violations = pa.table(
        {
            "truck_id": t_id,
            "day": v_day,
            "kind": pick(list(VIOLATIONS), v_kind),
            # only dumping happens at a place; the other kinds are about time or papers
            "lon": np.where(v_kind == 1, rng.uniform(LON0, LON1, t_id.size), np.nan),
            "lat": np.where(v_kind == 1, rng.uniform(LAT0, LAT1, t_id.size), np.nan),
        }
    )
    return MuckPlan(sites, trucks, violations)
