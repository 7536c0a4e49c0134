"""Faults and pollution told apart on a hand-made grid of six stations: an episode, a stuck
sensor, a drifting one and one with impossible readings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from citybrain.topics.builtin.air_quality import detect, series

HOURS = 300
STATIONS = 6
BASE = {"pm25": 40.0, "pm10": 70.0, "no2": 30.0, "so2": 8.0, "o3": 60.0, "co": 0.7}


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    t = np.arange(HOURS)
    daily = 1 + 0.25 * np.sin(t / 24 * 2 * np.pi)
    values = {
        p: base * daily[:, None] * rng.lognormal(0, 0.12, (HOURS, STATIONS))
        for p, base in BASE.items()
    }
    values["pm10"][50:70, 0] *= 3.0  # construction dust at station 0
    values["pm25"][50:70, 0] *= 1.6
    values["so2"][200:230, 5] *= 4.0  # a factory near station 5
    for p in BASE:
        values[p][100:140, 1] = values[p][100, 1]  # stuck
        values[p][150:240, 2] *= 1 + 2.0 * (t[150:240] - 150) / 90  # drift
    absurd = np.zeros((HOURS, STATIONS), dtype=np.int64)
    absurd[30:40:2, 3] = 1  # every other hour an impossible PM reading
    rows = {
        "sensor_id": np.tile([f"S{i}" for i in range(STATIONS)], HOURS),
        "hour": np.repeat(np.datetime64("2025-03-01T00") + t.astype("timedelta64[h]"), STATIONS),
        "readings": 1,
    }
    for p in BASE:
        mean = np.round(values[p], 2)
        bad = (absurd == 1) & (p in ("pm25", "pm10"))
        rows[f"{p}_mean"] = np.where(bad, np.nan, mean).ravel()
        rows[f"{p}_negative"] = 0
        rows[f"{p}_absurd"] = np.where(bad, 1, 0).ravel()
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def found() -> tuple[pd.DataFrame, pd.DataFrame]:
    grid = series.build_grid(_frame())
    params = detect.DetectParams()
    angle = np.arange(STATIONS) / STATIONS * 2 * np.pi
    nb = detect.neighbour_index(np.cos(angle), np.sin(angle), params.neighbours)
    z = detect.log_ratios(grid, nb, params.smooth_hours)
    kinds = detect.fault_hours(grid, z, params)
    faulty = kinds["impossible"] | kinds["stuck"] | kinds["drift"]
    return detect.find_episodes(grid, z, faulty, params), detect.find_faults(kinds, params)


def _overlap(frame: pd.DataFrame, station: int, t0: int, t1: int) -> pd.DataFrame:
    mine = frame["station"] == station
    return frame.loc[mine & (frame["t0"] <= t1) & (frame["t1"] >= t0)]


def test_episodes_found_with_their_source(found: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    episodes, _ = found
    dust = _overlap(episodes, 0, 50, 69)
    assert len(dust) == 1 and dust.iloc[0]["source_kind"] == "construction_dust"
    assert dust.iloc[0]["pollutant"] == "pm10"
    factory = _overlap(episodes, 5, 200, 229)
    assert len(factory) == 1 and factory.iloc[0]["source_kind"] == "industrial"


def test_faults_found_and_never_pollution(found: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    episodes, faults = found
    for station, t0, t1, kind in ((1, 100, 139, "stuck"), (2, 180, 239, "drift")):
        hit = _overlap(faults, station, t0, t1)
        assert len(hit) == 1 and hit.iloc[0]["kind"] == kind, (station, faults)
        assert _overlap(episodes, station, t0, t1).empty
    # nor is the start of the drift, before every pollutant is far enough off to call it drift
    assert _overlap(episodes, 2, 150, 239).empty
    assert _overlap(faults, 3, 30, 39).iloc[0]["kind"] == "impossible"
    # nothing else: clean stations and hours raise nothing
    assert set(faults["station"]) == {1, 2, 3}
    assert set(episodes["station"]) == {0, 5}


def test_a_lone_station_or_empty_values_never_crash() -> None:
    """One station has no neighbours, and a station reporting only nulls has no AQI: no episode,
    no fault invented, no error."""
    from citybrain.topics.builtin.air_quality import station_aqi

    frame = _frame()
    lone = frame.loc[frame["sensor_id"] == "S0"].copy()
    for p in BASE:
        lone[f"{p}_mean"] = np.nan
    grid = series.build_grid(lone)
    params = detect.DetectParams()
    nb = detect.neighbour_index(np.array([np.nan]), np.array([np.nan]), params.neighbours)
    z = detect.log_ratios(grid, nb, params.smooth_hours)
    kinds = detect.fault_hours(grid, z, params)
    faulty = kinds["impossible"] | kinds["stuck"] | kinds["drift"]
    assert detect.find_episodes(grid, z, faulty, params).empty
    assert detect.find_faults(kinds, params).empty
    assert station_aqi.daily(grid)["aqi"].isna().all()
    assert station_aqi.hourly(grid)["aqi"].isna().all()
