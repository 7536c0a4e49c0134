"""Hand-made, real-looking series: missing hours, negative and absurd values, a stuck value and a
station outage give flags and no invented AQI, on both engines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from citybrain.core.engine import Engine
from citybrain.topics.builtin.air_quality import series, station_aqi

HOURS = 48
START = np.datetime64("2025-01-01T00", "h")


def _readings() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frames = []
    for sensor in ("A", "B", "C"):
        t = START + np.arange(HOURS).astype("timedelta64[h]")
        frame = pd.DataFrame(
            {
                "sensor_id": sensor,
                "observed_at": t.astype("datetime64[us]"),
                "pm25": np.round(rng.uniform(30, 60, HOURS), 1),
                "pm10": np.round(rng.uniform(50, 90, HOURS), 1),
                "no2": np.round(rng.uniform(20, 40, HOURS), 1),
                "so2": np.round(rng.uniform(5, 10, HOURS), 1),
                "o3": np.round(rng.uniform(40, 90, HOURS), 1),
                "co": np.round(rng.uniform(0.5, 0.9, HOURS), 2),
            }
        )
        frames.append(frame)
    a, b, c = frames
    a.loc[5, "pm25"] = -12.0  # negative: not air
    a.loc[6, "pm10"] = 9999.0  # beyond any instrument
    a.loc[7, "no2"] = np.nan  # a missing value in a reported hour
    b = b.drop(index=range(10, 21))  # eleven missing hours on day one
    b.loc[30:37, "no2"] = 33.3  # stuck for eight hours
    c = c.iloc[:24]  # outage: day two never arrives
    return pd.concat([a, b, c], ignore_index=True)


@pytest.fixture
def grid(engine: Engine) -> series.Grid:
    table = engine.register("air_readings", _readings())
    return series.load_grid(engine, table)


def test_flags_and_validity(grid: series.Grid) -> None:
    assert grid.shape == (HOURS, 3)
    a, b, c = (list(grid.sensors).index(s) for s in "ABC")
    assert grid.negative["pm25"][5, a] == 1 and math.isnan(grid.values["pm25"][5, a])
    assert grid.absurd["pm10"][6, a] == 1 and math.isnan(grid.values["pm10"][6, a])
    assert math.isnan(grid.values["no2"][7, a]) and not grid.stuck["no2"][7, a]
    assert grid.stuck["no2"][30:38, b].all() and np.isnan(grid.values["no2"][30:38, b]).all()
    assert not grid.stuck["no2"][:30, b].any()
    assert not grid.reported[10:21, b].any() and not grid.reported[24:, c].any()
    assert np.isfinite(grid.values["pm25"][:24, c]).all()


def test_hourly_aqi_never_invented(grid: series.Grid) -> None:
    hourly = station_aqi.hourly(grid)
    assert len(hourly) == HOURS * 3
    outage = hourly.loc[(hourly["sensor_id"] == "C") & (hourly["hour"] >= START + 24)]
    assert outage["aqi"].isna().all() and (outage["flags"] == "station:no_data").all()
    assert outage["category_zh"].isna().all()
    bad = hourly.loc[(hourly["sensor_id"] == "A") & (hourly["hour"] == START + 5)].iloc[0]
    assert "pm25:negative" in bad["flags"] and math.isnan(bad["iaqi_pm25"])
    assert bad["pollutants_missing"] == 1 and not math.isnan(bad["aqi"])
    present = hourly.loc[hourly["aqi"].notna()]
    assert ((present["aqi"] >= 0) & (present["aqi"] <= 500)).all()


def test_daily_needs_twenty_valid_hours(grid: series.Grid) -> None:
    daily = station_aqi.daily(grid).set_index(["sensor_id", "date"])
    day1, day2 = np.datetime64("2025-01-01"), np.datetime64("2025-01-02")
    assert math.isnan(daily.loc[("C", day2), "aqi"])  # outage
    assert math.isnan(daily.loc[("B", day1), "pm25"])  # 13 hours only
    assert math.isnan(daily.loc[("B", day1), "aqi"])
    readings = _readings()
    a1 = readings.loc[(readings["sensor_id"] == "A") & (readings["observed_at"] < day1 + 1)]
    expected = a1.loc[a1["pm25"] >= 0, "pm25"].mean()  # the negative hour left out
    assert daily.loc[("A", day1), "pm25"] == pytest.approx(expected)
    assert daily.loc[("A", day1), "category_zh"] in {"优", "良", "轻度污染"}


def test_rolling_mean_validity() -> None:
    values = np.array([[1.0], [2.0], [np.nan], [4.0], [5.0]])
    out = series.rolling_mean(values, 3, 2)
    assert math.isnan(out[0, 0])  # one value of three
    assert out[1:, 0].tolist() == [1.5, 1.5, 3.0, 4.5]


def test_empty_readings_give_an_empty_grid() -> None:
    frame = pd.DataFrame(columns=["sensor_id", "hour"])
    grid = series.build_grid(frame)
    assert grid.shape == (0, 0)
    assert station_aqi.daily(grid).empty
