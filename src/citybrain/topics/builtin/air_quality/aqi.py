"""The Air Quality Index of HJ 633-2012 (环境空气质量指数（AQI）技术规定（试行）), vectorised.

Every function takes and returns NumPy arrays: one element per station-hour or station-day. A
missing or invalid concentration is ``NaN`` and gives a ``NaN`` individual index (IAQI); an AQI is
the maximum of the indices that exist and ``NaN`` when none does — never a number made up.

Rules of the standard applied here (Table 1 and its notes, section 5):

- IAQI_P = (IAQI_Hi − IAQI_Lo) / (BP_Hi − BP_Lo) × (C_P − BP_Lo) + IAQI_Lo, rounded *up* to an
  integer (向上进位取整数).
- SO2, NO2 and CO 1-hour limits serve the hourly (实时) report only; the daily report uses 24-hour
  limits. A 1-hour SO2 above 800 µg/m³ is not indexed: the SO2 index is that of its 24-hour mean.
- An 8-hour O3 above 800 µg/m³ is not indexed: the O3 index is that of the 1-hour O3.
- PM2.5 and PM10 have 24-hour limits only; the hourly report applies them to the hour's mean.
- A concentration above the table's last breakpoint is given 500 (the top of the scale) and the
  caller flags it (``beyond_scale``).
- Primary pollutant(s): when AQI > 50, every pollutant whose IAQI equals the AQI.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]

IAQI_LEVELS: Final = np.array([0, 50, 100, 150, 200, 300, 400, 500], dtype=np.float64)

#: breakpoints (µg/m³; CO mg/m³) per index, Table 1 of HJ 633-2012
BREAKPOINTS: Final[dict[str, tuple[float, ...]]] = {
    "so2_24h": (0, 50, 150, 475, 800, 1600, 2100, 2620),
    "so2_1h": (0, 150, 500, 650, 800),
    "no2_24h": (0, 40, 80, 180, 280, 565, 750, 940),
    "no2_1h": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "pm10_24h": (0, 50, 150, 250, 350, 420, 500, 600),
    "co_24h": (0, 2, 4, 14, 24, 36, 48, 60),
    "co_1h": (0, 5, 10, 35, 60, 90, 120, 150),
    "o3_1h": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "o3_8h": (0, 100, 160, 215, 265, 800),
    "pm25_24h": (0, 35, 75, 115, 150, 250, 350, 500),
}

#: the pollutants an AQI can name as primary, with their display names
POLLUTANT_NAMES: Final[dict[str, tuple[str, str]]] = {
    "pm25": ("细颗粒物(PM2.5)", "PM2.5"),
    "pm10": ("可吸入颗粒物(PM10)", "PM10"),
    "o3": ("臭氧(O3)", "O3"),
    "no2": ("二氧化氮(NO2)", "NO2"),
    "so2": ("二氧化硫(SO2)", "SO2"),
    "co": ("一氧化碳(CO)", "CO"),
}

#: AQI categories (Table 2): upper AQI bound, level, zh, en
CATEGORIES: Final[tuple[tuple[int, str, str, str], ...]] = (
    (50, "I", "优", "Excellent"),
    (100, "II", "良", "Good"),
    (150, "III", "轻度污染", "Lightly polluted"),
    (200, "IV", "中度污染", "Moderately polluted"),
    (300, "V", "重度污染", "Heavily polluted"),
    (10**9, "VI", "严重污染", "Severely polluted"),
)


def iaqi(kind: str, concentration: Floats | list[float]) -> Floats:
    """Individual index for one breakpoint table (``"pm25_24h"``, ``"o3_8h"`` …), rounded up.

    Negative or NaN concentrations give NaN; beyond the last breakpoint gives 500 only for tables
    that reach IAQI 500 (SO2 1 h and O3 8 h stop earlier: NaN, the caller switches table).
    """
    bp = np.asarray(BREAKPOINTS[kind], dtype=np.float64)
    c = np.asarray(concentration, dtype=np.float64)
    out = np.full(c.shape, np.nan)
    valid = np.isfinite(c) & (c >= 0)
    top = len(bp) - 1
    within = valid & (c <= bp[-1])
    # the segment [bp[i], bp[i+1]] holding c; a breakpoint belongs to the lower segment
    seg = np.clip(np.searchsorted(bp, c, side="left") - 1, 0, top - 1)
    lo, hi = bp[seg], bp[seg + 1]
    ilo, ihi = IAQI_LEVELS[seg], IAQI_LEVELS[seg + 1]
    with np.errstate(invalid="ignore"):
        raw = (ihi - ilo) / (hi - lo) * (c - lo) + ilo
    # round away float noise before rounding up: 50.000000001 is 50, not 51
    out[within] = np.ceil(np.round(raw[within], 6))
    if IAQI_LEVELS[top] == 500:
        out[valid & (c > bp[-1])] = 500.0
    return out


def beyond_scale(kind: str, concentration: Floats) -> NDArray[np.bool_]:
    """Whether a concentration lies above the table's last breakpoint."""
    c = np.asarray(concentration, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(c) & (c > BREAKPOINTS[kind][-1])


def _o3_index(o3_1h: Floats, o3_8h: Floats) -> Floats:
    """The O3 index: the larger of the 1-hour and 8-hour indices; 8 h above 800 uses 1 h only."""
    one = iaqi("o3_1h", o3_1h)
    eight = iaqi("o3_8h", o3_8h)
    with np.errstate(invalid="ignore"):
        switched = np.asarray(o3_8h, dtype=np.float64) > BREAKPOINTS["o3_8h"][-1]
    eight = np.where(switched, np.nan, eight)
    return np.fmax(one, eight)


def hourly_indices(
    *,
    pm25: Floats,
    pm10: Floats,
    no2: Floats,
    so2: Floats,
    co: Floats,
    o3: Floats,
    o3_8h: Floats,
    so2_24h: Floats,
) -> dict[str, Floats]:
    """IAQI of each pollutant for the hourly (实时) report.

    ``o3_8h`` is the 8-hour moving mean ending at the hour, ``so2_24h`` the 24-hour mean the SO2
    index falls back on when the hour's SO2 exceeds 800 µg/m³.
    """
    so2_one = iaqi("so2_1h", so2)
    with np.errstate(invalid="ignore"):
        over = np.asarray(so2, dtype=np.float64) > BREAKPOINTS["so2_1h"][-1]
    so2_index = np.where(over, iaqi("so2_24h", so2_24h), so2_one)
    return {
        "pm25": iaqi("pm25_24h", pm25),
        "pm10": iaqi("pm10_24h", pm10),
        "no2": iaqi("no2_1h", no2),
        "so2": so2_index,
        "co": iaqi("co_1h", co),
        "o3": _o3_index(o3, o3_8h),
    }


def daily_indices(
    *,
    pm25: Floats,
    pm10: Floats,
    no2: Floats,
    so2: Floats,
    co: Floats,
    o3_1h_max: Floats,
    o3_8h_max: Floats,
) -> dict[str, Floats]:
    """IAQI of each pollutant for the daily (日报) report: 24-hour means, O3 daily maxima."""
    return {
        "pm25": iaqi("pm25_24h", pm25),
        "pm10": iaqi("pm10_24h", pm10),
        "no2": iaqi("no2_24h", no2),
        "so2": iaqi("so2_24h", so2),
        "co": iaqi("co_24h", co),
        "o3": _o3_index(o3_1h_max, o3_8h_max),
    }


def combine(indices: dict[str, Floats]) -> tuple[Floats, NDArray[np.object_]]:
    """AQI (max of the indices present; NaN if none) and the primary pollutant(s) when AQI > 50.

    Primary pollutants are joined with ``,`` in the order of ``POLLUTANT_NAMES``; "" at AQI ≤ 50
    or without an AQI.
    """
    names = [name for name in POLLUTANT_NAMES if name in indices]
    stack = np.vstack([np.asarray(indices[name], dtype=np.float64) for name in names])
    present = np.isfinite(stack).any(axis=0)
    aqi = np.full(stack.shape[1], np.nan)
    aqi[present] = np.nanmax(stack[:, present], axis=0)
    primary = np.full(stack.shape[1], "", dtype=object)
    polluted = present & (aqi > 50)
    for i, name in enumerate(names):  # six pollutants, each vectorised over all rows
        hit = polluted & (stack[i] == aqi)
        primary[hit] = np.where(primary[hit] == "", name, primary[hit] + "," + name)
    return aqi, primary


def category(aqi: Floats) -> tuple[NDArray[np.object_], NDArray[np.object_], NDArray[np.object_]]:
    """Level (I–VI), zh and en category names of each AQI; None where there is no AQI."""
    values = np.asarray(aqi, dtype=np.float64)
    bounds = np.array([c[0] for c in CATEGORIES], dtype=np.float64)
    index = np.clip(np.searchsorted(bounds, values, side="left"), 0, len(bounds) - 1)
    present = np.isfinite(values)
    out = []
    for column in (1, 2, 3):
        labels = np.array([c[column] for c in CATEGORIES], dtype=object)
        picked = labels[index]
        picked[~present] = None
        out.append(picked)
    return out[0], out[1], out[2]
