"""Credit commitments (信用承诺) signed on the portal feed the grade like the lake's.

A firm signs a commitment on the portal (ops database table ``firm_commitment``); a steward
later records its check — kept (已履约) or broken (未履约), ``citybrain credit commitment``. A
checked one counts exactly as a checked commitment of std.commitment does: a broken one costs
``scorecard.BROKEN_POINTS``, a kept one earns the kept points. At the check the firm's newest
grade is redone at once (its rule points; the scorecard points stay — they come from behaviour),
written as a new ``credit_scores`` run with a ``credit_score_history`` row (cause
``commitment``), as a credit repair is; every later topic run reads the portal's checked
commitments beside the lake's (:func:`portal_commitments`, handed to the features as a table).

Portal commitments are numbered ``PORTAL-<id>`` so they never collide with the lake's numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.orm import Session

from citybrain.core.engine import Engine
from citybrain.core.errors import UserError
from citybrain.topics.builtin.credit.features import BROKEN, KEPT, PENDING
from citybrain.topics.builtin.credit.repair import Regrade, regrade_firm

TABLE = "firm_commitment"
PREFIX = "PORTAL-"
SCHEMA = pa.schema([("commitment_id", pa.string()), ("uscc", pa.string()),
                    ("check_result", pa.string())])  # fmt: skip


def portal_commitments(ops: SqlEngine) -> pa.Table:
    """Every commitment signed on the portal as ``commitment_id, uscc, check_result`` (the lake's
    std.commitment columns; 待核查 while unchecked); empty where the ops database has none."""
    columns = {c["name"] for c in inspect(ops).get_columns(TABLE)} if _has(ops) else set()
    if "check_result" not in columns:
        return SCHEMA.empty_table()
    table = Table(TABLE, MetaData(), autoload_with=ops)
    with ops.connect() as conn:
        rows = conn.execute(select(table.c.id, table.c.uscc, table.c.check_result)).all()
    return pa.table(
        {
            "commitment_id": [f"{PREFIX}{r[0]}" for r in rows],
            "uscc": [str(r[1]) for r in rows],
            "check_result": [r[2] or PENDING for r in rows],
        },
        schema=SCHEMA,
    )


def _has(ops: SqlEngine) -> bool:
    return bool(inspect(ops).has_table(TABLE))


def add_counts(features: pa.Table, commitments: pa.Table) -> pa.Table:
    """``features`` (one row per USCC, with ``broken``, ``kept``, ``pending``) plus the counts of
    ``commitments`` of each firm (a firm not in ``features`` is not graded: left out)."""
    if commitments.num_rows == 0:
        return features
    at = pc.index_in(commitments["uscc"], value_set=features["uscc"]).to_numpy(zero_copy_only=False)
    known = ~np.isnan(at.astype(np.float64))
    row = np.nan_to_num(at.astype(np.float64)).astype(np.int64)[known]
    result = np.asarray(commitments["check_result"].to_pylist(), dtype=object)[known]
    n = features.num_rows
    for column, value in (("broken", BROKEN), ("kept", KEPT), ("pending", PENDING)):
        extra = np.bincount(row[result == value], minlength=n)
        i = features.schema.get_field_index(column)
        total = features[column].to_numpy(zero_copy_only=False) + extra
        features = features.set_column(i, column, pa.array(total, features.schema.field(i).type))
    return features


def regrade(db: Session, engine: Engine, uscc: str, result: str) -> Regrade:
    """Redo ``uscc``'s newest grade with one more commitment checked as ``result`` (已履约 or
    未履约): a new ``credit_scores`` run and a history row (see the module)."""
    if result not in (BROKEN, KEPT):
        raise UserError(f"a commitment's check is {KEPT} or {BROKEN}, not {result!r}")
    column = "broken" if result == BROKEN else "kept"

    def one_more(row: pd.DataFrame) -> pd.DataFrame:
        after = row.copy()
        after[column] = after[column].to_numpy() + 1
        return after

    return regrade_firm(db, engine, uscc, one_more, cause="commitment")
