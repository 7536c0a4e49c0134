"""Hourly (实时) and daily (日报) AQI of every station from the grid, vectorised.

Validity follows HJ 663-2013: a 24-hour mean needs 20 valid hours, an 8-hour O3 mean 6 of its 8
hours, the daily maximum 8-hour O3 14 valid 8-hour means (those ending 07:00–23:00). What is not
valid is NaN, so an index is never computed from too little data; the flags say why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pandas as pd

from citybrain.topics.builtin.air_quality import aqi
from citybrain.topics.builtin.air_quality.series import POLLUTANTS, Grid, rolling_mean

DAY_MIN_HOURS = 20
O3_8H_MIN_HOURS = 6
O3_8H_MIN_WINDOWS = 14


def with_stations(grid: Grid, stations: Iterable[str]) -> Grid:
    """``grid`` with a column for every registered station that sent no reading at all: every
    hour of it is missing (flagged ``station:no_data``), so it gets flags and never an AQI."""
    silent = np.setdiff1d(np.array(sorted({str(s) for s in stations}), dtype=object),
                          grid.sensors.astype(str))  # fmt: skip
    if not len(silent) or not len(grid.hours):
        return grid
    sensors = np.concatenate([grid.sensors, silent])
    order = np.argsort(sensors.astype(str), kind="stable")

    def pad(cells: np.ndarray, fill: object) -> np.ndarray:
        empty = np.full((cells.shape[0], len(silent)), fill, dtype=cells.dtype)
        return np.concatenate([cells, empty], axis=1)[:, order]

    return replace(
        grid,
        sensors=sensors[order],
        values={p: pad(v, np.nan) for p, v in grid.values.items()},
        negative={p: pad(v, 0) for p, v in grid.negative.items()},
        absurd={p: pad(v, 0) for p, v in grid.absurd.items()},
        stuck={p: pad(v, False) for p, v in grid.stuck.items()},
        reported=pad(grid.reported, False),
    )


def _flags(grid: Grid) -> np.ndarray:
    """Per cell, the data problems seen, as ``"pm25:absurd;no2:stuck"`` ("" when clean)."""
    out = np.full(grid.shape, "", dtype=object)
    for p in POLLUTANTS:
        for name, mask in (
            ("negative", grid.negative[p] > 0),
            ("absurd", grid.absurd[p] > 0),
            ("stuck", grid.stuck[p]),
        ):
            text = f"{p}:{name}"
            out[mask] = np.where(out[mask] == "", text, out[mask] + ";" + text)
    out[~grid.reported] = "station:no_data"
    return out


def hourly(grid: Grid) -> pd.DataFrame:
    """One row per station-hour: AQI, primary pollutant(s), category and flags."""
    v = grid.values
    o3_8h = rolling_mean(v["o3"], 8, O3_8H_MIN_HOURS)
    so2_24h = rolling_mean(v["so2"], 24, DAY_MIN_HOURS)
    indices = aqi.hourly_indices(
        pm25=v["pm25"],
        pm10=v["pm10"],
        no2=v["no2"],
        so2=v["so2"],
        co=v["co"],
        o3=v["o3"],
        o3_8h=o3_8h,
        so2_24h=so2_24h,
    )
    # moving means reach into hours the station did not report: those hours get no index
    flat = {p: np.where(grid.reported, idx, np.nan).ravel() for p, idx in indices.items()}
    value, primary = aqi.combine(flat)
    level, zh, en = aqi.category(value)
    n_t, n_s = grid.shape
    missing = sum(np.isnan(v[p]).astype(np.int64) for p in POLLUTANTS)
    return pd.DataFrame(
        {
            "sensor_id": np.tile(grid.sensors, n_t),
            "hour": np.repeat(grid.hours, n_s),
            "aqi": value,
            "primary": primary,
            "level": level,
            "category_zh": zh,
            "category_en": en,
            "pollutants_missing": np.asarray(missing).ravel(),
            "flags": _flags(grid).ravel(),
            **{f"iaqi_{p}": flat[p] for p in flat},
        }
    )


def _by_day(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    days = grid.hours.astype("datetime64[D]")
    first = days.min() if len(days) else np.datetime64("1970-01-01")
    return days, (days - first).astype(np.int64)


def _day_reduce(
    values: np.ndarray, day: np.ndarray, n_days: int, how: str, need: int
) -> np.ndarray:
    """Per day and station, the mean or max of the valid values; NaN below ``need`` of them."""
    n_s = values.shape[1]
    cell = (day[:, None] * n_s + np.arange(n_s)[None, :]).ravel()
    flat = values.ravel()
    ok = np.isfinite(flat)
    size = n_days * n_s
    count = np.bincount(cell[ok], minlength=size)
    if how == "mean":
        total = np.bincount(cell[ok], weights=flat[ok], minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = total / count
    else:
        out = np.full(size, -np.inf)
        np.maximum.at(out, cell[ok], flat[ok])
    out = np.where(count >= need, out, np.nan)
    return out.reshape(n_days, n_s)


def daily(grid: Grid) -> pd.DataFrame:
    """One row per station-day: the day's concentrations, AQI, primary pollutant(s), category."""
    days, day = _by_day(grid)
    n_days = int(day.max()) + 1 if len(day) else 0
    v = grid.values
    conc = {p: _day_reduce(v[p], day, n_days, "mean", DAY_MIN_HOURS) for p in POLLUTANTS}
    o3_1h_max = _day_reduce(v["o3"], day, n_days, "max", DAY_MIN_HOURS)
    o3_8h = rolling_mean(v["o3"], 8, O3_8H_MIN_HOURS)
    hour_of_day = (grid.hours - days).astype(np.int64)
    o3_8h[hour_of_day < 7] = np.nan  # windows ending 07:00–23:00 belong to the day
    o3_8h_max = _day_reduce(o3_8h, day, n_days, "max", O3_8H_MIN_WINDOWS)
    indices = aqi.daily_indices(
        pm25=conc["pm25"].ravel(),
        pm10=conc["pm10"].ravel(),
        no2=conc["no2"].ravel(),
        so2=conc["so2"].ravel(),
        co=conc["co"].ravel(),
        o3_1h_max=o3_1h_max.ravel(),
        o3_8h_max=o3_8h_max.ravel(),
    )
    value, primary = aqi.combine(indices)
    level, zh, en = aqi.category(value)
    n_s = len(grid.sensors)
    first = days.min() if len(days) else np.datetime64("1970-01-01")
    dates = first + np.arange(n_days).astype("timedelta64[D]")
    missing = sum(np.isnan(conc[p]).astype(np.int64) for p in POLLUTANTS)
    return pd.DataFrame(
        {
            "sensor_id": np.tile(grid.sensors, n_days),
            "date": np.repeat(dates, n_s),
            "aqi": value,
            "primary": primary,
            "level": level,
            "category_zh": zh,
            "category_en": en,
            "pollutants_missing": np.asarray(missing).ravel(),
            **{p: conc[p].ravel() for p in POLLUTANTS},
            "o3_1h_max": o3_1h_max.ravel(),
            "o3_8h_max": o3_8h_max.ravel(),
        }
    )
