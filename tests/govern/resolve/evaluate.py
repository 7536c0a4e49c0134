"""Pairwise precision and recall of a resolution against the synthetic city's truth (tests only)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa


def truth_entities(sim: Path, kind: str, links: pa.Table) -> pd.DataFrame:
    """record_id, true entity_id for the records the truth knows."""
    truth = pd.read_parquet(sim / "truth" / f"links_{kind}.parquet")
    records = links.select(["record_id", "source_system", "source_key", "load_id"]).to_pandas()
    # Parcel statistics ids are unique within a month's file only.
    records["month"] = records["load_id"].str.extract(r"(\d{4}-\d{2})$")[0]
    monthly = truth["system"] == "parcel_express"
    plain = records.merge(
        truth[~monthly][["system", "key", "entity_id"]],
        left_on=["source_system", "source_key"],
        right_on=["system", "key"],
    )
    by_month = records.merge(
        truth[monthly].rename(columns={"table": "month"})[["system", "key", "month", "entity_id"]],
        left_on=["source_system", "source_key", "month"],
        right_on=["system", "key", "month"],
    )
    return pd.concat([plain, by_month])[["record_id", "entity_id"]].drop_duplicates("record_id")


def _pairs(frame: pd.DataFrame, column: str) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for members in frame.groupby(column)["record_id"].apply(sorted):
        out.update((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
    return out


def pairwise(sim: Path, kind: str, links: pa.Table, golden: str) -> dict[str, float]:
    truth = truth_entities(sim, kind, links)
    found = truth.merge(links.select(["record_id", golden]).to_pandas(), on="record_id")
    predicted, actual = _pairs(found, golden), _pairs(found, "entity_id")
    hits = len(predicted & actual)
    return {
        "precision": hits / len(predicted) if predicted else 1.0,
        "recall": hits / len(actual) if actual else 1.0,
        "predicted_pairs": len(predicted),
        "true_pairs": len(actual),
        "records_in_truth": len(found),
    }
