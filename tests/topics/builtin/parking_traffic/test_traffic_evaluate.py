"""road_traffic's evaluation (parking_traffic/traffic_evaluate.py): findings scored over
(segment, day type, hour) against the planted weekday jams, a segment matched by place; and the
sim's taxi feed (built alone on the tiny map) gives the topic's own speed and recurrence steps
every planted jam and nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from citybrain.core.engine import Engine, open_engine
from citybrain.core.errors import UserError
from citybrain.topics.builtin.parking_traffic.segments import (
    SpeedRules,
    recurring,
    road_segments,
    slot_speeds,
)
from citybrain.topics.builtin.parking_traffic.traffic_evaluate import (
    finding_hours,
    read_jams,
    score_jams,
)

JAMS = pd.DataFrame(
    {
        "segment_no": ["1-2", "1-2", "4-3"],
        "road_name": ["剑南大道", "剑南大道", "天府一街"],
        "lon": [104.0125, 104.0125, 104.03],
        "lat": [30.55, 30.55, 30.60],
        "hour": [8, 9, 17],
    }
)


def found(rows: list[tuple[str, float, float, int]], days: list[str] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["subject_id", "lon", "lat", "hour"])
    return frame if days is None else frame.assign(day_type=days)


def test_hits_misses_and_false_alarms_by_segment_and_hour() -> None:
    scores = score_jams(
        found(
            [
                ("1-2", 104.01252, 30.55001, 8),  # the planted segment, a few metres off: hit
                ("1-2", 104.0125, 30.55, 10),  # right segment, wrong hour
                ("7-1", 104.05, 30.52, 17),  # near no planted segment
                ("x-9", 104.0300, 30.6003, 17),  # 33 m off, other id: still that segment
                ("1-2", 104.0125, 30.55, 9),  # the planted hour, but on weekends
            ],
            ["weekday", "weekday", "weekday", "weekday", "weekend"],
        ),
        JAMS,
    )
    assert scores["true_positives"] == 2
    assert scores["precision"] == pytest.approx(2 / 5)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["missed"] == ["1-2@09"]
    assert scores["false_alarms"] == ["1-2@10", "1-2@weekend-09", "?7-1@17"]


def test_nothing_found_or_nothing_planted() -> None:
    none = score_jams(found([]), JAMS)
    assert (none["precision"], none["recall"], none["flagged"]) == (0.0, 0.0, 0)
    quiet = score_jams(found([("1-2", 104.0125, 30.55, 8)]), JAMS.iloc[:0])
    assert (quiet["precision"], quiet["recall"]) == (0.0, 1.0)


def test_period_gives_the_hour_and_missing_truth_is_one_clear_error(tmp_path: Path) -> None:
    table = pa.table(
        {
            "subject_id": ["1-2", "1-2"],
            "period": ["工作日 08:00–09:00", "周末 17:00–18:00"],
            "lon": [104.0125, 104.0125],
            "lat": [30.55, 30.55],
        }
    )
    hours = finding_hours(table)
    assert hours["hour"].tolist() == [8, 17]
    assert hours["day_type"].tolist() == ["weekday", "weekend"]
    with pytest.raises(UserError, match=r"road_congestion\.parquet is missing"):
        read_jams(tmp_path)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with open_engine("duckdb", tmp_path / "lake") as e:
        yield e


@pytest.mark.duckdb
def test_the_sims_planted_jams_are_found(engine: Engine, tmp_path: Path) -> None:
    from citybrain.sim.scales import SCALES
    from citybrain.sim.systems import taxi_gps
    from citybrain.sim.systems.base import SystemContext
    from citybrain.sim.truth import TruthSink
    from citybrain.sim.world import build_world

    world = build_world(SCALES["tiny"], 7, people=False)
    taxi_gps.build(SystemContext(world, tmp_path, TruthSink(tmp_path)))
    raw = pq.read_table(tmp_path / taxi_gps.SYSTEM)
    local = pc.add(raw["gps_time"], 8 * 3_600_000).cast(pa.timestamp("ms"))
    pings = pa.table(  # as the contract lands them in std.vehicle_ping
        {
            "plate": raw["car_no"].cast(pa.string()),
            "ts": local,
            "lon": raw["lng"],
            "lat": raw["lat"],
            "speed": raw["speed"],
        }
    )
    roads = world.geo.roads.to_pandas().rename(columns={"road_name": "name", "wkt": "geometry"})
    segments = road_segments(roads)
    assert segments is not None
    slots, _ = slot_speeds(engine, engine.register("pings", pings), segments, SpeedRules())
    flagged = recurring(slots, 3)
    flagged = flagged.loc[flagged["share"] >= 0.5]
    rows = list(flagged[["segment_id", "lon", "lat", "hour"]].itertuples(index=False))
    scores = score_jams(found(rows, flagged["day_type"].tolist()), read_jams(tmp_path / "truth"))
    assert scores["support"] >= 2
    assert (scores["precision"], scores["recall"]) == (1.0, 1.0), scores
