"""Road-segment speed and congestion on hand-made pings (tests ``parking_traffic/segments.py`` and
``parking_traffic/traffic.py``): two crossing roads cut into four segments; a segment slow every
morning at 8 is one finding for that hour (not for the free hours, nor for the free road); pings
far from every road, standing and without a speed are left out and counted; the map's speed table
holds the newest day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from citybrain.core import Workspace
from citybrain.core.engine import Engine, open_engine
from citybrain.topics import ENTRY_POINT_GROUP, TopicContext, validate_findings
from citybrain.topics.builtin.parking_traffic.segments import (
    SpeedRules,
    recurring,
    road_segments,
    slot_speeds,
    snap_points,
)
from citybrain.topics.builtin.parking_traffic.traffic import SPEED_TABLE, RoadTraffic

pytestmark = pytest.mark.duckdb
DAY0 = datetime(2024, 5, 6)
ROADS = pd.DataFrame(
    {
        "road_id": [1, 2, 3],
        "name": ["天府大道", "锦城路", "坏路"],
        "geometry": [
            "LINESTRING(104.00 30.50, 104.00 30.52)",  # north-south
            "LINESTRING(103.99 30.51, 104.01 30.51)",  # east-west, crossing it at 30.51
            "not a line",
        ],
    }
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with open_engine("duckdb", tmp_path / "lake") as e:
        yield e


def pings() -> pa.Table:
    """Five days, hours 7-9: 天府大道 south of the crossing at 45 km/h, but at 12 km/h at 8 on
    the first four days; 锦城路 east at 40 km/h always; and pings far off every road, standing,
    and without a speed."""
    rng = np.random.default_rng(7)
    rows: list[tuple[str, datetime, float, float, float | None]] = []
    for d in range(5):
        for hour in (7, 8, 9):
            for k in range(5):
                t = DAY0 + timedelta(days=d, hours=hour, minutes=10 * k)
                slow = hour == 8 and d < 4
                lat = 30.502 + 0.001 * k
                jitter = float(rng.normal(0, 0.00003))
                rows.append((f"川A{k % 2}", t, 104.0 + jitter, lat, 12.0 if slow else 45.0))
                rows.append((f"川B{k % 2}", t, 104.002 + 0.001 * k, 30.51 + jitter, 40.0))
            t = DAY0 + timedelta(days=d, hours=hour)
            rows.append(("川C1", t, 104.005, 30.515, 30.0))  # 500 m from both roads
            rows.append(("川A9", t, 104.0, 30.503, 0.0))  # standing on the road
            rows.append(("川A9", t, 104.0, 30.503, None))  # no speed
    return pa.table(
        {
            "plate": [r[0] for r in rows],
            "ts": pa.array([r[1] for r in rows], pa.timestamp("us")),
            "lon": [r[2] for r in rows],
            "lat": [r[3] for r in rows],
            "speed": pa.array([r[4] for r in rows], pa.float64()),
        }
    )


def test_roads_cut_at_crossings_and_pings_snapped_within_reach() -> None:
    segments = road_segments(ROADS)
    assert segments is not None
    table = segments.table
    assert table["segment_id"].tolist() == ["1-1", "1-2", "2-1", "2-2"]  # the bad line left out
    assert np.allclose(table["length_m"], [1106, 1106, 958, 958], rtol=0.01)
    at = snap_points(
        segments,
        np.array([104.0001, 104.0, 104.005, 104.0049]),
        np.array([30.505, 30.518, 30.5101, 30.515]),
        30.0,
    )
    assert table["segment_id"].to_numpy()[at[:3]].tolist() == ["1-1", "1-2", "2-2"]
    assert at[3] == -1  # 500 m from every road: on none
    assert road_segments(ROADS.iloc[[2]]) is None


def test_slow_every_morning_is_one_finding_for_that_hour(engine: Engine, tmp_path: Path) -> None:
    (entry,) = entry_points(group=ENTRY_POINT_GROUP, name="road_traffic")  # not every topic
    assert entry.load() is RoadTraffic
    segments = road_segments(ROADS)
    assert segments is not None
    slots, counts = slot_speeds(engine, engine.register("p", pings()), segments, SpeedRules())
    assert counts == {"pings": 195, "moving": 165, "on_segments": 150}
    south = slots.loc[slots["segment_id"] == "1-1"]
    assert south["free_flow_kmh"].eq(45.0).all()
    jammed = south.loc[south["level"] == "congested"]
    assert sorted(jammed["slot"]) == [f"2024-05-0{6 + d} 08:00" for d in range(4)]
    assert jammed["congestion"].round(2).eq(0.73).all()
    assert (slots.loc[slots["segment_id"] == "2-2", "level"] == "free").all()

    # a table from before the segments' lines were stored: replaced, not a failed append
    old = pa.table({"segment_id": ["1-1"], "slot": ["2024-05-01 08:00"], "run_id": ["r0"]})
    engine.write(old, "topic", SPEED_TABLE, partition_by=["run_id"])
    topic = RoadTraffic()
    ctx = TopicContext(
        workspace=Workspace.init(tmp_path / "ws"),
        engine=engine,
        run_id="r1",
        params=topic.default_params(),
        model_version=topic.model_version,
        inputs={
            "std.vehicle_ping": engine.register("pings", pings()),
            "std.road": engine.register("roads", pa.Table.from_pandas(ROADS)),
        },
    )
    findings = validate_findings(topic.run(ctx)).to_pylist()
    assert [(f["subject_id"], f["period"], f["level"]) for f in findings] == [
        ("1-1", "工作日 08:00–09:00", "high")
    ]
    reason = findings[0]["reasons"][0]
    assert reason["text_zh"] == (
        "天府大道（路段1-1）工作日08:00–09:00常发拥堵：5个工作日中有4天车速约12公里/小时，"
        "畅通时约45公里/小时"
    )
    assert "on weekdays at 08:00–09:00" in reason["text_en"]
    assert "4 of 5 weekdays" in reason["text_en"]
    stored = engine.to_pandas(engine.table("topic", SPEED_TABLE))
    assert set(stored["slot"]) == {"2024-05-10 07:00", "2024-05-10 08:00", "2024-05-10 09:00"}
    assert set(stored["level"]) == {"free"}  # on the fifth day 8:00 flowed again
    assert set(stored["run_id"]) == {"r1"} and stored["geometry"].str.startswith("LINESTRING").all()
    assert {layer.source for layer in topic.map_layers()} == {SPEED_TABLE, None}


def test_weekdays_and_weekends_are_judged_apart() -> None:
    """Four weeks: a commute jam on every weekday at 8 and a weekend market's jam at 10. Counted
    over all days they would be 20 of 28 and 8 of 28 (the market under the 0.5 threshold)."""
    days = pd.date_range("2024-05-06", periods=28, freq="D")  # Monday 6 May to Sunday 2 June
    weekend = days.day_of_week >= 5
    rows = []
    for segment, hour, jammed in (("1-1", 8, ~weekend), ("2-2", 10, weekend)):
        for day, slow in zip(days.strftime("%Y-%m-%d"), jammed, strict=True):
            level = "congested" if slow else "free"
            rows.append((segment, "路", 104.0, 30.5, day, hour, level, 12.0, 45.0))
    slots = pd.DataFrame(rows, columns=["segment_id", "road_name", "lon", "lat", "day", "hour",
                                        "level", "speed_kmh", "free_flow_kmh"])  # fmt: skip
    found = recurring(slots, 3)
    got = found[["segment_id", "day_type", "hour", "days_congested", "days_observed", "share"]]
    assert got.to_records(index=False).tolist() == [
        ("1-1", "weekday", 8, 20, 20, 1.0),
        ("2-2", "weekend", 10, 8, 8, 1.0),
    ]
