"""信用修复: a subject disputes a record behind its grade, a steward reviews it, the grade is redone

An upheld dispute withdraws the record: the enterprise's rule points and hard rule are recomputed
from its newest grade (the scorecard points stay — they come from behaviour, not from records),
a new ``credit_scores`` run is written with the new grade (so the API shows it and the old run
stays as history), and a ``credit_score_history`` row keeps before and after. Later topic runs
leave withdrawn records out (see ``upheld_records``). The caller adds the audit entry in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from citybrain.core.engine import Engine
from citybrain.core.errors import UserError
from citybrain.core.logging import new_run_id
from citybrain.core.opsdb.base import utcnow
from citybrain.topics.builtin.credit import scorecard
from citybrain.topics.builtin.credit.features import BROKEN, MODEL_FEATURES
from citybrain.topics.builtin.credit.topic import SCORES_TABLE
from citybrain.topics.opsdb_models import CreditDispute, CreditScoreHistory

#: record kind → (std table, its key column, its enterprise column)
RECORDS = {
    "penalty": ("penalty", "decision_no", "uscc"),
    "dishonest": ("dishonest_judgment", "case_code", "identifier"),
    "commitment": ("commitment", "commitment_id", "uscc"),
}


def shown_records(
    engine: Engine,
    fields: Mapping[str, Sequence[str]],
    *,
    uscc: str | None = None,
    ids: Mapping[str, Collection[str]] | None = None,
    limit: int | None = None,
) -> list[tuple[str, str, dict[str, str]]]:
    """Disputable records as ``(kind, record_id, fields)``, the fields as text (empty ones left
    out): a firm's own (``uscc``) and/or the ones named (``ids``: kind → record ids), with those
    of each kind's ``fields`` its std table has; one query per kind, at most ``limit`` rows each."""
    out: list[tuple[str, str, dict[str, str]]] = []
    for kind, (table_name, key, owner) in RECORDS.items():
        wanted = None if ids is None else sorted(ids.get(kind, ()))
        if wanted == [] or not engine.exists("std", table_name):
            continue
        table = engine.table("std", table_name)
        shown = [c for c in fields[kind] if c in table.columns]
        query = table if uscc is None else table.filter(table[owner] == uscc)
        if wanted is not None:
            query = query.filter(query[key].isin(wanted))
        query = query.select(key, *shown)
        rows: pa.Table = engine.to_arrow(query if limit is None else query.limit(limit))
        for row in rows.to_pylist():
            text = {c: str(row[c]) for c in shown if row[c] is not None}
            out.append((kind, str(row[key]), text))
    return out


@dataclass(frozen=True)
class Regrade:
    """A firm's grade redone between two topic runs: before, after, and the credit run written."""

    uscc: str
    score_before: int
    grade_before: str
    score_after: int
    grade_after: str
    run_id: str


def decision_detail(dispute: CreditDispute, repair: Regrade | None) -> dict[str, object]:
    """What the audit row records of a reviewed dispute: the decision and, when upheld, the
    score and grade before and after and the credit run that redid them."""
    detail: dict[str, object] = {"dispute_id": dispute.id, "decision": dispute.status}
    if repair is not None:
        detail |= {
            "score": [repair.score_before, repair.score_after],
            "grade": [repair.grade_before, repair.grade_after],
            "run_id": repair.run_id,
        }
    return detail


def _record(engine: Engine, kind: str, record_id: str, uscc: str) -> dict[str, object]:
    if kind not in RECORDS:
        raise UserError(f"unknown record kind {kind!r}; one of {', '.join(RECORDS)}")
    table_name, key, owner = RECORDS[kind]
    if not engine.exists("std", table_name):
        raise UserError(f"no std.{table_name} in the lake")
    table = engine.table("std", table_name)
    found = engine.to_arrow(table.filter((table[key] == record_id) & (table[owner] == uscc)))
    if found.num_rows == 0:
        raise UserError(f"{uscc} has no {kind} record {record_id} in std.{table_name}")
    return dict(found.slice(0, 1).to_pylist()[0])


def file_dispute(
    db: Session, engine: Engine, *, uscc: str, kind: str, record_id: str, reason: str, by: str
) -> CreditDispute:
    _record(engine, kind, record_id, uscc)
    if not reason.strip():
        raise UserError("a dispute needs a reason")
    dispute = CreditDispute(
        uscc=uscc, record_kind=kind, record_id=record_id, reason=reason, filed_by=by,
        status="pending", filed_at=utcnow(),
    )  # fmt: skip
    db.add(dispute)
    db.flush()
    return dispute


def _newest(engine: Engine) -> tuple[pa.Table, str]:
    if not engine.exists("topic", SCORES_TABLE):
        raise UserError("no credit grades yet: run the credit topic first")
    table = engine.table("topic", SCORES_TABLE)
    newest = table.filter(table.run_id == table.run_id.max())
    scores = engine.to_arrow(newest)
    return scores.drop(["run_id"]), str(scores["run_id"][0].as_py())


