"""Outages in real air series: a whole day missing at every station, and a registered station
that never sends a reading. Both give flags and no AQI, never a crash or an invented value, and
the silent station changes nothing found at the others."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from citybrain.core import Workspace
from citybrain.core.engine import open_engine
from citybrain.topics import TopicContext
from citybrain.topics.builtin.air_quality import detect, series, station_aqi
from citybrain.topics.builtin.air_quality.topic import AirQuality, detect_all
from topics.builtin.air_quality.test_detect import BASE, STATIONS, _frame

START = np.datetime64("2025-03-01T00", "h")


def _found(grid: series.Grid, lon: np.ndarray, lat: np.ndarray) -> tuple[pd.DataFrame, ...]:
    params = detect.DetectParams()
    z = detect.log_ratios(grid, detect.neighbour_index(lon, lat, params.neighbours), 4)
    kinds = detect.fault_hours(grid, z, params)
    faulty = kinds["impossible"] | kinds["stuck"] | kinds["drift"]
    return detect.find_episodes(grid, z, faulty, params), detect.find_faults(kinds, params)


def test_a_whole_day_missing_at_every_station_is_flagged_with_no_aqi() -> None:
    frame = _frame()
    hours = pd.to_datetime(frame["hour"])
    day2 = (hours >= pd.Timestamp("2025-03-02")) & (hours < pd.Timestamp("2025-03-03"))
    grid = series.build_grid(frame.loc[~day2])
    assert grid.shape == (300, STATIONS)  # the gap stays in the grid, as missing hours
    hourly = station_aqi.hourly(grid)
    gap = hourly.loc[(hourly["hour"] >= START + 24) & (hourly["hour"] < START + 48)]
    assert len(gap) == 24 * STATIONS
    assert gap["aqi"].isna().all() and (gap["flags"] == "station:no_data").all()
    assert gap["category_zh"].isna().all()
    daily = station_aqi.daily(grid).set_index(["sensor_id", "date"])
    for station in (f"S{i}" for i in range(STATIONS)):
        missing = daily.loc[(station, np.datetime64("2025-03-02"))]
        assert math.isnan(missing["aqi"]) and missing["pollutants_missing"] == 6
        assert not math.isnan(daily.loc[(station, np.datetime64("2025-03-01")), "aqi"])
        assert not math.isnan(daily.loc[(station, np.datetime64("2025-03-03")), "aqi"])


def test_a_station_that_never_reports_is_an_outage_and_changes_nothing_else() -> None:
    grid = series.build_grid(_frame())
    with_silent = station_aqi.with_stations(grid, ["S3", "S9", "S0"])  # S9 sent nothing
    assert list(with_silent.sensors) == [*(f"S{i}" for i in range(STATIONS)), "S9"]
    silent = list(with_silent.sensors).index("S9")
    assert not with_silent.reported[:, silent].any()
    hourly = station_aqi.hourly(with_silent)
    mine = hourly.loc[hourly["sensor_id"] == "S9"]
    assert len(mine) == 300 and mine["aqi"].isna().all()
    assert (mine["flags"] == "station:no_data").all()
    daily = station_aqi.daily(with_silent)
    assert daily.loc[daily["sensor_id"] == "S9", "aqi"].isna().all()
    assert (daily.loc[daily["sensor_id"] == "S9", "pollutants_missing"] == 6).all()
    # the other stations' AQI is what it was
    before = station_aqi.daily(grid).set_index(["sensor_id", "date"])["aqi"]
    after = daily.set_index(["sensor_id", "date"])["aqi"].drop("S9", level="sensor_id")
    pd.testing.assert_series_equal(after.sort_index(), before.sort_index())
    # in the middle of the ring, the silent station is everyone's nearest: nothing found moves
    angle = np.arange(STATIONS) / STATIONS * 2 * np.pi
    episodes, faults = _found(grid, np.cos(angle), np.sin(angle))
    lon, lat = np.append(np.cos(angle), 0.0), np.append(np.sin(angle), 0.0)
    episodes_silent, faults_silent = _found(with_silent, lon, lat)
    assert not episodes.empty and not faults.empty
    pd.testing.assert_frame_equal(episodes_silent.reset_index(drop=True),
                                  episodes.reset_index(drop=True))  # fmt: skip
    pd.testing.assert_frame_equal(faults_silent.reset_index(drop=True),
                                  faults.reset_index(drop=True))  # fmt: skip


@pytest.mark.parametrize("stations", [[], ["S1"]])
def test_no_station_to_add_or_no_hours_leaves_the_grid(stations: list[str]) -> None:
    grid = series.build_grid(_frame())
    assert station_aqi.with_stations(grid, stations) is grid
    empty = series.build_grid(pd.DataFrame(columns=["sensor_id", "hour"]))
    assert station_aqi.with_stations(empty, ["S9"]) is empty


def test_the_topic_keeps_a_registered_station_that_never_reported(tmp_path: Path) -> None:
    """detect_all adds the register's silent air stations: a row a day, no AQI (the map shows
    it grey, the report does not count it as valid); construction sites are not stations."""
    engine = open_engine("duckdb", tmp_path, database=":memory:")
    readings = _frame().rename(columns={"hour": "observed_at"})
    readings = readings.rename(columns={f"{p}_mean": p for p in BASE})[
        ["sensor_id", "observed_at", *BASE]
    ]
    sites = pd.DataFrame(
        {
            "site_id": [*(f"S{i}" for i in range(STATIONS)), "S9", "W1"],
            "kind": ["air_station"] * (STATIONS + 1) + ["construction"],
            "lon": [*np.cos(np.arange(STATIONS)), 0.0, 0.5],
            "lat": [*np.sin(np.arange(STATIONS)), 0.0, 0.5],
        }
    )
    inputs = {"std.sensor_reading": engine.register("r", readings),
              "std.site": engine.register("s", sites)}  # fmt: skip
    topic = AirQuality()
    ctx = TopicContext(Workspace.init(tmp_path / "ws"), engine, "r1", topic.default_params(),
                       topic.model_version, inputs=inputs)  # fmt: skip
    try:
        found = detect_all(ctx)
    finally:
        engine.close()
    assert "S9" in set(found.daily["sensor_id"]) and "W1" not in set(found.daily["sensor_id"])
    assert found.daily.loc[found.daily["sensor_id"] == "S9", "aqi"].isna().all()
    assert found.daily.loc[found.daily["sensor_id"] == "S1", "aqi"].notna().any()
    assert not (found.episodes["sensor_id"] == "S9").any()
    assert not (found.faults["sensor_id"] == "S9").any()
