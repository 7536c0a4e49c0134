"""Delays of major projects from their monthly progress reports, in NumPy over projects × months.

The plan is linear from the planned start over the project's duration; the duration is not
reported, so it is read back from the planned progress (elapsed months ÷ planned share). A delay
is a break: up to month d the project keeps to plan, from d on it progresses at a fraction ``slip``
of the planned rate. For every candidate d the slip is fitted over the whole report history and
the break that explains the reported progress best wins; it counts as a delay when it explains
the reports clearly better than the plan does (a likelihood-ratio test against the reports'
noise) and leaves the project at least ``min_days`` behind. Days late at the latest report are the
days the plan took to reach the fitted progress, subtracted from the days elapsed.

Robust to a wrong reading (a typo such as 4.5 for 45.0, a figure carried from another project):
the fit is a Huber M-estimate (iteratively reweighted least squares; residuals beyond
``HUBER_K`` × noise count linearly, not squared), and a break needs ``min_after`` reports from
its month on, so one reading alone — which a break at the latest month would always fit exactly
— never makes a delay. On reports with Gaussian noise only the fit is the least-squares one.

Loops run over candidate break months only, never over projects.

When the reports carry the schedule (进度计划: the current node's planned date and the schedule's
own expected date for it, the planned and actual dates of the last node reached, the planned
completion), :func:`schedule_lag` reads the delay from those dates instead, which carry no
reading noise: every node reached late and every node expected late is a point (date, days late
there) on the project's lag line, and the first report whose expected date departs from the
plan — after one that did not — is the point where the lag was zero. A line through those
points gives the lag at the latest report; past its planned completion an unfinished project
falls one more day behind per day. A project whose schedule has only one such point and no
visible departure (it slowed before its first report), or none at all while off plan (it
stopped short of its next node before its first report), keeps the progress fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

DAYS_PER_MONTH = 30.44
HUBER_K = 3.0  # residuals beyond this many noise widths count linearly
IRLS_STEPS = 4
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Delays:
    duration: FloatArray  # months, read back from the plan (NaN: cannot tell)
    delayed: NDArray[np.bool_]
    days_late: FloatArray  # at the latest report (0 when on plan)
    break_month: NDArray[np.int64]  # month index the delay began (-1: none)
    slip: FloatArray  # fitted share of the planned rate since the break
    gap: FloatArray  # planned minus fitted progress at the latest report (share)
    evidence: FloatArray  # likelihood-ratio statistic of the break against the plan


def read_duration(planned: FloatArray, elapsed: FloatArray) -> FloatArray:
    """Per project, the median of elapsed ÷ planned share over months inside the plan."""
    inside = (planned > 0.02) & (planned < 0.98) & (elapsed > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(inside, elapsed / planned, np.nan)
    out = np.full(planned.shape[0], np.nan)
    has = inside.any(axis=1)
    if has.any():
        out[has] = np.nanmedian(ratio[has], axis=1)
    return out


def find_delays(
    start: NDArray[np.int64],
    months: NDArray[np.int64],
    planned: FloatArray,
    actual: FloatArray,
    *,
    noise: float = 0.01,
    min_evidence: float = 16.0,
    min_days: float = 7.0,
    min_after: int = 2,
) -> Delays:
    """``planned`` and ``actual`` are projects × months shares (NaN where not reported)."""
    n, t = actual.shape
    elapsed = months[None, :].astype(np.float64) - start[:, None]
    duration = read_duration(planned, elapsed)
    dur = np.where(np.isfinite(duration), duration, np.inf)
    plan = np.clip(elapsed / dur[:, None], 0.0, 1.0)
    seen = np.isfinite(actual) & np.isfinite(planned)
    a = np.where(seen, actual, 0.0)
    k = HUBER_K * noise
    sse_plan = np.sum(np.where(seen, _huber(a - plan, k), 0.0), axis=1)
    best_sse = sse_plan.copy()
    best_d = np.full(n, -1, np.int64)
    best_slip = np.ones(n)
    first = int(min(months.min(), start.min())) if n and t else 0
    for d in range(first, int(months.max()) + 1 if t else 0):
        at_break = np.clip((d - start) / dur, 0.0, 1.0)[:, None]
        after = seen & (months[None, :] >= d)
        rise = np.where(after, plan - at_break, 0.0)
        got = np.where(after, a - at_break, 0.0)
        weight = after.astype(np.float64)
        slip = np.ones(n)
        for _ in range(IRLS_STEPS):  # Huber weights: 1 inside k, k / |residual| beyond
            denom = np.sum(weight * rise**2, axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                fit = np.clip(np.sum(weight * rise * got, axis=1) / denom, 0.0, 1.0)
            slip = np.where(denom > 0, fit, 1.0)
            residual = np.abs(got - rise * slip[:, None])
            with np.errstate(divide="ignore"):
                weight = np.where(after, np.minimum(1.0, k / residual), 0.0)
        fitted = np.where(after, at_break + rise * slip[:, None], plan)
        sse = np.sum(np.where(seen, _huber(a - fitted, k), 0.0), axis=1)
        better = (sse < best_sse) & (after.sum(axis=1) >= min_after)
        best_sse = np.where(better, sse, best_sse)
        best_d = np.where(better, d, best_d)
        best_slip = np.where(better, slip, best_slip)
    evidence = (sse_plan - best_sse) / noise**2
    last = _last_seen(seen)
    rows = np.arange(n)
    col = np.maximum(last, 0)
    at_break = np.clip((best_d - start) / dur, 0.0, 1.0)
    plan_last = plan[rows, col]
    fitted_last = np.where(best_d >= 0, at_break + (plan_last - at_break) * best_slip, plan_last)
    elapsed_last = elapsed[rows, col]
    with np.errstate(invalid="ignore"):  # 0 × inf: a plan whose duration cannot be read
        days = np.clip((elapsed_last - fitted_last * dur) * DAYS_PER_MONTH, 0.0, None)
    days = np.where(np.isfinite(days) & (last >= 0), days, 0.0)
    delayed = (best_d >= 0) & (evidence >= min_evidence) & (days >= min_days)
    return Delays(
        duration=duration,
        delayed=delayed,
        days_late=np.where(delayed, days, 0.0),
        break_month=np.where(delayed, best_d, -1),
        slip=np.where(delayed, best_slip, 1.0),
        gap=np.where(delayed, plan_last - fitted_last, 0.0),
        evidence=evidence,
    )


def _huber(residual: FloatArray, k: float) -> FloatArray:
    """Huber's loss, scaled as the square inside ``k``: r² there, 2k|r| − k² beyond."""
    r = np.abs(residual)
    out: FloatArray = np.where(r <= k, r**2, 2.0 * k * r - k**2)
    return out


