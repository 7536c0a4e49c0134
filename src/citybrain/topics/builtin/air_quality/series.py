"""Sensor readings → a station × hour grid of valid hourly means, with every flag kept.

The hourly means are one grouped query on the engine (Ibis, so DuckDB and Spark alike); the grid
(stations × every hour of the period, missing hours explicit) is NumPy from there on. A value is
invalid — left out of every mean and index, and flagged — when it is negative, above what an
instrument can read (``ABSURD``), or stuck (the same value hour after hour).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from citybrain.core.engine import Engine

POLLUTANTS: Final = ("pm25", "pm10", "no2", "so2", "o3", "co")
#: above these a reading is not air but a broken instrument (µg/m³; CO mg/m³)
ABSURD: Final[dict[str, float]] = {
    "pm25": 1500.0,
    "pm10": 3000.0,
    "no2": 3000.0,
    "so2": 3000.0,
    "o3": 1500.0,
    "co": 150.0,
}
#: an hourly value repeated this many hours in a row is stuck (resolution-limited SO2 and CO
#: repeat honestly at low levels, so they need twice as long)
STUCK_HOURS: Final[dict[str, int]] = {
    "pm25": 6,
    "pm10": 6,
    "no2": 6,
    "o3": 6,
    "so2": 12,
    "co": 12,
}

Floats = NDArray[np.float64]


@dataclass
class Grid:
    """Stations × hours. ``values[p]`` holds valid hourly means (NaN otherwise)."""

    sensors: NDArray[np.object_]
    hours: NDArray[np.datetime64]
    values: dict[str, Floats]
    negative: dict[str, NDArray[np.int64]]  # readings below zero, per cell
    absurd: dict[str, NDArray[np.int64]]
    stuck: dict[str, NDArray[np.bool_]]
    reported: NDArray[np.bool_]  # any reading at all in the cell

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.hours), len(self.sensors)


def hourly_query(readings: ir.Table) -> ir.Table:
    """One row per station and hour: mean of the plausible readings, counts of the others."""
    readings = readings.filter(readings.observed_at.notnull() & readings.sensor_id.notnull())
    hour = readings.observed_at.truncate("h").name("hour")
    metrics = {"readings": readings.count()}
    for p in POLLUTANTS:
        value = readings[p]
        ok = (value >= 0) & (value <= ABSURD[p])
        metrics[f"{p}_mean"] = value.mean(where=ok)
        metrics[f"{p}_negative"] = (value < 0).sum()
        metrics[f"{p}_absurd"] = (value > ABSURD[p]).sum()
    return readings.group_by([readings.sensor_id, hour]).aggregate(**metrics)


def _stuck_runs(values: Floats, hours: int) -> NDArray[np.bool_]:
    """Cells in a run of ``hours`` or more identical consecutive reported values, per column.

    Missing hours are skipped (a run continues across a gap); vectorised over the whole grid.
    """
    out = np.zeros(values.shape, dtype=bool)
    t, s = np.nonzero(np.isfinite(values))
    order = np.lexsort((t, s))  # by station, then time
    t, s = t[order], s[order]
    v = values[t, s]
    new_run = np.ones(len(v), dtype=bool)
    new_run[1:] = (s[1:] != s[:-1]) | (v[1:] != v[:-1])
    run_id = np.cumsum(new_run) - 1
    lengths = np.bincount(run_id)
    long = lengths[run_id] >= hours
    out[t[long], s[long]] = True
    return out


def build_grid(frame: pd.DataFrame) -> Grid:
    """The grid from ``hourly_query``'s rows (any order; hours without rows become missing)."""
    if frame.empty:
        empty = np.zeros((0, 0))
        return Grid(
            np.array([], dtype=object),
            np.array([], dtype="datetime64[h]"),
            dict.fromkeys(POLLUTANTS, empty),
            {p: empty.astype(np.int64) for p in POLLUTANTS},
            {p: empty.astype(np.int64) for p in POLLUTANTS},
            {p: empty.astype(bool) for p in POLLUTANTS},
            empty.astype(bool),
        )
    sensors, s_index = np.unique(frame["sensor_id"].astype(str).to_numpy(), return_inverse=True)
    stamp = pd.to_datetime(frame["hour"]).to_numpy().astype("datetime64[h]")
    first, last = stamp.min(), stamp.max()
    hours = np.arange(first, last + np.timedelta64(1, "h"), dtype="datetime64[h]")
    t_index = (stamp - first).astype(np.int64)
    shape = (len(hours), len(sensors))
    reported = np.zeros(shape, dtype=bool)
    reported[t_index, s_index] = True
    values: dict[str, Floats] = {}
    negative: dict[str, NDArray[np.int64]] = {}
    absurd: dict[str, NDArray[np.int64]] = {}
    stuck: dict[str, NDArray[np.bool_]] = {}
    for p in POLLUTANTS:
        grid = np.full(shape, np.nan)
        grid[t_index, s_index] = pd.to_numeric(frame[f"{p}_mean"], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        for name, target in (("negative", negative), ("absurd", absurd)):
            counts = np.zeros(shape, dtype=np.int64)
            counts[t_index, s_index] = frame[f"{p}_{name}"].fillna(0).to_numpy(dtype=np.int64)
            target[p] = counts
        stuck[p] = _stuck_runs(grid, STUCK_HOURS[p])
        grid[stuck[p]] = np.nan
        values[p] = grid
    return Grid(sensors, hours, values, negative, absurd, stuck, reported)


def load_grid(engine: Engine, readings: ir.Table) -> Grid:
    return build_grid(engine.to_arrow(hourly_query(readings)).to_pandas())


def rolling_mean(values: Floats, window: int, min_valid: int) -> Floats:
    """Trailing mean over ``window`` hours (this one included) of the valid values, per station;
    NaN where fewer than ``min_valid`` of them are valid (HJ 663 validity)."""
    valid = np.isfinite(values)
    filled = np.where(valid, values, 0.0)
    pad = np.zeros((1, values.shape[1]))
    total = np.cumsum(np.vstack([pad, filled]), axis=0)
    count = np.cumsum(np.vstack([pad, valid.astype(np.float64)]), axis=0)
    n = values.shape[0]
    top = np.arange(1, n + 1)
    bottom = np.maximum(top - window, 0)
    sums = total[top] - total[bottom]
    counts = count[top] - count[bottom]
    with np.errstate(invalid="ignore", divide="ignore"):
        out: Floats = np.asarray(sums / counts, dtype=np.float64)
    out[counts < min_valid] = np.nan
    return out
