"""HJ 633-2012 AQI: hand-checked vectors (breakpoints, rounding up, missing values, the O3 and SO2
switches), primary pollutants and categories.

Each expected IAQI was worked by hand from Table 1 with
IAQI = (IAQI_Hi − IAQI_Lo) / (BP_Hi − BP_Lo) × (C − BP_Lo) + IAQI_Lo, then rounded up.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from citybrain.topics.builtin.air_quality import aqi

NAN = math.nan

VECTORS = [
    # table, concentration, IAQI
    ("pm25_24h", 0.0, 0),
    ("pm25_24h", 35.0, 50),  # a breakpoint belongs to the lower segment
    ("pm25_24h", 35.1, 51),  # 50.125 rounds up
    ("pm25_24h", 60.0, 82),  # 81.25
    ("pm25_24h", 75.0, 100),
    ("pm25_24h", 90.0, 119),  # 118.75
    ("pm25_24h", 115.0, 150),
    ("pm25_24h", 250.0, 300),
    ("pm25_24h", 500.0, 500),
    ("pm25_24h", 650.0, 500),  # beyond the scale: top of the scale, flagged by beyond_scale
    ("pm10_24h", 150.0, 100),
    ("pm10_24h", 151.0, 101),  # 100.5
    ("pm10_24h", 420.0, 300),
    ("no2_24h", 40.0, 50),
    ("no2_24h", 100.0, 110),
    ("no2_1h", 100.0, 50),
    ("no2_1h", 250.0, 105),
    ("so2_24h", 160.0, 102),  # 101.54
    ("so2_1h", 150.0, 50),
    ("so2_1h", 800.0, 200),
    ("so2_1h", 801.0, NAN),  # not indexed: the caller uses the 24-hour mean
    ("co_24h", 4.0, 100),
    ("co_24h", 5.0, 105),
    ("co_1h", 10.0, 100),
    ("co_1h", 12.5, 105),
    ("o3_1h", 160.0, 50),
    ("o3_1h", 250.0, 125),
    ("o3_8h", 100.0, 50),
    ("o3_8h", 180.0, 119),  # 118.18
    ("o3_8h", 800.0, 300),
    ("o3_8h", 801.0, NAN),  # not indexed: the caller uses the 1-hour O3
    ("pm25_24h", -3.0, NAN),  # negative is not air
    ("pm25_24h", NAN, NAN),
]


@pytest.mark.parametrize(("kind", "concentration", "expected"), VECTORS)
def test_iaqi_vectors(kind: str, concentration: float, expected: float) -> None:
    got = aqi.iaqi(kind, np.array([concentration]))[0]
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == expected


def test_iaqi_is_vectorised_over_a_column() -> None:
    kinds = [v for v in VECTORS if v[0] == "pm25_24h"]
    got = aqi.iaqi("pm25_24h", np.array([v[1] for v in kinds]))
    np.testing.assert_array_equal(got, np.array([v[2] for v in kinds], dtype=np.float64))


def test_beyond_scale_flags_only_above_the_last_breakpoint() -> None:
    got = aqi.beyond_scale("pm25_24h", np.array([500.0, 500.1, NAN]))
    assert got.tolist() == [False, True, False]


def _hourly(**overrides: float) -> dict[str, np.ndarray]:
    base = {
        "pm25": NAN,
        "pm10": NAN,
        "no2": NAN,
        "so2": NAN,
        "co": NAN,
        "o3": NAN,
        "o3_8h": NAN,
        "so2_24h": NAN,
    }
    base.update(overrides)
    return aqi.hourly_indices(**{k: np.array([v]) for k, v in base.items()})


def test_o3_8h_above_800_switches_to_the_1h_index() -> None:
    # 8 h 801 is not indexed; 1 h 300 gives 150
    assert _hourly(o3=300.0, o3_8h=801.0)["o3"][0] == 150
    # below the switch the larger of the two counts: 8 h 180 → 119, 1 h 170 → 63
    assert _hourly(o3=170.0, o3_8h=180.0)["o3"][0] == 119
    # 8 h over 800 and no 1 h value: no O3 index at all, never a guess
    assert math.isnan(_hourly(o3_8h=900.0)["o3"][0])


def test_so2_1h_above_800_uses_the_24h_index() -> None:
    assert _hourly(so2=900.0, so2_24h=160.0)["so2"][0] == 102
    assert _hourly(so2=500.0, so2_24h=160.0)["so2"][0] == 100
    assert math.isnan(_hourly(so2=900.0)["so2"][0])


def test_aqi_primary_and_category() -> None:
    indices = {
        "pm25": np.array([100.0, 40.0, NAN, 82.0, 301.0]),
        "pm10": np.array([100.0, 50.0, NAN, 60.0, NAN]),
        "o3": np.array([30.0, 20.0, NAN, 119.0, 10.0]),
    }
    value, primary = aqi.combine(indices)
    assert value[:2].tolist() == [100.0, 50.0]
    assert math.isnan(value[2])  # nothing measured: no AQI
    assert value[3:].tolist() == [119.0, 301.0]  # a missing pollutant does not block the others
    # ties name every pollutant; at 50 or below there is no primary pollutant
    assert primary.tolist() == ["pm25,pm10", "", "", "o3", "pm25"]
    level, zh, en = aqi.category(value)
    assert zh.tolist() == ["良", "优", None, "轻度污染", "严重污染"]
    assert en.tolist()[0] == "Good"
    assert level.tolist() == ["II", "I", None, "III", "VI"]


@pytest.mark.parametrize(
    ("value", "zh"),
    [
        (0, "优"),
        (50, "优"),
        (51, "良"),
        (100, "良"),
        (101, "轻度污染"),
        (150, "轻度污染"),
        (151, "中度污染"),
        (200, "中度污染"),
        (201, "重度污染"),
        (300, "重度污染"),
        (301, "严重污染"),
        (500, "严重污染"),
    ],
)
def test_category_bounds(value: float, zh: str) -> None:
    assert aqi.category(np.array([float(value)]))[1][0] == zh


def test_daily_indices_use_24h_limits() -> None:
    got = aqi.daily_indices(
        pm25=np.array([90.0]),
        pm10=np.array([151.0]),
        no2=np.array([100.0]),
        so2=np.array([160.0]),
        co=np.array([5.0]),
        o3_1h_max=np.array([250.0]),
        o3_8h_max=np.array([180.0]),
    )
    assert {k: float(v[0]) for k, v in got.items()} == {
        "pm25": 119.0,
        "pm10": 101.0,
        "no2": 110.0,
        "so2": 102.0,
        "co": 105.0,
        "o3": 125.0,
    }
    value, primary = aqi.combine(got)
    assert value[0] == 125.0 and primary[0] == "o3"