def _last_seen(seen: NDArray[np.bool_]) -> NDArray[np.int64]:
    t = seen.shape[1]
    idx = np.where(seen, np.arange(t)[None, :], -1)
    out: NDArray[np.int64] = idx.max(axis=1) if t else np.full(seen.shape[0], -1, np.int64)
    return out


@dataclass(frozen=True)
class Schedule:
    """Per report (months as fractional month indexes; NaN where the report leaves it empty)."""

    row: NDArray[np.int64]  # the report's project (row of the board)
    month: FloatArray  # the report's month
    completion: FloatArray  # 计划竣工
    node_planned: FloatArray  # 节点计划完成日期
    node_expected: FloatArray  # 节点预计完成日期 (NaN: not expected to be reached)
    last_planned: FloatArray  # 上一节点计划完成日期
    last_done: FloatArray  # 上一节点实际完成日期


def schedule_lag(s: Schedule, n: int, tol: float = 1.0 / DAYS_PER_MONTH) -> Delays:
    """Per project, the months behind at its latest report read from the schedule's dates (NaN
    in ``days_late`` where the schedule cannot tell); ``delayed`` is left False for the caller.

    Vectorised over reports: sums per project by ``np.bincount``, no loop over projects.
    """
    r = s.row
    planned_ok = np.isfinite(s.node_planned)
    has = np.bincount(r, weights=planned_ok, minlength=n) > 0
    late_node = s.node_expected - s.node_planned
    reached_late = s.last_done - s.last_planned
    ahead = np.isfinite(late_node) & (late_node > tol)
    behind = np.isfinite(reached_late) & (reached_late > tol)
    # departure: the first report whose schedule is off plan (late, or no longer reachable)
    off = planned_ok & (ahead | ~np.isfinite(s.node_expected))
    on = planned_ok & np.isfinite(late_node) & (late_node <= tol)
    first_off = np.full(n, np.inf)
    np.minimum.at(first_off, r[off], s.month[off])
    first_on = np.full(n, np.inf)
    np.minimum.at(first_on, r[on], s.month[on])
    seen_start = np.isfinite(first_off) & (first_on < first_off)
    t = np.concatenate([s.node_expected[ahead], s.last_done[behind], first_off[seen_start]])
    lag = np.concatenate([late_node[ahead], reached_late[behind], np.zeros(seen_start.sum())])
    who = np.concatenate([r[ahead], r[behind], np.flatnonzero(seen_start)])
    k = np.bincount(who, minlength=n).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_mean = np.bincount(who, weights=t, minlength=n) / k
        lag_mean = np.bincount(who, weights=lag, minlength=n) / k
        dt = t - t_mean[who]
        var = np.bincount(who, weights=dt * dt, minlength=n)
        cov = np.bincount(who, weights=dt * (lag - lag_mean[who]), minlength=n)
        rate = np.where(var > 1e-6, cov / var, np.nan)
    now = np.full(n, -np.inf)
    np.maximum.at(now, r, s.month)
    completion = np.full(n, np.inf)
    np.minimum.at(completion, r[np.isfinite(s.completion)], s.completion[np.isfinite(s.completion)])
    until = np.minimum(now, completion)
    months = lag_mean + rate * (until - t_mean) + np.maximum(now - completion, 0.0)
    never_off = ~np.isfinite(first_off)
    months = np.where((k == 0) & never_off, 0.0, months)  # a schedule never off plan: on plan
    months = np.where(has, np.maximum(months, 0.0), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        start = t_mean - lag_mean / rate
    fitted = np.isfinite(months) & (k > 0)
    return Delays(
        duration=np.full(n, np.nan),
        delayed=np.zeros(n, bool),
        days_late=months * DAYS_PER_MONTH,
        break_month=np.where(fitted, np.floor(np.nan_to_num(start, nan=-1.0)), -1).astype(np.int64),
        slip=np.where(fitted, np.clip(1.0 - np.nan_to_num(rate, nan=0.0), 0.0, 1.0), 1.0),
        gap=np.zeros(n),
        evidence=np.full(n, np.inf),
    )


def with_schedule(
    fit: Delays,
    sched: Delays,
    duration: FloatArray,
    elapsed_last: FloatArray,
    min_days: float,
) -> Delays:
    """The progress fit, overridden by the schedule where the schedule can tell."""
    use = np.isfinite(sched.days_late)
    days = np.where(use, sched.days_late, fit.days_late)
    delayed = np.where(use, days >= min_days, fit.delayed)
    dur = np.where(use & np.isfinite(duration), duration, fit.duration)
    behind = days / DAYS_PER_MONTH
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.clip(np.minimum(elapsed_last, dur) - elapsed_last + behind, 0.0, None) / dur
    return Delays(
        duration=dur,
        delayed=delayed,
        days_late=np.where(delayed, days, 0.0),
        break_month=np.where(delayed, np.where(use, sched.break_month, fit.break_month), -1),
        slip=np.where(delayed, np.where(use, sched.slip, fit.slip), 1.0),
        gap=np.where(delayed, np.where(use, np.nan_to_num(gap), fit.gap), 0.0),
        evidence=np.where(use, sched.evidence, fit.evidence),
    )
