"""Road-traffic findings against the synthetic city's planted recurring jams (truth
``road_congestion``: one row per road segment and hour the city slowed on most weekdays).

The unit is a segment, a day type and an hour. A finding's segment is matched to a planted one by
place — the finding's point (its segment's middle) within ``MATCH_M`` of the planted segment's
middle — so the score does not depend on how the topic numbers segments; the day type and hour
are read from the finding's period (``工作日 08:00–09:00``, ``周末 …``). The planted jams are
weekday jams (a truth ``day_type`` column, when there is one, says otherwise). A finding near no
planted segment, at another hour, or on weekends for a weekday jam, is a false alarm.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from citybrain.core.errors import UserError
from citybrain.topics import Evaluation, TopicContext, save_evaluation

TRUTH = "road_congestion"
MATCH_M = 50.0  # a finding's point and a planted segment's middle: the same segment within this
M_PER_DEG_LAT = 111_320.0


def read_jams(truth_dir: Path) -> pd.DataFrame:
    """segment_no, road_name, lon, lat (the segment's middle), day_type and hour of every
    planted jam."""
    path = truth_dir / f"{TRUTH}.parquet"
    if not path.is_file():
        raise UserError(f"no planted road congestion in the truth folder: {path} is missing")
    columns = ["segment_no", "road_name", "lon", "lat", "hour"]
    names = pq.read_schema(path).names
    jams: pd.DataFrame = pq.read_table(
        path, columns=columns + (["day_type"] if "day_type" in names else [])
    ).to_pandas()
    if "day_type" not in jams.columns:
        jams["day_type"] = "weekday"
    return jams


def finding_hours(findings: pa.Table) -> pd.DataFrame:
    """subject_id, lon, lat, day_type and hour (from the period ``工作日 08:00–09:00``; a period
    without 周末 is a weekday one) of every finding."""
    period = pd.Series(findings.column("period").to_pylist(), dtype=object).astype(str)
    hour = pd.to_numeric(period.str.extract(r"(\d{1,2}):\d{2}", expand=False), errors="coerce")
    day_type = np.where(period.str.contains("周末|weekend"), "weekend", "weekday")
    out: pd.DataFrame = pd.DataFrame(
        {
            "subject_id": findings.column("subject_id").to_pylist(),
            "lon": findings.column("lon").to_numpy(zero_copy_only=False),
            "lat": findings.column("lat").to_numpy(zero_copy_only=False),
            "day_type": day_type,
            "hour": hour,
        }
    )
    return out


def match_segments(found: pd.DataFrame, jams: pd.DataFrame, match_m: float = MATCH_M) -> np.ndarray:
    """For each finding, the planted ``segment_no`` whose middle lies within ``match_m`` of the
    finding's point (nearest one), else None."""
    out = np.full(len(found), None, dtype=object)
    places = jams.drop_duplicates("segment_no")
    if found.empty or places.empty:
        return out
    lat0 = float(places["lat"].median())
    kx = M_PER_DEG_LAT * np.cos(np.radians(lat0))

    def plane(frame: pd.DataFrame) -> np.ndarray:
        lon, lat = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
        return np.column_stack([lon * kx, (lat - lat0) * M_PER_DEG_LAT])

    xy = plane(found)
    ok = np.isfinite(xy).all(axis=1)
    mine = shapely.points(np.where(ok[:, None], xy, 0.0))
    tree = shapely.STRtree(shapely.points(plane(places)))
    row, at = tree.query_nearest(mine, max_distance=match_m)
    first = np.unique(row, return_index=True)[1]  # equally near: the first planted segment
    row, at = row[first], at[first]
    keep = ok[row]
    out[row[keep]] = places["segment_no"].to_numpy(dtype=object)[at[keep]]
    return out


def _label(segment: str, day_type: str, hour: int) -> str:
    return f"{segment}@{'' if day_type == 'weekday' else day_type + '-'}{hour:02d}"


def score_jams(found: pd.DataFrame, jams: pd.DataFrame) -> dict[str, Any]:
    """Precision, recall and F1 over (segment, day type, hour); the missed jams and false
    alarms (``1-2@09`` on weekdays, ``1-2@weekend-09`` on weekends). A frame without
    ``day_type`` is of weekdays."""
    segment = match_segments(found, jams)

    def kinds(frame: pd.DataFrame) -> list[str]:
        if "day_type" not in frame.columns:
            return ["weekday"] * len(frame)
        return frame["day_type"].astype(str).tolist()

    flagged = {
        (str(seg) if seg is not None else f"?{sid}", kind, int(h) if pd.notna(h) else -1)
        for seg, sid, kind, h in zip(
            segment, found["subject_id"], kinds(found), found["hour"], strict=True
        )
    }
    actual = {
        (str(s), kind, int(h))
        for s, kind, h in zip(jams["segment_no"], kinds(jams), jams["hour"], strict=True)
    }
    hit = flagged & actual
    precision = len(hit) / len(flagged) if flagged else (1.0 if not actual else 0.0)
    recall = len(hit) / len(actual) if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "flagged": len(flagged),
        "support": len(actual),
        "true_positives": len(hit),
        "missed": [_label(*k) for k in sorted(actual - flagged)],
        "false_alarms": [_label(*k) for k in sorted(flagged - actual)],
    }


def evaluate_road_traffic(
    topic: str, findings: pa.Table, truth_dir: Path, ctx: TopicContext
) -> Evaluation:
    jams = read_jams(truth_dir)
    scores = score_jams(finding_hours(findings), jams)
    result = Evaluation(
        topic=topic,
        precision=scores["precision"],
        recall=scores["recall"],
        f1=scores["f1"],
        threshold=ctx.params.threshold,
        support=scores["support"],
        flagged=scores["flagged"],
        extra={
            "unit": "segment+day_type+hour",
            "findings": findings.num_rows,
            "true_positives": scores["true_positives"],
            "missed": scores["missed"],
            "false_alarms": scores["false_alarms"],
            "match_m": MATCH_M,
        },
    )
    return save_evaluation(result, ctx)
