"""Faulty sensors and pollution episodes, told apart, from the station × hour grid.

Every station is compared hour by hour with the median of its nearest stations (its neighbours),
pollutant by pollutant, as a log ratio smoothed over a few hours. Then:

- a **fault** is the instrument, not the air: impossible or negative readings, a value stuck hour
  after hour (flat at zero included), or *every* pollutant shifted together against the
  neighbours for a day or more (drift: one sensor's whole response moving);
- a **pollution episode** is one or two pollutants far above the neighbours while the station's
  other pollutants agree with them, for a few hours, at a station not in a fault then.

Segments are found on whole arrays (no loop over hours or rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from citybrain.topics.builtin.air_quality.series import POLLUTANTS, Grid, rolling_mean

#: a level below which ratios mean nothing (µg/m³; CO mg/m³)
FLOOR: Final[dict[str, float]] = {
    "pm25": 5.0,
    "pm10": 8.0,
    "no2": 5.0,
    "so2": 3.0,
    "o3": 10.0,
    "co": 0.2,
}
#: what the dominant pollutant of an episode says about its source
SOURCE_OF: Final[dict[str, str]] = {
    "pm10": "construction_dust",
    "pm25": "construction_dust",
    "so2": "industrial",
    "no2": "traffic",
    "co": "traffic",
    "o3": "photochemical",
}


@dataclass(frozen=True)
class DetectParams:
    excess: float = float(np.log(1.3))  # smoothed log ratio that marks a pollutant as raised
    drift: float = float(np.log(1.3))  # median log ratio over pollutants that marks a shift
    smooth_hours: int = 4
    neighbours: int = 8
    episode_min_hours: int = 3
    episode_gap_hours: int = 2
    drift_min_hours: int = 24
    fault_gap_hours: int = 6
    fault_min_hours: int = 3


def neighbour_index(
    lon: NDArray[np.float64], lat: NDArray[np.float64], k: int
) -> NDArray[np.int64]:
    """For each station the indices of its ``k`` nearest others (all others when fewer)."""
    n = len(lon)
    k = max(1, min(k, n - 1))
    if n < 2:
        return np.zeros((n, 0), dtype=np.int64)
    known = np.isfinite(lon) & np.isfinite(lat)
    d = np.hypot(lon[:, None] - lon[None, :], (lat[:, None] - lat[None, :]))
    d[~known, :] = 0.0  # a station without a place compares with everyone
    d[:, ~known] = 1e9
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1)[:, :k]


def log_ratios(
    grid: Grid, neighbours: NDArray[np.int64], smooth: int
) -> dict[str, NDArray[np.float64]]:
    """Per pollutant, smoothed log(station / median of its neighbours) over the grid."""
    out = {}
    for p in POLLUTANTS:
        v = grid.values[p]
        if neighbours.shape[1] == 0:
            out[p] = np.full(v.shape, np.nan)
            continue
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                med = np.nanmedian(v[:, neighbours], axis=2)
            z = np.log((v + FLOOR[p]) / (med + FLOOR[p]))
        out[p] = rolling_mean(z, smooth, max(1, smooth // 2))
    return out


def segments(flagged: NDArray[np.bool_], max_gap: int, min_hours: int) -> pd.DataFrame:
    """Runs of flagged hours per station (gaps up to ``max_gap`` bridged), at least ``min_hours``
    flagged: station index, first and last hour index, hours flagged, and each flagged cell's
    segment (``cells``: t, s, segment)."""
    s, t = np.nonzero(flagged.T)  # ordered by station, then hour
    if len(t) == 0:
        return pd.DataFrame(columns=["station", "t0", "t1", "hours", "segment"])
    new = np.ones(len(t), dtype=bool)
    new[1:] = (s[1:] != s[:-1]) | (t[1:] - t[:-1] > max_gap + 1)
    seg = np.cumsum(new) - 1
    starts = np.nonzero(new)[0]
    frame = pd.DataFrame(
        {
            "station": s[starts],
            "t0": t[starts],
            "t1": np.maximum.reduceat(t, starts),
            "hours": np.bincount(seg),
            "segment": np.arange(len(starts)),
        }
    )
    keep = frame["hours"].to_numpy() >= min_hours
    frame = frame.loc[keep].reset_index(drop=True)
    frame.attrs["cells"] = (t, s, seg, keep)
    return frame


def _segment_means(frame: pd.DataFrame, values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mean of ``values`` over each kept segment's flagged cells (NaN-aware)."""
    t, s, seg, keep = frame.attrs["cells"]
    v = values[t, s]
    ok = np.isfinite(v)
    total = np.bincount(seg[ok], weights=v[ok], minlength=len(keep))
    count = np.bincount(seg[ok], minlength=len(keep))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    result: NDArray[np.float64] = mean[keep]
    return result


