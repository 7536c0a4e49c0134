"""Muck-truck findings against the synthetic city's planted violations, per violation type.

A truck-day is the unit for violations that happen on a day (``outside_hours``,
``illegal_dumping``, ``off_route``); a truck is the unit for ``no_permit`` (the city plants
unpermitted trucks and lists some of their days; every day they drive is a violation). Types the
city does not plant (``speeding``) are reported with their count of findings and no precision.

A planted dumping trip leaves the route too (the truck drives to a field): on those truck-days an
``off_route`` finding is true of the track but not what was planted, so ``off_route`` is scored
without them (their count is reported as ``left_out_dumping_days``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from citybrain.core.errors import UserError
from citybrain.topics import Evaluation, TopicContext, save_evaluation
from citybrain.topics.builtin.muck_trucks.violations import KINDS

DAY_TYPES = ("outside_hours", "illegal_dumping", "off_route")
TRUCK_TYPES = ("no_permit",)


class MuckEvaluation(Evaluation):
    """The shared evaluation with the figures of each violation type."""

    by_type: dict[str, dict[str, Any]]


def finding_kinds(findings: pa.Table) -> pd.DataFrame:
    """plate, period and violation type (the first reason's signal) of every finding."""
    first = pc.list_element(findings.column("reasons"), 0)
    out: pd.DataFrame = pd.DataFrame(
        {
            "plate": findings.column("subject_id").to_pylist(),
            "period": findings.column("period").to_pylist(),
            "kind": pc.struct_field(first, "signal").to_pylist(),
        }
    )
    return out


def read_truth(truth_dir: Path) -> pd.DataFrame:
    path = truth_dir / "truck_violations.parquet"
    if not path.is_file():
        raise UserError(f"no truck violations in the truth folder: {path} is missing")
    t: pd.DataFrame = pq.read_table(path, columns=["plate", "date", "kind"]).to_pandas()
    t["period"] = pd.to_datetime(t["date"]).dt.strftime("%Y-%m-%d")
    return t


def _scores(found: set[tuple[str, ...]], actual: set[tuple[str, ...]]) -> dict[str, Any]:
    hit = len(found & actual)
    precision = hit / len(found) if found else (1.0 if not actual else 0.0)
    recall = hit / len(actual) if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "flagged": len(found),
        "support": len(actual),
        "true_positives": hit,
    }


def _keys(frame: pd.DataFrame, columns: list[str]) -> set[tuple[str, ...]]:
    return set(frame[columns].astype(str).itertuples(index=False, name=None))


def evaluate_muck_trucks(
    topic: str, findings: pa.Table, truth_dir: Path, ctx: TopicContext
) -> MuckEvaluation:
    truth = read_truth(truth_dir)
    found = finding_kinds(findings)
    by_type: dict[str, dict[str, Any]] = {}
    all_found: set[tuple[str, ...]] = set()
    all_actual: set[tuple[str, ...]] = set()
    for kind in KINDS:
        columns = ["plate"] if kind in TRUCK_TYPES else ["plate", "period"]
        mine = found.loc[found["kind"] == kind]
        planted = kind in DAY_TYPES or kind in TRUCK_TYPES
        if not planted:
            by_type[kind] = {"flagged": len(mine), "planted": False}
            continue
        f = {(kind, *k) for k in _keys(mine, columns)}
        a = {(kind, *k) for k in _keys(truth.loc[truth["kind"] == kind], columns)}
        left_out: dict[str, int] = {}
        if kind == "off_route":  # a dumping trip leaves the route as well: not scored here
            dumping = {(kind, *k) for k in _keys(
                truth.loc[truth["kind"] == "illegal_dumping"], columns)}  # fmt: skip
            left_out = {"left_out_dumping_days": len(f & dumping)}
            f -= dumping
        by_type[kind] = {**_scores(f, a), "planted": True, "unit": "+".join(["truck", *(
            ["day"] if len(columns) == 2 else [])]), **left_out}  # fmt: skip
        all_found |= f
        all_actual |= a
    overall = _scores(all_found, all_actual)
    result = MuckEvaluation(
        topic=topic,
        precision=overall["precision"],
        recall=overall["recall"],
        f1=overall["f1"],
        threshold=ctx.params.threshold,
        support=overall["support"],
        flagged=overall["flagged"],
        by_type=by_type,
        extra={"findings": findings.num_rows, "truth_rows": len(truth)},
    )
    return save_evaluation(result, ctx)
