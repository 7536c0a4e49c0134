"""Shared bikes: parking zones with quotas, and where every bike of the three operators stands at
each snapshot. Zones near metro exits fill up at the morning peak beyond their quota; the truth is
the count per zone and snapshot where it exceeds the quota (over-parked zones)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from citybrain.sim.geography import LAT0, LAT1, LON0, LON1
from citybrain.sim.ids import concat, padded
from citybrain.sim.rng import rng_for
from citybrain.sim.world import World

OPERATORS = ("meituan", "hellobike", "qingju")
ZONE_W, ZONE_H = 0.0004, 0.0002  # about 40 m × 20 m


@dataclass(frozen=True)
class BikePlan:
    zones: pa.Table  # zone_id, code, name, lon, lat, metro, quota, quota_<operator>
    popularity: np.ndarray  # base weight per zone
    n_bikes: int  # per operator


def build_bike_plan(world: World) -> BikePlan:
    rng = rng_for(world.seed, "bikes")
    b = world.scale.bikes_per_operator
    n_zones = max(5, b * 3 // 40)
    e = world.geo.estates
    near = rng.integers(0, len(e), n_zones)
    lon = np.clip(e["lon"].to_numpy()[near] + rng.normal(0, 0.002, n_zones), LON0, LON1 - ZONE_W)
    lat = np.clip(e["lat"].to_numpy()[near] + rng.normal(0, 0.002, n_zones), LAT0, LAT1 - ZONE_H)
    metro = rng.random(n_zones) < 0.2
    popularity = rng.pareto(1.5, n_zones) + 1
    popularity[metro] *= 2
    # quotas are set from the average load with head-room; metro peaks overshoot them
    mean_load = popularity / popularity.sum() * 3 * b * 0.65
    quota = np.maximum(5, np.round(mean_load * rng.uniform(1.2, 1.8, n_zones))).astype(np.int64)
    share = rng.dirichlet([2, 2, 2], n_zones)
    zones = pa.table(
        {
            "zone_id": np.arange(n_zones),
            "code": concat("TCQ", padded(np.arange(n_zones) + 1, 5)),
            "name": concat(
                e["estate_name"].combine_chunks().take(pa.array(near)),
                pa.array(np.where(metro, "地铁站出口停放区", "门口停放区")),
            ),
            "lon": lon,
            "lat": lat,
            "metro": metro,
            "quota": quota,
            **{
                f"quota_{op}": np.round(quota * share[:, i]).astype(np.int64)
                for i, op in enumerate(OPERATORS)
            },
        }
    )
    return BikePlan(zones, popularity, b)


def snapshot_hours(per_day: int) -> np.ndarray:
    """Snapshot hours of a day, always including the 8 o'clock morning peak."""
    if per_day == 1:
        return np.array([8.0])
    return (
        np.round(np.linspace(6.0, 22.0, per_day) * 4) / 4
        if per_day != 4
        else np.array([8.0, 12.0, 18.0, 22.0])
    )


def zone_weights(plan: BikePlan, hour: float) -> np.ndarray:
    """Probability of each zone for a parked bike at ``hour``: metro exits fill at the peaks."""
    w = plan.popularity.copy()
    if 7.0 <= hour <= 9.5 or 17.5 <= hour <= 19.0:
        w[plan.zones["metro"].to_numpy()] *= 3.5
    weights: np.ndarray = w / w.sum()
    return weights


def day_positions(
    plan: BikePlan, hours: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zone (or -1), longitude and latitude of one operator's fleet at every snapshot of a day,
    each an (snapshots, bikes) matrix.

    Zone counts are drawn per snapshot (multinomial) and dealt to bikes in random order: the same
    distribution as a draw per bike, without a binary search per row."""
    z = plan.zones
    b, s = plan.n_bikes, hours.size
    parked = rng.random((s, b)) < 0.65
    n_parked = parked.sum(axis=1)
    zone = np.full((s, b), -1, np.int64)
    for k, h in enumerate(hours):
        counts = rng.multinomial(int(n_parked[k]), zone_weights(plan, float(h)))
        zone[k, parked[k]] = rng.permutation(np.repeat(np.arange(counts.size), counts))
    u, v = rng.random((s, b)), rng.random((s, b))
    zi = np.maximum(zone, 0)
    lon = np.where(parked, z["lon"].to_numpy()[zi] + u * ZONE_W, LON0 + u * (LON1 - LON0))
    lat = np.where(parked, z["lat"].to_numpy()[zi] + v * ZONE_H, LAT0 + v * (LAT1 - LAT0))
    return zone, lon, lat
