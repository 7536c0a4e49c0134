"""The parking topic on hand-made occupancy: an office lot that fills every workday morning is
forecast to fill before it does (beating "same as now" in MAE), a lot about to be full is a
finding, broken readings are counted (tests ``topics/builtin/parking_traffic/``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from citybrain.core import Workspace
from citybrain.core.engine import Engine, open_engine
from citybrain.topics import TopicContext, discover_topics, validate_findings
from citybrain.topics.builtin.parking_traffic import ParkingTraffic
from citybrain.topics.builtin.parking_traffic.topic import ParkingEvaluation

pytestmark = pytest.mark.duckdb
START = datetime(2023, 3, 6)  # a Monday


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with open_engine("duckdb", tmp_path / "lake") as e:
        yield e


def occupancy(days: int = 21, end_hour: int = 8) -> pa.Table:
    """Two lots, every 15 minutes: an office lot (200 places) full 9:00-18:00 on workdays, a
    home lot (100) half full by day; the series ends at ``end_hour`` of the last day."""
    rng = np.random.default_rng(4)
    stamps = [START + timedelta(minutes=15 * i) for i in range(days * 96)]
    stamps = [t for t in stamps if t < START + timedelta(days=days - 1, hours=end_hour + 1)]
    rows: list[tuple[str | None, str, int, int, datetime]] = []
    for t in stamps:
        work = t.weekday() < 5 and 9 <= t.hour < 18
        office = 0.97 if work else 0.15
        home = 0.5 if 8 <= t.hour < 19 else 0.9
        for lot, cap, occ in (("P1", 200, office), ("P2", 100, home)):
            used = int(np.clip(round(cap * occ * rng.uniform(0.98, 1.02)), 0, cap))
            rows.append((lot, f"{lot}停车场", cap, cap - used, t))
    rows += [
        ("P1", "P1停车场", 0, 5, START),
        ("P2", "P2停车场", 100, 120, START),
        (None, "x", 1, 1, START),
    ]
    return pa.table(
        {
            "lot_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "capacity": pa.array([r[2] for r in rows], pa.int64()),
            "free": pa.array([r[3] for r in rows], pa.int64()),
            "updated_at": pa.array([r[4] for r in rows], pa.timestamp("us")),
        }
    )


def context(engine: Engine, tmp_path: Path, table: pa.Table) -> TopicContext:
    topic = ParkingTraffic()
    return TopicContext(
        workspace=Workspace.init(tmp_path / "ws"),
        engine=engine,
        run_id="t",
        params=topic.default_params(),
        model_version=topic.model_version,
        inputs={"std.parking_occupancy": engine.register("occ", table)},
    )


def test_registered() -> None:
    assert discover_topics()["parking_traffic"] is ParkingTraffic


def test_forecast_beats_same_as_now(engine: Engine, tmp_path: Path) -> None:
    ctx = context(engine, tmp_path, occupancy())
    result = ParkingTraffic().evaluate(ParkingTraffic().run(ctx), tmp_path, ctx)
    assert isinstance(result, ParkingEvaluation)
    assert result.beats_baseline and result.mae < 0.7 * result.baseline_mae
    assert result.recall > result.baselines["same_as_now"]["recall"]
    assert result.extra["readings_left_out"] == 3


def test_a_lot_about_to_fill_is_a_finding(engine: Engine, tmp_path: Path) -> None:
    ctx = context(engine, tmp_path, occupancy(days=19, end_hour=8))  # ends Friday 08:45
    findings = validate_findings(ParkingTraffic().run(ctx))
    assert findings.column("subject_id").to_pylist() == ["P1"]
    assert findings.column("period").to_pylist() == ["2023-03-24 09:00"]
    assert "即将满位" in findings.column("reasons")[0].as_py()[0]["text_zh"]
