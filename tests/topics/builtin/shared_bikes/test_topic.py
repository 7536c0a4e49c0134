"""The shared-bike topic: counting per zone on hand-made positions (rectangles, another shape, an
unreadable fence, repeated and broken reports), and end to end on the tiny city against its truth
(tests ``topics/builtin/shared_bikes/{counts,topic,evaluate}.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import ibis.expr.types as ir
import pyarrow as pa
import pytest

from citybrain.core import Workspace
from citybrain.core.catalog import Catalog
from citybrain.core.engine import Engine, open_engine
from citybrain.topics import TopicContext, discover_topics, validate_findings
from citybrain.topics.builtin.shared_bikes import SharedBikes
from citybrain.topics.runner import latest_findings, run_topic
from topics.builtin.conftest import std_workspace

pytestmark = pytest.mark.duckdb

SYSTEMS = ("bike_meituan", "bike_hellobike", "bike_qingju", "bike_parking_zones")
T0 = datetime(2023, 3, 14, 8, 0)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with open_engine("duckdb", tmp_path / "lake") as e:
        yield e


def _context(
    workspace: Workspace, engine: Engine, inputs: dict[str, ir.Table] | None = None
) -> TopicContext:
    topic = SharedBikes()
    return TopicContext(
        workspace=workspace,
        engine=engine,
        run_id="test",
        params=topic.default_params(),
        model_version=topic.model_version,
        inputs=inputs,
    )


ZONES = pa.table(
    {
        "zone_id": ["Z1", "Z2", "Z3"],
        "name": ["地铁口", "三角区", "坏区"],
        "geometry": [
            "POLYGON((104.0 30.5,104.0004 30.5,104.0004 30.5002,104.0 30.5002,104.0 30.5))",
            "POLYGON((104.01 30.5,104.0104 30.5,104.01 30.5004,104.01 30.5))",  # a triangle
            "POLYGON((not a shape))",
        ],
        "quota": [3, 5, 4],
        "quota_meituan": [1, 2, 1],
        "quota_hellobike": [1, 2, 1],
        "quota_qingju": [1, 1, 2],
    }
)


def positions() -> pa.Table:
    rows: list[tuple[str, str | None, datetime, float, float]] = []
    for i in range(5):  # five bikes in Z1: over its capacity of 3
        rows.append(("meituan" if i < 3 else "qingju", f"B{i}", T0, 104.0001, 30.5001))
    rows.append(("meituan", "B0", T0 + timedelta(minutes=2), 104.0002, 30.5001))  # same bike again
    rows.append(("hellobike", "H1", T0, 104.0101, 30.5001))  # in the triangle
    rows.append(("hellobike", "H2", T0, 104.0103, 30.5003))  # in its box, outside the triangle
    rows.append(("hellobike", "H3", T0, 0.0, 0.0))  # a 0,0 fix
    rows.append(("hellobike", None, T0, 104.0001, 30.5001))  # no bike number
    rows.append(("qingju", "Q9", T0 + timedelta(hours=4), 104.0001, 30.5001))  # a later snapshot
    op, bike, ts, lon, lat = zip(*rows, strict=True)
    return pa.table(
        {
            "operator": list(op),
            "bike_id": list(bike),
            "ts": pa.array(list(ts), pa.timestamp("us")),
            "lon": list(lon),
            "lat": list(lat),
        }
    )


def test_counts_and_findings_on_hand_made_positions(engine: Engine, tmp_path: Path) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    inputs = {
        "std.bike_position": engine.register("pos", positions()),
        "std.bike_zone": engine.register("zones", ZONES),
    }
    ctx = _context(workspace, engine, inputs)
    from citybrain.topics.builtin.shared_bikes.topic import count_zones

    counted = count_zones(ctx)
    assert counted.zones.unreadable == ["Z3"]
    f = counted.frame.assign(at=counted.frame["snapshot"].dt.strftime("%H:%M"))
    got = {
        (z, at): (b, m, q)
        for z, at, b, m, q in f[["zone_id", "at", "bikes", "meituan", "qingju"]].itertuples(
            index=False, name=None
        )
    }
    assert got == {
        ("Z1", "08:00"): (5, 3, 2),
        ("Z2", "08:00"): (1, 0, 0),
        ("Z1", "12:00"): (1, 0, 1),
    }
    findings = validate_findings(SharedBikes().run(ctx))
    assert findings.column("subject_id").to_pylist() == ["Z1"]
    assert findings.column("period").to_pylist() == ["2023-03-14 08:00"]
    reasons = findings.column("reasons")[0].as_py()
    assert reasons[0]["signal"] == "over_capacity"
    assert (reasons[0]["observed"], reasons[0]["expected"]) == (5.0, 3.0)
    assert {r["signal"] for r in reasons} >= {"operator_meituan", "operator_qingju"}
    assert "容量3辆" in reasons[0]["text_zh"]


@pytest.fixture(scope="module")
def bikes_workspace(tiny_truth: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return std_workspace(tiny_truth.parent, SYSTEMS, tmp_path_factory.mktemp("bikes-ws"))


def test_registered() -> None:
    assert discover_topics()["shared_bikes"] is SharedBikes


def test_tiny_city_over_capacity_f1(bikes_workspace: Workspace, tiny_truth: Path) -> None:
    topic = SharedBikes()
    catalog = Catalog.open(bikes_workspace.ops_db_url)
    with bikes_workspace.engine() as engine:
        run = run_topic(topic, bikes_workspace, engine, catalog)
        findings = latest_findings(engine, topic.name)
        result = topic.evaluate(findings, tiny_truth, _context(bikes_workspace, engine))
    assert run.findings == findings.num_rows
    assert result.support > 0, "the tiny city over-parks some zone"
    assert result.f1 >= 0.95, result


def test_topic_run_by_hand_goes_in_chunks_of_days_over_a_large_input(
    bikes_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`citybrain topic run` makes a topic over time series as the pipeline's whole recompute
    does: over more than `CHUNK_ROWS` reports in chunks of days (a city's history is never
    sorted at once), with the same findings as at once."""
    from typer.testing import CliRunner

    from citybrain.cli.main import app
    from citybrain.pipeline import topic_increment
    from pipeline.tinycity import checksum

    def run_by_hand() -> tuple[int, str]:
        args = ["-w", str(bikes_workspace.root), "topic", "run", "shared_bikes"]
        result = CliRunner().invoke(app, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        with bikes_workspace.engine() as engine:
            return checksum(latest_findings(engine, SharedBikes.name))

    at_once = run_by_hand()
    with bikes_workspace.engine() as engine:
        reports = engine.count(engine.table("std", "bike_position"))
    monkeypatch.setattr(topic_increment, "CHUNK_ROWS", reports // 4)
    seen: list[int] = []
    chunks = topic_increment.day_chunks
    monkeypatch.setattr(
        topic_increment, "day_chunks", lambda *a, **k: seen.append(len(c := chunks(*a, **k))) or c
    )
    assert run_by_hand() == at_once
    assert seen and seen[0] >= 4, seen
