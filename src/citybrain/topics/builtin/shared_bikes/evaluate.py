"""Over-capacity findings against the synthetic city's truth: zone and snapshot pairs.

The truth (``bike_overparking``) names zones by their number in ``bike_zones``, whose ``code`` is
the zone id the parking-zone system delivers; findings name the zone id and the snapshot
(``YYYY-MM-DD HH:MM``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from citybrain.core.errors import UserError
from citybrain.topics import Evaluation, TopicContext, save_evaluation


class BikeEvaluation(Evaluation):
    """The shared evaluation; ``f1`` is over zone-snapshot pairs."""

    unit: str = "zone+snapshot"


def truth_pairs(truth_dir: Path) -> set[tuple[str, str]]:
    over_path, zones_path = truth_dir / "bike_overparking.parquet", truth_dir / "bike_zones.parquet"
    if not zones_path.is_file():
        raise UserError(f"no bike zones in the truth folder: {zones_path} is missing")
    zones = pq.read_table(zones_path, columns=["zone_id", "code"]).to_pandas()
    if not over_path.is_file():  # a city with no over-parked zone writes no file
        return set()
    over = pq.read_table(over_path, columns=["zone_id", "snapshot"]).to_pandas()
    joined = over.merge(zones, on="zone_id", how="left")
    when = pd.to_datetime(joined["snapshot"]).dt.strftime("%Y-%m-%d %H:%M")
    return set(zip(joined["code"].astype(str), when, strict=True))


def evaluate_shared_bikes(
    topic: str, findings: pa.Table, truth_dir: Path, ctx: TopicContext
) -> BikeEvaluation:
    actual = truth_pairs(truth_dir)
    found = set(
        zip(
            findings.column("subject_id").to_pylist(),
            findings.column("period").to_pylist(),
            strict=True,
        )
    )
    hit = len(found & actual)
    precision = hit / len(found) if found else (1.0 if not actual else 0.0)
    recall = hit / len(actual) if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    result = BikeEvaluation(
        topic=topic,
        precision=precision,
        recall=recall,
        f1=f1,
        threshold=ctx.params.threshold,
        support=len(actual),
        flagged=len(found),
        extra={"true_positives": hit},
    )
    return save_evaluation(result, ctx)
