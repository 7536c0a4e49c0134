"""Road traffic's kept per-day sums (tests ``parking_traffic/traffic.py``'s ``kept_sums``): what a
run stores as its state, what an incremental run makes of the kept days, and a run stopped after
storing them and run again does not store them twice; the table holds the latest run's only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from citybrain.core import Workspace
from citybrain.core.engine import Engine, open_engine
from citybrain.topics import TopicContext
from citybrain.topics.base import KeptState
from citybrain.topics.builtin.parking_traffic.segments import SpeedRules, road_segments, slot_sums
from citybrain.topics.builtin.parking_traffic.traffic import SUMS_TABLE, RoadTraffic, kept_sums
from topics.builtin.parking_traffic.test_traffic import ROADS, pings

pytestmark = pytest.mark.duckdb


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with open_engine("duckdb", tmp_path / "lake") as e:
        yield e


def _context(engine: Engine, root: Path, run_id: str, kept: KeptState | None) -> TopicContext:
    topic = RoadTraffic()
    return TopicContext(
        workspace=Workspace.init(root, exist_ok=True),
        engine=engine,
        run_id=run_id,
        params=topic.default_params(),
        model_version=topic.model_version,
        kept=kept,
    )


def test_the_sums_of_every_day_stored_once_per_run(engine: Engine, tmp_path: Path) -> None:
    segments = road_segments(ROADS)
    assert segments is not None
    sums, _ = slot_sums(engine, engine.register("p", pings()), segments, SpeedRules())
    days = sorted(sums["day"].unique())
    assert days == [f"2024-05-{6 + d:02d}" for d in range(5)]  # five days, 07-09 each

    first = kept_sums(_context(engine, tmp_path / "ws", "r1", None), sums)
    assert len(first) == len(sums)
    again = kept_sums(_context(engine, tmp_path / "ws", "r1", None), sums)  # the same run again
    assert len(again) == len(sums)
    stored = engine.table("topic", SUMS_TABLE)
    assert engine.count(stored) == len(sums)  # not twice

    # an incremental run recomputing the last day: its new sums of that day, the others kept
    last = date(2024, 5, 10)
    rows = stored.filter((stored.run_id == "r1") & (stored.day != last.isoformat()))
    kept = KeptState(frozenset({last}), rows.drop("run_id"))
    doubled = sums.assign(pings=sums["pings"] * 2)  # what "new" sums would say, every day
    merged = kept_sums(_context(engine, tmp_path / "ws", "r2", kept), doubled)
    on_last = merged["day"] == last.isoformat()
    new_last = doubled.loc[doubled["day"] == last.isoformat(), "pings"]
    assert merged.loc[on_last, "pings"].tolist() == new_last.tolist()  # the new sums of that day
    kept_days = merged.loc[~on_last].sort_values(["seg", "day", "hour"])
    original = sums.loc[sums["day"] != last.isoformat()].sort_values(["seg", "day", "hour"])
    assert kept_days["pings"].tolist() == original["pings"].tolist()  # the others as stored
    stored = engine.table("topic", SUMS_TABLE)
    assert engine.count(stored.filter(stored.run_id == "r2")) == engine.count(stored) == len(sums)
