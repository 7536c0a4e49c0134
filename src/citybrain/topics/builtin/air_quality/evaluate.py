"""Evaluation against the synthetic city's truth: pollution episodes, their source kind, and
faulty sensors (which must never be reported as pollution).

A detected interval (station, first hour, last hour) matches a true one when it is at the same
station (for episodes: a station the episode raised) and the two overlap in time. Precision is over
the detected intervals, recall over the true ones; F1 from those.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from citybrain.topics import Evaluation, TopicContext, save_evaluation


def _overlaps(found: pd.DataFrame, truth: pd.DataFrame, key: str) -> pd.DataFrame:
    """Pairs of a detected and a true interval at the same station that overlap in time."""
    pairs = found.merge(truth, on="sensor_id", suffixes=("", "_true"))
    hit = (pairs["start"] <= pairs["end_true"]) & (pairs["end"] >= pairs["start_true"])
    return pairs.loc[hit, ["found_id", key, *[c for c in pairs.columns if c.endswith("_true")]]]


def _f1(found: int, matched_found: int, truth: int, matched_truth: int) -> dict[str, float]:
    precision = matched_found / found if found else 0.0
    recall = matched_truth / truth if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def score_episodes(found: pd.DataFrame, truth_dir: Path) -> dict[str, float | int]:
    """``found``: sensor_id, start, end, source_kind (one row per detected episode)."""
    episodes = pq.read_table(truth_dir / "pollution_episodes.parquet").to_pandas()
    hit_sensors = pq.read_table(truth_dir / "pollution_affected_sensors.parquet").to_pandas()
    truth = hit_sensors[["episode_id", "sensor_id"]].merge(
        episodes[["episode_id", "kind", "start", "end"]], on="episode_id"
    )
    truth = truth.rename(columns={"start": "start_true", "end": "end_true", "kind": "kind_true"})
    found = found.reset_index(drop=True).assign(found_id=lambda f: np.arange(len(f)))
    pairs = _overlaps(found, truth, "episode_id")
    pairs = pairs.merge(found[["found_id", "source_kind"]], on="found_id")
    seen = episodes["episode_id"].isin(hit_sensors["episode_id"])
    result: dict[str, float | int] = dict(
        _f1(len(found), pairs["found_id"].nunique(), int(seen.sum()), pairs["episode_id"].nunique())
    )
    # the source kind of each found episode: that of its longest detected interval
    longest = found.assign(length=found["end"] - found["start"])[["found_id", "length"]]
    best = pairs.merge(longest, on="found_id").sort_values("length", ascending=False)
    best = best.drop_duplicates("episode_id")
    result["source_kind_accuracy"] = (
        float((best["source_kind"] == best["kind_true"]).mean()) if len(best) else 0.0
    )
    result["episodes_true"] = int(seen.sum())
    result["episodes_no_sensor_raised"] = int((~seen).sum())
    result["episodes_detected"] = len(found)
    return result


def score_faults(
    faults: pd.DataFrame, pollution: pd.DataFrame, truth_dir: Path
) -> dict[str, float | int]:
    """``faults`` and ``pollution`` (episodes and AQI alerts): sensor_id, start, end found."""
    path = truth_dir / "faulty_sensors.parquet"
    if not path.is_file():
        return {"faulty_sensors_true": 0}
    truth = pq.read_table(path).to_pandas()
    truth = truth.rename(columns={"start": "start_true", "end": "end_true"})
    found = faults.reset_index(drop=True).assign(found_id=lambda f: np.arange(len(f)))
    pairs = _overlaps(found, truth, "fault_id")
    result: dict[str, float | int] = {
        f"faulty_sensor_{k}": v
        for k, v in _f1(
            len(found), pairs["found_id"].nunique(), len(truth), pairs["fault_id"].nunique()
        ).items()
    }
    as_pollution = _overlaps(
        pollution[["sensor_id", "start", "end"]]
        .reset_index(drop=True)
        .assign(found_id=lambda f: np.arange(len(f))),
        truth,
        "fault_id",
    )
    result["faults_reported_as_pollution"] = int(as_pollution["fault_id"].nunique())
    result["faulty_sensors_true"] = len(truth)
    result["faults_detected"] = len(found)
    return result


class AirQualityEvaluation(Evaluation):
    """The shared evaluation with the figures the air-quality topic is judged by at top level."""

    episode_f1: float
    source_kind_accuracy: float
    faulty_sensor_f1: float


def evaluate_air_quality(
    topic: str,
    episodes: pd.DataFrame,
    faults: pd.DataFrame,
    alerts: pd.DataFrame,
    truth_dir: Path,
    ctx: TopicContext,
    findings: int,
) -> Evaluation:
    ep = score_episodes(episodes, truth_dir)
    pollution = pd.concat([episodes[["sensor_id", "start", "end"]], alerts], ignore_index=True)
    fa = score_faults(faults, pollution, truth_dir)
    extra: dict[str, object] = {
        "episode_precision": ep["precision"],
        "episode_recall": ep["recall"],
        **{k: v for k, v in ep.items() if k.startswith("episodes_")},
        **{k: v for k, v in fa.items() if k != "faulty_sensor_f1"},
        "findings": findings,
    }
    result = AirQualityEvaluation(
        topic=topic,
        episode_f1=float(ep["f1"]),
        source_kind_accuracy=float(ep["source_kind_accuracy"]),
        faulty_sensor_f1=float(fa.get("faulty_sensor_f1", 0.0)),
        precision=float(ep["precision"]),
        recall=float(ep["recall"]),
        f1=float(ep["f1"]),
        threshold=ctx.params.threshold,
        support=int(ep["episodes_true"]),
        flagged=int(ep["episodes_detected"]),
        extra=extra,
    )
    return save_evaluation(result, ctx)
