"""Swings in an enterprise's monthly series, in NumPy over the whole firms × months panel.

Every series is first set against its industry peers: the peers' median month-on-month change
(per industry and month) is the common movement — the season of a caterer, a slow month for the
whole trade — and is taken out, so that a seasonal firm moving with its trade shows no swing. What
is left is tested for a downward level shift: at each month, the best split of the firm's history
so far into "before" and "after" (a single change point with an L2 cost, as ``ruptures`` finds it
with ``Binseg(model="l2")``) and the robust z-score of the drop (its scale the peers' median
absolute deviation, normal-consistent). Each month uses only that month and the
ones before it, so a warning's month is when it could have been raised.

Python loops run over months and industries only, never over firms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatMatrix = NDArray[np.float64]


@dataclass(frozen=True)
class Shift:
    """Per firm and month: the drop's robust z (negative: down), its size and where it began."""

    z: FloatMatrix  # NaN where the history is too short to test
    drop: FloatMatrix  # mean after minus mean before (log units for logged series)
    since: NDArray[np.int64]  # month index where the "after" segment starts (-1: none)


def peer_adjusted(
    values: FloatMatrix, industry: NDArray[np.int64], *, min_peers: int = 5
) -> tuple[FloatMatrix, FloatMatrix]:
    """The series minus its industry's cumulative median change, and the peer movement itself.

    ``values`` is firms × months (NaN where absent); an industry with fewer than ``min_peers``
    firms reporting in a month takes the median of all firms that month.
    """
    n_firms, n_months = values.shape
    step = np.full((n_firms, n_months), np.nan)
    if n_months > 1:
        step[:, 1:] = values[:, 1:] - values[:, :-1]
    overall = _nanmedian_columns(step, np.ones(n_firms, bool))
    movement = np.zeros((n_firms, n_months))
    for code in np.unique(industry):
        rows = industry == code
        median = _nanmedian_columns(step, rows)
        count = np.isfinite(step[rows]).sum(axis=0)
        median = np.where(count >= min_peers, median, overall)
        movement[rows] = np.cumsum(np.nan_to_num(median), axis=0)[None, :]
    return values - movement, movement


def _nanmedian_columns(matrix: FloatMatrix, rows: NDArray[np.bool_]) -> NDArray[np.float64]:
    part = matrix[rows]
    out = np.zeros(matrix.shape[1])
    has = np.isfinite(part).any(axis=0)
    if has.any():
        out[has] = np.nanmedian(part[:, has], axis=0)
    return out


def peer_scale(
    adjusted: FloatMatrix, industry: NDArray[np.int64], *, floor: float = 1e-3
) -> NDArray[np.float64]:
    """Per firm, the robust month-to-month noise of its industry's adjusted series (one step's
    spread over √2, as MAD), at least ``floor``."""
    step = np.diff(adjusted, axis=1) if adjusted.shape[1] > 1 else adjusted[:, :0]
    overall = _mad_of(step.ravel())
    out = np.full(adjusted.shape[0], overall)
    for code in np.unique(industry):
        rows = industry == code
        values = step[rows].ravel()
        if np.isfinite(values).sum() >= 20:
            out[rows] = _mad_of(values)
    scaled: NDArray[np.float64] = np.maximum(out / np.sqrt(2.0), floor)
    return scaled


def _mad_of(values: NDArray[np.float64]) -> float:
    values = values[np.isfinite(values)]
    if values.size < 2:
        return 1.0
    # the normal-consistent MAD (as scipy.stats.median_abs_deviation(scale="normal") gives; that
    # module costs seconds to import on every CLI start, the two medians do not)
    centre = np.median(values)
    return float(np.median(np.abs(values - centre)) / 0.6744897501960817)


def level_shift(
    series: FloatMatrix,
    scale: NDArray[np.float64],
    *,
    min_before: int = 2,
    min_after: int = 1,
    window: int | None = 12,
) -> Shift:
    """Per firm and month t, the most significant downward shift in months [0, t].

    A split at k compares the mean of the present months before k (at least ``min_before``) with
    those from k to t (at least ``min_after``); the split with the lowest z wins. Splits are
    looked for in the last ``window`` months (None: the whole history) — an older fall was
    warned when it happened. Months where the firm reports nothing keep NaN.
    """
    n_firms, n_months = series.shape
    present = np.isfinite(series)
    # float32 halves the memory traffic of the split scan; z and drop need no more precision
    totals = np.zeros((n_firms, n_months + 1), np.float32)
    counts = np.zeros((n_firms, n_months + 1), np.float32)
    totals[:, 1:] = np.cumsum(np.where(present, series, 0.0), axis=1)
    counts[:, 1:] = np.cumsum(present, axis=1)
    z = np.full((n_firms, n_months), np.nan)
    drop = np.full((n_firms, n_months), np.nan)
    since = np.full((n_firms, n_months), -1, np.int64)
    rows = np.arange(n_firms)
    inverse_scale = (1.0 / scale).astype(np.float32)[:, None]
    for t in range(1, n_months):
        k = np.arange(1 if window is None else max(1, t + 1 - window), t + 1)
        n_before = counts[:, k]
        n_after = counts[:, t + 1, None] - n_before
        valid = (n_before >= min_before) & (n_after >= min_after) & present[:, t, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_before = totals[:, k] / n_before
            diff = totals[:, t + 1, None] - totals[:, k]
            diff /= n_after
            diff -= mean_before
            np.reciprocal(n_after, out=n_after)
            np.reciprocal(n_before, out=n_before)
            n_after += n_before
            np.sqrt(n_after, out=n_after)
            stat = diff / n_after
            stat *= inverse_scale
        stat[~valid] = np.inf
        best = np.argmin(stat, axis=1)
        value = stat[rows, best]
        found = np.isfinite(value)
        z[found, t] = value[found]
        drop[found, t] = diff[rows, best][found]
        since[found, t] = k[best][found]
    return Shift(z, drop, since)
