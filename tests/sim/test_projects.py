"""The major projects' schedule dates (进度计划) in the sim's progress reports: each date lies on
the project's true trajectory, so the detector reads the planted days late from them."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pyarrow as pa

from citybrain.sim.systems.projects import _dates, _schedule, reached_at
from citybrain.topics.builtin.major_projects.delays import Schedule, schedule_lag
from citybrain.topics.builtin.major_projects.topic import date_months, true_days_late


def _plans(n: int, months: int) -> pa.Table:
    rng = np.random.default_rng(5)
    start = rng.integers(-12, months - 3, n)
    duration = rng.integers(12, 36, n)
    delayed = rng.random(n) < 0.5
    dfrom = np.where(delayed, start + (duration * rng.uniform(0.1, 0.7, n)).astype(np.int64), -1)
    return pa.table(
        {
            "start_month": start,
            "duration": duration,
            "delayed": delayed,
            "delay_from_month": dfrom,
            "slip": np.where(delayed, rng.uniform(0.35, 0.8, n), 1.0),
        }
    )


def test_a_slowed_node_is_reached_at_the_slowed_pace_or_never() -> None:
    plan = pa.table(
        {"start_month": [0, 0], "duration": [20, 20], "delayed": [True, False],
         "delay_from_month": [10, -1], "slip": [0.5, 1.0]}
    )  # fmt: skip
    p = np.array([0, 0, 0, 1])
    got = reached_at(plan, p, np.array([0.25, 0.75, 1.0, 1.0]))
    # before the break on plan; 0.75 at 10 + 0.25 * 20 / 0.5; never 1.0 (stops at 0.75)
    assert got[:2].tolist() == [5.0, 20.0]
    assert np.isnan(got[2])
    assert got[3] == 20.0


def test_the_schedule_written_as_dates_gives_the_planted_days_late() -> None:
    months = 12
    plan = _plans(400, months)
    start, dur = plan["start_month"].to_numpy(), plan["duration"].to_numpy()
    dfrom, slip = plan["delay_from_month"].to_numpy(), plan["slip"].to_numpy()
    m = np.arange(months)
    elapsed = m[None, :] - start[:, None]
    planned = np.clip(elapsed / dur[:, None], 0, 1)
    late = plan["delayed"].to_numpy()[:, None] & (m[None, :] >= dfrom[:, None])
    before = np.clip((dfrom - start) / dur, 0, 1)[:, None]
    true_actual = np.where(late, before + (planned - before) * slip[:, None], planned)
    p_i, m_i = np.nonzero(elapsed >= -2)
    stage = np.minimum((true_actual[p_i, m_i] * 4 + 1e-9 + (elapsed[p_i, m_i] >= 0)).astype(int), 4)
    sched = _schedule(plan, stage, p_i, late[p_i, m_i])
    world = SimpleNamespace(month_starts=np.array(["2023-01-01"], "datetime64[D]"))
    first = 2023 * 12  # the month index of the world's first month

    def read(months_: np.ndarray) -> np.ndarray:  # written as text dates, read back
        text = _dates(world, months_)  # type: ignore[arg-type]
        return date_months(pa.compute.cast(text, pa.date32())) - first

    found = schedule_lag(
        Schedule(
            row=p_i,
            month=m_i.astype(np.float64),
            completion=read((start + dur)[p_i].astype(np.float64)),
            node_planned=read(sched["node_planned"]),
            node_expected=read(sched["node_expected"]),
            last_planned=read(sched["last_planned"]),
            last_done=read(sched["last_done"]),
        ),
        len(plan),
    )
    truth = true_days_late(plan, 0, months - 1)
    told = np.isfinite(found.days_late) & (np.bincount(p_i, minlength=len(plan)) > 0)
    assert told.mean() > 0.9  # the rest slowed before their first report: the progress fit
    assert np.abs(found.days_late[told] - truth[told]).max() <= 3.0
    assert ((found.days_late[told] > 1.0) == (truth[told] > 1.0)).all()
