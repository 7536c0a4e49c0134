"""Air quality: sensors across the zone, a daily and seasonal cycle, regional haze, and local
pollution episodes with a source (a construction site's dust, a factory's SO₂/NO₂, a traffic jam)
whose effect decays with distance. The truth names each episode's source and the sensors it hit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from citybrain.sim.geography import LAT0, LAT1, LON0, LON1
from citybrain.sim.ids import concat, padded
from citybrain.sim.rng import rng_for
from citybrain.sim.world import World

POLLUTANTS = ("pm25", "pm10", "no2", "so2", "o3", "co")
_BASE = np.array([35.0, 60.0, 30.0, 8.0, 60.0, 0.7])
_SOURCES = {"construction_dust": (1, 4.0), "industrial": (3, 6.0), "traffic": (2, 2.5)}
DECAY_DEG = 0.006  # about 600 m


@dataclass(frozen=True)
class AirPlan:
    sensors: pa.Table  # sensor_id, lon, lat
    episodes: (
        pa.Table
    )  # episode_id, kind, pollutant, source_lon, source_lat, start_hour, hours, amplitude
    faults: pa.Table | None = None  # fault_id, sensor, sensor_id, kind, start_hour, hours


def build_air_plan(world: World) -> AirPlan:
    rng = rng_for(world.seed, "air")
    n = world.scale.sensors
    lon = rng.uniform(LON0 + 0.003, LON1 - 0.003, n)
    lat = rng.uniform(LAT0 + 0.003, LAT1 - 0.003, n)
    sensors = pa.table(
        {"sensor_id": concat("AQ", padded(np.arange(n) + 1, 4)), "lon": lon, "lat": lat}
    )
    hours = world.days * 24
    k = max(2, world.months * 2)
    kinds = np.array(list(_SOURCES))[rng.integers(0, len(_SOURCES), k)]
    pol = np.array([_SOURCES[x][0] for x in kinds])
    amp = np.array([_SOURCES[x][1] for x in kinds]) * rng.uniform(0.7, 1.5, k)
    # sources sit near a sensor so that at least one sensor sees each episode
    near = rng.integers(0, n, k)
    episodes = pa.table(
        {
            "episode_id": np.arange(k),
            "kind": kinds,
            "pollutant": np.array(POLLUTANTS)[pol],
            "source_lon": lon[near] + rng.normal(0, 0.002, k),
            "source_lat": lat[near] + rng.normal(0, 0.002, k),
            "start_hour": np.sort(rng.integers(0, max(1, hours - 72), k)),
            "hours": rng.integers(6, 72, k),
            "amplitude": amp,
        }
    )
    return AirPlan(sensors, episodes, plan_faults(world, sensors, episodes))


FAULT_KINDS = ("stuck", "zero", "impossible", "drift")


def plan_faults(world: World, sensors: pa.Table, episodes: pa.Table) -> pa.Table:
    """Broken sensors (stuck, flat at zero, impossible values, drifting), at times when no
    episode raises them, so that a fault is never also a pollution episode in the truth."""
    rng = rng_for(world.seed, "air-faults")
    n, hours = len(sensors), world.days * 24
    k = max(2, world.months)
    hit = affected(AirPlan(sensors, episodes))
    busy_sensor = hit["sensor_id"].to_numpy(zero_copy_only=False)
    ep = hit["episode_id"].to_numpy()
    starts = episodes["start_hour"].to_numpy()[ep]
    ends = starts + episodes["hours"].to_numpy()[ep]
    ids = sensors["sensor_id"].to_numpy(zero_copy_only=False)
    rows: list[tuple[int, str, str, int, int]] = []
    taken = np.zeros(hours + 1, dtype=bool)
    for i in range(k * 20):  # a few tries per fault; faults are few
        if len(rows) == k:
            break
        s = int(rng.integers(0, n))
        length = int(rng.integers(24, 120))
        start = int(rng.integers(0, max(1, hours - length)))
        mine = busy_sensor == ids[s]
        clash = np.any((starts[mine] < start + length + 24) & (ends[mine] > start - 24))
        if clash or taken[start : start + length].any():
            continue
        taken[max(0, start - 24) : start + length + 24] = True
        rows.append((s, str(ids[s]), FAULT_KINDS[i % len(FAULT_KINDS)], start, length))
    return pa.table(
        {
            "fault_id": np.arange(len(rows)),
            "sensor": np.array([r[0] for r in rows], dtype=np.int64),
            "sensor_id": pa.array([r[1] for r in rows], pa.string()),
            "kind": pa.array([r[2] for r in rows], pa.string()),
            "start_hour": np.array([r[3] for r in rows], dtype=np.int64),
            "hours": np.array([r[4] for r in rows], dtype=np.int64),
        }
    )


def _apply_faults(
    faults: pa.Table, hour: np.ndarray, values: dict[str, np.ndarray], rng: np.random.Generator
) -> None:
    """Break the planted sensors' readings in place (few faults, each vectorised over time)."""
    for f in faults.to_pylist():
        active = (hour >= f["start_hour"]) & (hour < f["start_hour"] + f["hours"])
        if not active.any():
            continue
        s, rows = f["sensor"], np.nonzero(active)[0]
        for p in POLLUTANTS:
            column = values[p]
            if f["kind"] == "stuck":
                column[rows, s] = column[rows[0], s]
            elif f["kind"] == "zero":
                column[rows, s] = 0.0
            elif f["kind"] == "impossible" and p in ("pm25", "pm10"):
                bad = rows[rng.random(len(rows)) < 0.5]
                column[bad, s] = 9999.0
            elif f["kind"] == "drift":
                done = (hour[rows] - f["start_hour"]) / f["hours"]
                column[rows, s] *= 1.0 + 3.0 * done


