"""From the panel to a warning score per firm and month, and the signals behind it.

Signals (each a robust z of a downward level shift against the firm's own history once its
industry's common movement is taken out, see `detect`): declared revenue, insured headcount, and
the premises' power and water use; plus court enforcement listings and administrative penalties
in the last six months. The evidence is a weighted sum of how far each z lies beyond its own
threshold; the score maps it to [0, 1].

Precursors count on their own, before revenue falls: months in the last three with a late tax
filing (after the 15th of the next month) and with social-security arrears (staff on the rolls, no
contribution base). One late filing or one month in arrears is what healthy firms do now and then
and counts for nothing; arrears that persist, or arrears and late filings together, are what
precedes distress.

A firm with fewer than ``min_history`` months of declarations up to a month gets no revenue test
that month; a firm founded fewer than ``min_history`` months before (or with no declaration that
month) is "insufficient history" and gets no score at all. A firm long in business whose
declarations only start with the lake is judged on its precursors until its revenue has history.
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
#: precursors of distress (months in the trailing window with a late tax filing, with
#: social-security arrears): weight each — they count on their own, before revenue falls
PRECURSOR_WEIGHTS: dict[str, float] = {"late": 0.5, "arrears": 0.8}
PRECURSOR_WINDOW = 3
#: precursor months (late filings and arrears together) in the window before they count at all
PRECURSOR_MIN_MONTHS = 2


@dataclass(frozen=True)
class Weights:
    series: dict[str, tuple[float, float, float]] = field(default_factory=lambda: dict(SERIES))
    events: dict[str, float] = field(default_factory=lambda: dict(EVENT_WEIGHTS))
    precursors: dict[str, float] = field(default_factory=lambda: dict(PRECURSOR_WEIGHTS))
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
    events: dict[str, FloatMatrix]  # events in the trailing window (precursors: theirs)
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
    age = _age_months(panel)
    established = (age >= min_history) & declared
    contributions: dict[str, FloatMatrix] = {}
    shifts: dict[str, detect.Shift] = {}
    lead_down = np.zeros((n_firms, n_months), bool)
    for name, (weight, cut, cap) in weights.series.items():
        series = transform(name, panel.values[name])
        if not np.isfinite(series).any():
            continue
        adjusted, _ = detect.peer_adjusted(series, industry)
        scale = detect.peer_scale(adjusted, industry, floor=0.05 if name == "insured" else 1e-3)
        if name == "insured":
            # headcounts move in whole people: a step of one is noise, whatever the peers show
            scale = np.maximum(scale, one_person_step(panel.values[name]))
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
    for name in contributions:
        contributions[name] = np.where(sufficient, contributions[name], 0.0)
    evidence = np.where(sufficient, evidence, 0.0)
    windows = {
        name: _trailing(np.nan_to_num(panel.values[name]) > 0, PRECURSOR_WINDOW)
        for name in weights.precursors
    }
    # one late filing or one month in arrears alone is what healthy firms do now and then
    repeated = sum(windows.values(), np.zeros((n_firms, n_months))) >= PRECURSOR_MIN_MONTHS
    for name, weight in weights.precursors.items():
        events[name] = windows[name]
        contributions[name] = np.where(established & repeated, weight * windows[name], 0.0)
        evidence = evidence + contributions[name]
    score = 1.0 - np.power(0.5, evidence / weights.half)
    scored = sufficient | established
    score = np.where(scored, score, np.nan)
    return Assessment(score, contributions, shifts, events, history, scored)


def one_person_step(headcount: FloatMatrix) -> NDArray[np.float64]:
    """Per firm, one person's step in the insured series' log scale (``log1p``) at the firm's
    median headcount — the least a headcount can move. An industry's scale comes mostly from its
    larger firms, where one person is a small share; a two-person firm going to one for a month
    is the same noise, not a fall to corroborate a dip in revenue with."""
    typical = np.zeros(headcount.shape[0])
    counted = np.where(headcount >= 0, headcount, np.nan)
    has = np.isfinite(counted).any(axis=1)
    if has.any():
        typical[has] = np.nanmedian(counted[has], axis=1)
    step: NDArray[np.float64] = np.log1p(typical + 1.0) - np.log1p(typical)
    return step


def _trailing(flags: NDArray[np.bool_], window: int) -> FloatMatrix:
    """Per firm and month: how many of the last ``window`` months (this one included) flag."""
    total = np.cumsum(flags, axis=1, dtype=np.float64)
    lagged = np.zeros_like(total)
    if total.shape[1] > window:
        lagged[:, window:] = total[:, :-window]
    out: FloatMatrix = total - lagged
    return out


def _age_months(panel: Panel) -> NDArray[np.float64]:
    """Months since the firm's founding at each panel month (−inf where the registry has no
    founding date: such a firm is judged on its declarations alone)."""
    if "founded" not in panel.firms.column_names:
        return np.full(panel.shape, -np.inf)
    founded = np.asarray(
        panel.firms.column("founded").to_numpy(zero_copy_only=False), dtype=np.float64
    )
    age = panel.months[None, :].astype(np.float64) - founded[:, None]
    out: NDArray[np.float64] = np.where(np.isfinite(age), age, -np.inf)
    return out
