"""`PeriodSpec`: what the built-in topics declare, and the days an increment reads, on both engines
(tests ``topics/base.py``'s declaration and ``pipeline/topic_increment.py``'s day arithmetic)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from citybrain.core.engine import Engine
from citybrain.pipeline.topic_increment import _days_of, on_days, periods_are_days
from citybrain.topics import discover_topics
from citybrain.topics.base import PeriodSpec
from citybrain.topics.builtin.muck_trucks import MuckTrucks
from citybrain.topics.builtin.muck_trucks.state import STATE_TABLE as MUCK_STATE
from citybrain.topics.builtin.parking_traffic.traffic import SUMS_TABLE, RoadTraffic
from citybrain.topics.builtin.shared_bikes import SharedBikes
from citybrain.topics.builtin.shared_bikes.rebalancing import BikeRebalancing, RebalancingParams
from citybrain.topics.builtin.shared_bikes.topic import SharedBikeParams


def test_the_bike_topics_declare_days_and_the_others_none() -> None:
    bikes = SharedBikes().period_spec(SharedBikeParams())
    assert bikes is not None and bikes.input == "std.bike_position" and bikes.neighbours == 0
    # a 7-minute snapshot can begin before midnight and end after it: the next day counts too
    assert SharedBikes().period_spec(SharedBikeParams(snapshot_minutes=7)).neighbours == 1
    moves = BikeRebalancing().period_spec(RebalancingParams())
    assert moves is not None and moves.latest_only
    assert not BikeRebalancing().period_spec(RebalancingParams(latest_only=False)).latest_only
    # findings over all days, made from per-day sums it keeps
    roads = RoadTraffic().period_spec(RoadTraffic().default_params())
    assert roads is not None and roads.input == "std.vehicle_ping" and roads.state == SUMS_TABLE
    # per shift day (a night shift spans two calendar days), no_permit per month: kept rows
    muck = MuckTrucks().period_spec(MuckTrucks().default_params())
    assert muck is not None and muck.neighbours == 1 and muck.state == MUCK_STATE
    # no declaration: recomputed whole
    others = {
        name: cls().period_spec(cls().default_params())
        for name, cls in discover_topics().items()
        if name not in ("shared_bikes", "bike_rebalancing", "road_traffic", "muck_trucks")
    }
    assert all(spec is None for spec in others.values()), others


def test_a_changed_declaration_reads_apart() -> None:
    one = PeriodSpec("std.bike_position", "ts")
    assert one.describe() == PeriodSpec("std.bike_position", "ts").describe()
    assert one.describe() != PeriodSpec("std.bike_position", "ts", neighbours=1).describe()
    assert one.describe() != PeriodSpec("std.bike_position", "ts", latest_only=True).describe()
    assert one.describe() != PeriodSpec("std.bike_position", "ts", state="sums").describe()


def test_periods_that_name_a_day() -> None:
    def findings(*periods: str) -> pa.Table:
        return pa.table({"period": pa.array(periods, pa.string())})

    assert periods_are_days(findings("2023-03-14", "2023-03-14 08:15"))
    assert not periods_are_days(findings("2023-03-14", "工作日 08:00–09:00"))
    assert not periods_are_days(findings("2023-03"))  # a month is no day


def test_the_days_of_new_parts_and_a_time_zone_left_to_a_full_run(tmp_path: Path) -> None:
    moments = [datetime(2023, 3, 13, 23, 59, 59), datetime(2023, 3, 15, 0, 0), None]
    pq.write_table(pa.table({"ts": pa.array(moments, pa.timestamp("us"))}), tmp_path / "a.parquet")
    utc = pa.array(moments, pa.timestamp("us", tz="UTC"))  # as Spark writes them
    pq.write_table(pa.table({"ts": utc}), tmp_path / "b.parquet")
    shanghai = pa.array(moments, pa.timestamp("us", tz="Asia/Shanghai"))
    pq.write_table(pa.table({"ts": shanghai}), tmp_path / "c.parquet")
    days = [date(2023, 3, 13), date(2023, 3, 15)]
    assert _days_of(tmp_path, ["a.parquet", "b.parquet"], "ts") == days
    assert _days_of(tmp_path, ["c.parquet"], "ts") is None  # which day? the engines may differ
    assert _days_of(tmp_path, ["a.parquet"], "no_such_column") is None


@pytest.mark.parametrize("kind", ["timestamp", "date"])
def test_rows_on_the_days_and_none_beside(engine: Engine, kind: str) -> None:
    start = datetime(2023, 3, 10)
    moments = [start + timedelta(hours=6 * i) for i in range(40)]  # ten days, four a day
    moments += [datetime(2023, 3, 12, 23, 59, 59, 999_999), datetime(2023, 3, 14)]
    values = pa.array(moments, pa.timestamp("us"))
    if kind == "date":
        values = pa.array([m.date() for m in moments], pa.date32())
    table = engine.register("series", pa.table({"ts": values}))
    wanted = {date(2023, 3, 11), date(2023, 3, 12), date(2023, 3, 16)}  # two ranges
    got = engine.to_arrow(table.filter(on_days(table, "ts", wanted)))["ts"].to_pylist()
    as_days = [g.date() if isinstance(g, datetime) else g for g in got]
    expected = [m.date() for m in moments if m.date() in wanted]
    assert sorted(as_days) == sorted(expected)
    assert engine.count(table.filter(on_days(table, "ts", []))) == 0