def fault_hours(
    grid: Grid, z: dict[str, NDArray[np.float64]], params: DetectParams
) -> dict[str, NDArray[np.bool_]]:
    """Per fault kind, the station-hours it covers."""
    impossible = np.zeros(grid.shape, dtype=bool)
    stuck = np.zeros(grid.shape, dtype=bool)
    for p in POLLUTANTS:
        impossible |= (grid.absurd[p] > 0) | (grid.negative[p] > 0)
        stuck |= grid.stuck[p]
    stack = np.stack([z[p] for p in POLLUTANTS])
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(stack, axis=0)
            present = np.isfinite(stack).sum(axis=0)
    shifted = (np.abs(np.nan_to_num(median)) > params.drift) & (present >= 4)
    long_shift = segments(shifted, 3, params.drift_min_hours)
    drift = np.zeros(grid.shape, dtype=bool)
    bounds = long_shift[["t0", "t1", "station"]].to_numpy(dtype=np.int64)
    for t0, t1, station in bounds:  # few segments, each a slice
        drift[t0 : t1 + 1, station] = True
    return {"impossible": impossible, "stuck": stuck, "drift": drift}


def find_faults(kinds: dict[str, NDArray[np.bool_]], params: DetectParams) -> pd.DataFrame:
    """Fault segments per station with the kind that covers most of their hours."""
    any_fault = np.zeros_like(next(iter(kinds.values())))
    for mask in kinds.values():
        any_fault |= mask
    frame = segments(any_fault, params.fault_gap_hours, params.fault_min_hours)
    if frame.empty:
        return frame.assign(kind=pd.Series(dtype=object))
    counts = np.stack([_segment_means(frame, mask.astype(np.float64)) for mask in kinds.values()])
    frame["kind"] = np.array(list(kinds))[np.argmax(counts, axis=0)]
    return frame


def find_episodes(
    grid: Grid,
    z: dict[str, NDArray[np.float64]],
    fault: NDArray[np.bool_],
    params: DetectParams,
) -> pd.DataFrame:
    """Pollution episodes: a pollutant raised against the neighbours, the others not, no fault."""
    stack = np.stack([z[p] for p in POLLUTANTS])
    clean = np.nan_to_num(stack, nan=-np.inf)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(stack, axis=0)
    top = clean.max(axis=0)
    level = np.nan_to_num(median)
    # the raised pollutant must stand out from the station's own other pollutants too: when all
    # of them rise together (a drifting sensor starting), it is the instrument, not the air
    raised = (top > params.excess) & (top - level > params.excess) & (level <= params.drift)
    # a faulty station is kept out for the whole fault and a few hours around it
    guard = fault.copy()
    guard[3:] |= fault[:-3]
    guard[:-3] |= fault[3:]
    frame = segments(raised & ~guard, params.episode_gap_hours, params.episode_min_hours)
    if frame.empty:  # no episode: the same columns, so the findings code needs no special case
        numbers = [
            "excess",
            "concentration",
            "neighbour_level",
            *(f"excess_{p}" for p in POLLUTANTS),
        ]
        return frame.assign(
            pollutant=pd.Series(dtype=object),
            source_kind=pd.Series(dtype=object),
            **{name: pd.Series(dtype="float64") for name in numbers},
        )
    excess = np.stack([_segment_means(frame, np.nan_to_num(z[p], nan=0.0)) for p in POLLUTANTS])
    conc = np.stack([_segment_means(frame, grid.values[p]) for p in POLLUTANTS])
    top = np.argmax(excess, axis=0)
    frame["pollutant"] = np.array(POLLUTANTS)[top]
    frame["excess"] = excess[top, np.arange(len(frame))]
    frame["concentration"] = conc[top, np.arange(len(frame))]
    frame["neighbour_level"] = frame["concentration"] / np.exp(frame["excess"])
    frame["source_kind"] = frame["pollutant"].map(SOURCE_OF)
    for i, p in enumerate(POLLUTANTS):
        frame[f"excess_{p}"] = excess[i]
    return frame