def readings(world: World, plan: AirPlan, m: int, rng: np.random.Generator) -> pa.Table:
    """All sensors' readings in month m (one row per sensor and interval)."""
    per_day = world.scale.sensor_readings_per_day
    d0 = int((world.month_starts[m] - world.month_starts[0]).astype(np.int64))
    steps = world.days_in_month(m) * per_day
    hour = d0 * 24 + np.arange(steps) * 24.0 / per_day  # hours since period start
    n = len(plan.sensors)
    lon, lat = plan.sensors["lon"].to_numpy(), plan.sensors["lat"].to_numpy()
    daily = 1 + 0.25 * np.sin((hour % 24 - 8) / 24 * 2 * np.pi)
    month_of_year = (world.scale.start_month - 1 + m) % 12
    winter = 1.4 if month_of_year in (0, 1, 11) else 1.0
    values = {}
    for i, p in enumerate(POLLUTANTS):
        level = _BASE[i] * winter * daily[:, None] * rng.lognormal(0, 0.15, (steps, n))
        values[p] = level
    e = plan.episodes
    for k in range(len(e)):  # episodes are few; each is vectorised over time and sensors
        s, h = int(e["start_hour"][k].as_py()), int(e["hours"][k].as_py())
        active = (hour >= s) & (hour < s + h)
        if not active.any():
            continue
        dist = np.hypot(lon - e["source_lon"][k].as_py(), lat - e["source_lat"][k].as_py())
        effect = e["amplitude"][k].as_py() * np.exp(-dist / DECAY_DEG)
        p = str(e["pollutant"][k].as_py())
        values[p][active] *= 1 + effect[None, :]
        if p == "pm10":
            values["pm25"][active] *= 1 + 0.4 * effect[None, :]
    if plan.faults is not None:
        _apply_faults(plan.faults, hour, values, rng)
    ts = world.month_starts[0].astype("datetime64[s]") + (hour * 3600).astype("timedelta64[s]")
    return pa.table(
        {
            "sensor_id": plan.sensors["sensor_id"]
            .combine_chunks()
            .take(pa.array(np.tile(np.arange(n), steps))),
            "observed_at": pa.array(np.repeat(ts, n)),
            **{p: np.round(values[p].ravel(), 1 if p != "co" else 2) for p in POLLUTANTS},
        }
    )


def affected(plan: AirPlan, threshold: float = 0.3) -> pa.Table:
    """Sensors each episode raises by more than ``threshold`` (relative)."""
    e, s = plan.episodes, plan.sensors
    lon, lat = s["lon"].to_numpy(), s["lat"].to_numpy()
    ep_lon, ep_lat = e["source_lon"].to_numpy(), e["source_lat"].to_numpy()
    dist = np.hypot(lon[None, :] - ep_lon[:, None], lat[None, :] - ep_lat[:, None])
    effect = e["amplitude"].to_numpy()[:, None] * np.exp(-dist / DECAY_DEG)
    ep, sen = np.nonzero(effect > threshold)
    return pa.table(
        {
            "episode_id": ep,
            "sensor_id": s["sensor_id"].combine_chunks().take(pa.array(sen)),
            "relative_increase": np.round(effect[ep, sen], 3),
        }
    )