def review(
    db: Session, engine: Engine, dispute_id: int, *, uphold: bool, by: str, note: str = ""
) -> tuple[CreditDispute, Regrade | None]:
    """Decide a pending dispute; an upheld one redoes the grade (see the module)."""
    dispute = db.get(CreditDispute, dispute_id)
    if dispute is None:
        raise UserError(f"no credit dispute {dispute_id}")
    if dispute.status != "pending":
        raise UserError(f"credit dispute {dispute_id} was already {dispute.status}")
    if dispute.filed_by == by:
        raise UserError("a dispute is reviewed by a steward other than the one who filed it")
    dispute.status = "upheld" if uphold else "rejected"
    dispute.reviewed_by, dispute.reviewed_at, dispute.review_note = by, utcnow(), note or None
    if not uphold:
        return dispute, None
    record = _record(engine, dispute.record_kind, dispute.record_id, dispute.uscc)
    repaired = {
        "signal": "repaired", "points": 0, "observed": 1.0,
        "text_zh": scorecard.RULES["repaired"][0].replace("{v}", "1"),
        "text_en": scorecard.RULES["repaired"][1].replace("{v}", "1"),
    }  # fmt: skip
    done = regrade_firm(
        db, engine, dispute.uscc, lambda row: _withdraw(row, dispute.record_kind, record),
        cause="repair", dispute_id=dispute.id, extra_reasons=[repaired],
    )  # fmt: skip
    return dispute, done


def regrade_firm(
    db: Session,
    engine: Engine,
    uscc: str,
    change: Callable[[pd.DataFrame], pd.DataFrame],
    *,
    cause: str,
    dispute_id: int | None = None,
    extra_reasons: Sequence[dict[str, object]] = (),
) -> Regrade:
    """Redo ``uscc``'s newest grade with its features row ``change``d (a record withdrawn, a
    commitment checked): the rule points are recomputed, the scorecard points stay (they come
    from behaviour); written as a new credit run with a history row of ``cause``."""
    scores, _ = _newest(engine)
    rows = scores.filter(pc.equal(scores["uscc"], uscc)).to_pandas()
    if rows.empty:
        raise UserError(f"the newest credit run has no grade for {uscc}")
    row = rows.iloc[[0]].reset_index(drop=True)
    before_score, before_grade = int(row.at[0, "score"]), str(row.at[0, "grade"])
    after = change(row)
    rules = scorecard.rule_points(after)
    dishonest = after["dishonest"].to_numpy() > 0
    new_score = scorecard.final_score(after["model_points"].to_numpy(), rules, dishonest)
    new_grade = scorecard.grade_of(new_score, dishonest)
    feature_reasons = [r for r in row.at[0, "reasons"] if r["signal"] in scorecard.TEMPLATES]
    rule_reasons = scorecard.reasons(
        after, np.zeros((1, len(MODEL_FEATURES)), dtype=np.float64), rules
    ).to_pylist()[0]
    reasons = sorted(feature_reasons + rule_reasons, key=lambda r: -abs(r["points"]))
    run_id = new_run_id()
    score_after, grade_after = int(new_score[0]), str(new_grade[0])
    index = int(pc.index(scores["uscc"], uscc).as_py())
    updated = _replace_row(
        scores, index, after, score_after, grade_after, [*reasons, *extra_reasons]
    )
    engine.write(
        updated.append_column("run_id", pa.array([run_id] * updated.num_rows, pa.string())),
        "topic", SCORES_TABLE, mode="append", partition_by=["run_id"],
    )  # fmt: skip
    db.add(
        CreditScoreHistory(
            uscc=uscc, at=utcnow(), cause=cause, dispute_id=dispute_id,
            score_before=before_score, grade_before=before_grade,
            score_after=score_after, grade_after=grade_after, run_id=run_id,
        )
    )  # fmt: skip
    db.flush()
    return Regrade(uscc, before_score, before_grade, score_after, grade_after, run_id)


def _withdraw(row: pd.DataFrame, kind: str, record: dict[str, object]) -> pd.DataFrame:
    after = row.copy()

    def less(column: str) -> None:
        after[column] = np.maximum(after[column].to_numpy() - 1, 0)

    if kind == "penalty":
        less("penalties")
        if "税" in str(record.get("violation") or ""):
            less("tax_penalties")
    elif kind == "dishonest":
        less("dishonest")
    elif record.get("check_result") == BROKEN:
        less("broken")
    return after


def _replace_row(
    scores: pa.Table,
    index: int,
    after: pd.DataFrame,
    score: int,
    grade: str,
    reasons: list[dict[str, object]],
) -> pa.Table:
    """``scores`` with row ``index`` redone (the other rows are sliced, not copied row by row)."""
    row = scores.slice(index, 1)
    values: dict[str, object] = {
        **{
            n: int(after[n].iloc[0])
            for n in ("dishonest", "penalties", "tax_penalties", "broken", "kept")
        },
        "score": score,
        "grade": grade,
        "reasons": reasons,
    }
    for name, value in values.items():
        column = pa.array([value], row.schema.field(name).type)
        row = row.set_column(row.schema.get_field_index(name), name, column)
    return pa.concat_tables([scores.slice(0, index), row, scores.slice(index + 1)])


def upheld_records(ops: SqlEngine) -> dict[str, list[str]]:
    """Record ids withdrawn by upheld disputes, by kind (none where the table does not exist)."""
    if not inspect(ops).has_table(CreditDispute.__tablename__):
        return {}
    with Session(ops) as db:
        rows = db.execute(
            select(CreditDispute.record_kind, CreditDispute.record_id).where(
                CreditDispute.status == "upheld"
            )
        ).all()
    out: dict[str, list[str]] = {}
    for kind, record_id in rows:
        out.setdefault(kind, []).append(record_id)
    return out
