"""From the panel to a warning score per firm and month, and the signals behind it.

Signals (each a robust z of a downward level shift against the firm's own history once its
industry's common movement is taken out, see `detect`): declared revenue, insured headcount, and
the premises' power and water use; plus court enforcement listings and administrative penalties
in the last six months. The evidence is a weighted sum of how far each z lies beyond its own
threshold; the score maps it to [0, 1]. A firm with fewer than ``min_history`` months of
declarations up to a month is "insufficient history" for that month and gets no score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from citybrain.topics.builtin.enterprise_warning import detect
from citybrain.topics.builtin.enterprise_warning.features import Panel

FloatMatrix = NDArray[np.float64]

#: the lead series: declared revenue — weight, and the z beyond which it counts
LEAD = "revenue"
#: corroborating series (counted only while revenue itself is down): weight, cut, cap
SERIES: dict[str, tuple[float, float, float]] = {
    "revenue": (1.0, 3.0, np.inf),
    "insured": (0.5, 2.0, 3.0),
    "power": (0.5, 2.0, 3.0),
    "water": (0.2, 2.5, 3.0),
}
EVENT_WEIGHTS: dict[str, float] = {"court": 1.0, "penalties": 0.5}
EVENT_WINDOW = 6


@dataclass(frozen=True)
class Weights:
    series: dict[str, tuple[float, float, float]] = field(default_factory=lambda: dict(SERIES))
    events: dict[str, float] = field(default_factory=lambda: dict(EVENT_WEIGHTS))
    #: revenue z below which the other signals corroborate
    corroborate_below: float = -2.0
    #: the most the corroborating signals may add together (revenue must carry the rest)
    corroboration_cap: float = 1.0
    #: evidence at which the score reaches 0.5
    half: float = 1.5


@dataclass(frozen=True)
class Assessment:
    """Per firm × month: the score (NaN: insufficient history), each signal's contribution,
    the shift behind each series signal, and per firm the months of history."""

    score: FloatMatrix
    contributions: dict[str, FloatMatrix]
    shifts: dict[str, detect.Shift]
    events: dict[str, FloatMatrix]  # events in the trailing window
    history: NDArray[np.int64]  # months of declarations up to each month (firms × months)
    sufficient: NDArray[np.bool_]


def transform(name: str, values: FloatMatrix) -> FloatMatrix:
    """Log scale for the amounts (a fall by a share is the same swing for large and small firms)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "insured":
            return np.log1p(np.where(values >= 0, values, np.nan))
        return np.log(np.where(values > 0, values, np.nan))


def _shift_of(
    adjusted: FloatMatrix, scale: NDArray[np.float64], rows: NDArray[np.bool_]
) -> detect.Shift:
    """`detect.level_shift` for the firms in ``rows``; the others get no shift."""
    n_firms, n_months = adjusted.shape
    z = np.full((n_firms, n_months), np.nan)
    drop = np.full((n_firms, n_months), np.nan)
    since = np.full((n_firms, n_months), -1, np.int64)
    if rows.any():
        part = detect.level_shift(adjusted[rows], scale[rows])
        z[rows], drop[rows], since[rows] = part.z, part.drop, part.since
    return detect.Shift(z, drop, since)


def assess(
    panel: Panel,
    industry: NDArray[np.int64],
    *,
    min_history: int = 4,
    weights: Weights | None = None,
) -> Assessment:
    weights = weights or Weights()
    n_firms, n_months = panel.shape
    declared = np.isfinite(panel.values["revenue"])
    history = np.cumsum(declared, axis=1)
    sufficient = (history >= min_history) & declared
    contributions: dict[str, FloatMatrix] = {}
    shifts: dict[str, detect.Shift] = {}
    lead_down = np.zeros((n_firms, n_months), bool)
    for name, (weight, cut, cap) in weights.series.items():
        series = transform(name, panel.values[name])
        if not np.isfinite(series).any():
            continue
        adjusted, _ = detect.peer_adjusted(series, industry)
        # headcounts move in whole people: a step of one is noise, whatever the peers show
        scale = detect.peer_scale(adjusted, industry, floor=0.05 if name == "insured" else 1e-3)
        if name == LEAD:
            shift = detect.level_shift(adjusted, scale)
        else:
            # a corroborating series only counts where revenue is down: test only those firms
            shift = _shift_of(adjusted, scale, np.asarray(lead_down.any(axis=1), dtype=bool))
        z = np.nan_to_num(shift.z, nan=0.0)
        if name == LEAD:
            lead_down = z < weights.corroborate_below
        part = weight * np.clip(-z - cut, 0.0, cap)
        if name != LEAD:
            part = np.where(lead_down, part, 0.0)
        shifts[name] = shift
        contributions[name] = part
    events: dict[str, FloatMatrix] = {}
    for name, weight in weights.events.items():
        counts = np.nan_to_num(panel.values[name])
        total = np.cumsum(counts, axis=1)
        lagged = np.zeros_like(total)
        if n_months > EVENT_WINDOW:
            lagged[:, EVENT_WINDOW:] = total[:, :-EVENT_WINDOW]
        window = total - lagged
        events[name] = window
        part = np.where(lead_down, weight * np.minimum(window, 2.0), 0.0)
        contributions[name] = part
    # the corroborating signals share at most ``corroboration_cap``, in proportion
    others = [name for name in contributions if name != LEAD]
    support = sum((contributions[name] for name in others), np.zeros((n_firms, n_months)))
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(support > weights.corroboration_cap,
                          weights.corroboration_cap / support, 1.0)  # fmt: skip
    for name in others:
        contributions[name] = contributions[name] * shrink
    evidence = contributions.get(LEAD, np.zeros((n_firms, n_months))) + support * shrink
    score = 1.0 - np.power(0.5, evidence / weights.half)
    score = np.where(sufficient, score, np.nan)
    for name in contributions:
        contributions[name] = np.where(sufficient, contributions[name], 0.0)
    return Assessment(score, contributions, shifts, events, history, sufficient)
