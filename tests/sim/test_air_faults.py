"""Planted faulty air sensors: in the truth, broken in the readings, never during an episode."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq


def test_faults_are_planted_and_apart_from_episodes(tiny_root: Path) -> None:
    faults = pq.read_table(tiny_root / "truth" / "faulty_sensors.parquet").to_pandas()
    assert len(faults) >= 2
    assert set(faults["kind"]) <= {"stuck", "zero", "impossible", "drift"}
    episodes = pq.read_table(tiny_root / "truth" / "pollution_episodes.parquet").to_pandas()
    hit = pq.read_table(tiny_root / "truth" / "pollution_affected_sensors.parquet").to_pandas()
    raised = hit.merge(episodes, on="episode_id")
    pairs = faults.merge(raised, on="sensor_id", suffixes=("", "_episode"))
    clash = (pairs["start"] < pairs["end_episode"]) & (pairs["end"] > pairs["start_episode"])
    assert not clash.any()
    readings = ds.dataset(tiny_root / "air_quality_sensors" / "data").to_table()
    for fault in faults.to_dict("records"):
        mine = readings.filter(
            (pc.field("sensor_id") == fault["sensor_id"])
            & (pc.field("observed_at") >= fault["start"])
            & (pc.field("observed_at") < fault["end"])
        )
        if fault["kind"] == "zero" and mine.num_rows:
            assert pc.max(mine["pm25"]).as_py() == 0.0
        if fault["kind"] == "stuck" and mine.num_rows:
            assert pc.count_distinct(mine["no2"]).as_py() == 1
