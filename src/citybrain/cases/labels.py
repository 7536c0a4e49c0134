"""The closed loop: case outcomes become labels that measure and retrain the topics.

属实 (confirmed) is a positive label, 不属实 (rejected) a negative one; 无法核实 (unverifiable)
teaches nothing and is left out.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import ColumnElement, select
from sqlalchemy import Engine as SqlEngine

from citybrain.cases.opsdb_models import Case, CaseEvidence
from citybrain.cases.states import Outcome, Status
from citybrain.core.opsdb import session

LABELS_SCHEMA = pa.schema(
    [("topic", pa.string()), ("subject_id", pa.string()), ("period", pa.string()),
     ("label", pa.int8())]
)  # fmt: skip
PRECISION_SCHEMA = pa.schema(
    [
        ("topic", pa.string()),
        ("month", pa.string()),
        ("dispatched", pa.int64()),
        ("confirmed", pa.int64()),
        ("rejected", pa.int64()),
        ("unverifiable", pa.int64()),
        ("precision", pa.float64()),
    ]
)
_CLOSED = (Status.closed.value, Status.archived.value)
_DECISIVE = (Outcome.confirmed.value, Outcome.rejected.value)


def outcome_labels(
    ops_engine: SqlEngine, topic: str | None = None, where: ColumnElement[bool] | None = None
) -> pa.Table:
    """Per topic, ``(subject_id, period, label)`` for every finding a closed case judged.

    Each piece of evidence on a closed case is labelled by the case's outcome, so a case opened
    in March with evidence for March and April labels both periods. A subject-period judged by
    two cases is positive if either confirmed it. ``where`` narrows the cases (an area scope).
    """
    query = (
        select(CaseEvidence.topic, CaseEvidence.subject_id, CaseEvidence.period, Case.outcome)
        .join(Case, Case.id == CaseEvidence.case_id)
        .where(Case.status.in_(_CLOSED), Case.outcome.in_(_DECISIVE))
    )
    if topic is not None:
        query = query.where(CaseEvidence.topic == topic)
    if where is not None:
        query = query.where(where)
    with session(ops_engine) as db:
        rows = db.execute(query).all()
    if not rows:
        return LABELS_SCHEMA.empty_table()
    topics, subjects, periods, outcomes = (list(column) for column in zip(*rows, strict=True))
    table = pa.table(
        {
            "topic": pa.array(topics, pa.string()),
            "subject_id": pa.array(subjects, pa.string()),
            "period": pa.array(periods, pa.string()),
            "label": pc.cast(pc.equal(pa.array(outcomes), Outcome.confirmed.value), pa.int8()),
        }
    )
    grouped = table.group_by(["topic", "subject_id", "period"]).aggregate([("label", "max")])
    grouped = grouped.rename_columns(["topic", "subject_id", "period", "label"])
    return (
        grouped.select(LABELS_SCHEMA.names)
        .cast(LABELS_SCHEMA)
        .sort_by([("topic", "ascending"), ("subject_id", "ascending"), ("period", "ascending")])
    )


def precision_by_month(
    ops_engine: SqlEngine, topic: str | None = None, timezone: str = "Asia/Shanghai"
) -> pa.Table:
    """Each topic's precision of dispatched finding cases, by month of dispatch.

    precision = confirmed / (confirmed + rejected); unverifiable cases are counted apart.
    ``dispatched`` counts every dispatched case of the month, still open or not.
    """
    query = select(Case.topic, Case.dispatched_at, Case.status, Case.outcome).where(
        Case.source == "finding", Case.dispatched_at.is_not(None)
    )
    if topic is not None:
        query = query.where(Case.topic == topic)
    with session(ops_engine) as db:
        rows = db.execute(query).all()
    zone = ZoneInfo(timezone)
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for case_topic, dispatched_at, status, outcome in rows:
        assert isinstance(dispatched_at, datetime)
        key = (case_topic, dispatched_at.astimezone(zone).strftime("%Y-%m"))
        bucket = counts.setdefault(key, {"dispatched": 0, **{o.value: 0 for o in Outcome}})
        bucket["dispatched"] += 1
        if status in _CLOSED and outcome is not None:
            bucket[outcome] += 1
    out = []
    for (case_topic, month), bucket in sorted(counts.items()):
        judged = bucket["confirmed"] + bucket["rejected"]
        precision = bucket["confirmed"] / judged if judged else None
        out.append({"topic": case_topic, "month": month, **bucket, "precision": precision})
    return pa.Table.from_pylist(out, schema=PRECISION_SCHEMA)
