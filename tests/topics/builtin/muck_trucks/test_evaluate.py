"""Off-route findings scored against the planted detours (tests ``muck_trucks/evaluate.py``): a
hit, a miss and a false alarm count as such; an off-route finding on a planted dumping day (the
truck drove to its field) is left out of the score and counted."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pyarrow as pa
import pyarrow.parquet as pq

from citybrain.topics import TopicContext
from citybrain.topics.builtin.muck_trucks.evaluate import evaluate_muck_trucks
from citybrain.topics.builtin.muck_trucks.topic import MuckTruckParams


def test_off_route_scored_per_truck_day_without_dumping_days(tmp_path: Path) -> None:
    truth = tmp_path / "truth"
    truth.mkdir()
    pq.write_table(
        pa.table(
            {
                "plate": ["川A1", "川A2", "川A3"],
                "date": [date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 3)],
                "kind": ["off_route", "off_route", "illegal_dumping"],
            }
        ),
        truth / "truck_violations.parquet",
    )
    found = [("川A1", "2024-05-01"), ("川A9", "2024-05-01"), ("川A3", "2024-05-03")]
    findings = pa.table(
        {
            "subject_id": [p for p, _ in found],
            "period": [d for _, d in found],
            "reasons": [[{"signal": "off_route"}]] * len(found),
        }
    )
    ctx = cast(TopicContext, SimpleNamespace(params=MuckTruckParams(), artifacts_dir=tmp_path))
    off = evaluate_muck_trucks("muck_trucks", findings, truth, ctx).by_type["off_route"]
    assert off["planted"] is True
    assert (off["true_positives"], off["flagged"], off["support"]) == (1, 2, 2)
    assert (off["precision"], off["recall"]) == (0.5, 0.5)
    assert off["left_out_dumping_days"] == 1
