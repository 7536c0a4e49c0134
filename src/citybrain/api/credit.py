"""Enterprise credit reports served from a prebuilt index over the std zone and the credit topic.

Once the 守信通 credit topic has run, a report shows the topic's grade: the newest run of
``topic/credit_scores`` (scorecard points, rule points, the dishonesty hard rule, reasons in zh-CN
and en — see ``citybrain.topics.builtin.credit``), with any later credit repair applied. An
enterprise the topic has not graded (or a lake where it never ran) gets the simple score below —
a documented score from what the std zone holds, starting at 100:

=========================================  ===========================  =========
signal                                     rule                         points
=========================================  ===========================  =========
registration status (企业登记)              not 存续 / 在业 / 开业         −30
court dishonesty list (失信被执行人)         each listing, at most 2       −40 each
administrative penalties (行政处罚)          each, at most 3               −10 each
credit commitments (信用承诺)               each broken (未履约)            −15 each
                                           each kept (已履约), at most 2   +5 each
tax declarations (纳税申报)                 none in the latest 6 periods  −10
=========================================  ===========================  =========

Clamped to 0–100; grade A ≥ 90, B ≥ 75, C ≥ 60, D below. Every change of score is a reason in
zh-CN and en. The legal representative's name is personal and always masked here.

A lookup must not query five lake tables (that cost tens of milliseconds and serialised every
request on the lake reader). Instead one engine query per input table counts every enterprise's
signals at once into ``CreditIndex``, an Arrow table sorted by USCC with a NumPy key array for
binary search. ``CreditIndexCache`` rebuilds it when any input table changes — a lake write
replaces a table's folder or adds a partition folder to it, so the folders' inode and mtime are
its version. Five ``stat`` calls cost up to a millisecond on a busy file system, so the version is
read at most every ``check_seconds`` (``ApiSettings.index_check_seconds``): a report reflects a
load within that time.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from pydantic import BaseModel, Field

from citybrain.api.security.masking import PiiKind, mask_array
from citybrain.core.engine import Engine

ACTIVE_STATUSES = ("存续", "在业", "开业", "active")
BROKEN, KEPT = "未履约", "已履约"
GRADES = ((90, "A"), (75, "B"), (60, "C"), (0, "D"))
RECENT_PERIODS = 6
# Input table → the column naming the enterprise.
INPUTS = {
    "enterprise_registration": "uscc",
    "penalty": "uscc",
    "dishonest_judgment": "identifier",
    "commitment": "uscc",
    "tax_declaration": "uscc",
}
# An enterprise has a report when one of these holds a row of it.
DEFINING = ("enterprise_registration", "penalty", "tax_declaration")
# The credit topic's grades (newest run) and the credit repairs since (see the topic's repair).
TOPIC_SCORES = ("topic", "credit_scores")
TOPIC_METHOD = (
    "守信通 credit topic {version} (scorecard + rules; see the credit topic's documentation)"
)
REGISTRATION_FIELDS = ("name", "status", "legal_rep_name", "industry_code")
COUNTS = ("registered", "dishonest", "penalties", "broken", "kept", "recent_tax")


class CreditReason(BaseModel):
    signal: str
    points: int
    text_zh: str
    text_en: str


class CreditReport(BaseModel):
    uscc: str
    name: str | None
    status: str | None
    legal_rep_name: str | None = Field(description="masked")
    industry_code: str | None
    score: int
    grade: str
    reasons: list[CreditReason]
    method: str = "citybrain simple credit score v1 (see the API documentation)"
    period: str | None = Field(None, description="month the grade is as of (credit topic)")


Version = tuple[tuple[str, int, int] | None, ...]


def lake_version(engine_root: os.PathLike[str] | str) -> Version:
    """Inode and mtime of each input table's folder (None: absent)."""
    out: list[tuple[str, int, int] | None] = []
    for zone, name in [*(("std", n) for n in INPUTS), TOPIC_SCORES]:
        try:
            st = (Path(engine_root) / zone / name).stat()
        except FileNotFoundError:
            out.append(None)
            continue
        out.append((name, st.st_ino, st.st_mtime_ns))
    return tuple(out)


@dataclass(frozen=True)
class CreditIndex:
    """Every enterprise's credit signals, sorted by USCC."""

    version: Version
    keys: np.ndarray[Any, np.dtype[np.bytes_]]
    table: pa.Table  # uscc, name, status, legal_rep_name (masked), industry_code, COUNTS

    @property
    def size(self) -> int:
        return int(self.table.num_rows)

    def report(self, uscc: str) -> CreditReport | None:
        key = uscc.encode()
        i = int(np.searchsorted(self.keys, key))
        if i >= len(self.keys) or self.keys[i] != key:
            return None
        row = {name: array[i].as_py() for name, array in self.columns}
        if row.get("topic_grade") is not None:
            return topic_report(row)
        return score(row)

    @functools.cached_property
    def columns(self) -> list[tuple[str, pa.Array]]:
        """The table's columns as single arrays: indexing one is a quarter of a column's cost."""
        table = self.table.combine_chunks()
        return [(name, table.column(name).combine_chunks()) for name in table.column_names]


def topic_report(row: dict[str, Any]) -> CreditReport:
    """The report of one enterprise the credit topic graded."""
    reasons = [
        _reason(r["signal"], int(r["points"]), r["text_zh"], r["text_en"])
        for r in row["topic_reasons"] or []
    ]
    return CreditReport(
        uscc=row["uscc"], name=row["name"], status=row["status"],
        legal_rep_name=row["legal_rep_name"], industry_code=row["industry_code"],
        score=int(row["topic_score"]), grade=row["topic_grade"], reasons=reasons,
        method=TOPIC_METHOD.format(version=row["topic_version"]), period=row["topic_period"],
    )  # fmt: skip


def topic_scores(engine: Engine) -> ir.Table | None:
    """The newest credit-topic run's grades, one row per USCC (None: the topic never ran)."""
    if not engine.exists(*TOPIC_SCORES):
        return None
    table = engine.table(*TOPIC_SCORES)
    newest = table.filter(table.run_id == table.run_id.max())
    return (
        newest.select(
            "uscc", topic_score="score", topic_grade="grade", topic_reasons="reasons",
            topic_version="model_version", topic_period="period",
        )
    )  # fmt: skip


def _reason(signal: str, points: int, zh: str, en: str) -> CreditReason:
    return CreditReason(signal=signal, points=points, text_zh=zh, text_en=en)


def score(row: dict[str, Any]) -> CreditReport:
    """The report of one enterprise from its index row."""
    reasons: list[CreditReason] = []
    status = row["status"]
    if row["registered"] and status not in ACTIVE_STATUSES:
        reasons.append(
            _reason("registration_status", -30, f"登记状态为{status}", f"registered as {status}")
        )
    if listed := row["dishonest"]:
        reasons.append(
            _reason("dishonest_judgment", -40 * min(listed, 2), f"列入失信被执行人名单{listed}次",
                    f"on the court dishonesty list {listed} time(s)")
        )  # fmt: skip
    if fined := row["penalties"]:
        noun = "penalty" if fined == 1 else "penalties"
        reasons.append(
            _reason("penalty", -10 * min(fined, 3), f"受到行政处罚{fined}次",
                    f"{fined} administrative {noun}")
        )  # fmt: skip
    if broken := row["broken"]:
        reasons.append(
            _reason("commitment_broken", -15 * broken, f"{broken}项信用承诺未履约",
                    f"{broken} credit commitment(s) broken")
        )  # fmt: skip
    if kept := min(row["kept"], 2):
        reasons.append(
            _reason("commitment_kept", 5 * kept, f"{kept}项信用承诺经核查已履约",
                    f"{kept} credit commitment(s) checked and kept")
        )  # fmt: skip
    if not row["recent_tax"]:
        reasons.append(
            _reason("tax_declaration", -10, "最近6个申报期无纳税申报",
                    "no tax declared in the latest 6 periods")
        )  # fmt: skip
    total = max(0, min(100, 100 + sum(r.points for r in reasons)))
    grade = next(letter for floor, letter in GRADES if total >= floor)
    return CreditReport(
        uscc=row["uscc"], name=row["name"], status=status, legal_rep_name=row["legal_rep_name"],
        industry_code=row["industry_code"], score=total, grade=grade, reasons=reasons,
    )  # fmt: skip


def _input(engine: Engine, name: str) -> ir.Table | None:
    """``std.<name>`` with its key column renamed ``uscc``, or None when unusable."""
    if not engine.exists("std", name):
        return None
    table = engine.table("std", name)
    key = INPUTS[name]
    if key not in table.columns:
        return None
    table = table.filter(table[key].notnull())
    return table if key == "uscc" else table.rename(uscc=key)


def _count(table: ir.Table | None, name: str, where: ir.BooleanValue | None = None) -> ir.Table:
    if table is None:
        return ibis.memtable(
            pa.table({"uscc": pa.array([], pa.string()), name: pa.array([], pa.int64())})
        )
    return table.group_by("uscc").aggregate(**{name: table.count(where=where)})


def build_index(engine: Engine, version: Version) -> CreditIndex:
    """Count every enterprise's signals in the engine and sort them by USCC."""
    tables = {name: _input(engine, name) for name in INPUTS}
    defining = [
        t.select(uscc=t.uscc.cast("string")) for n in DEFINING if (t := tables[n]) is not None
    ]
    if not defining:
        empty = pa.table({"uscc": pa.array([], pa.string())})
        return CreditIndex(version, np.array([], dtype="S1"), empty)
    ids = ibis.union(*defining, distinct=True)

    registration = tables["enterprise_registration"]
    if registration is not None:
        missing = [c for c in REGISTRATION_FIELDS if c not in registration.columns]
        registration = registration.mutate(**{c: ibis.null("string") for c in missing}).mutate(
            _n=ibis.row_number().over(group_by="uscc")
        )
        first = registration.filter(registration._n == 0)
        reg = first.select(
            "uscc", *(first[c].cast("string").name(c) for c in REGISTRATION_FIELDS),
            registered=ibis.literal(1),
        )  # fmt: skip
    else:
        reg = ibis.memtable(
            pa.table({"uscc": pa.array([], pa.string()),
                      **{c: pa.array([], pa.string()) for c in REGISTRATION_FIELDS},
                      "registered": pa.array([], pa.int64())})
        )  # fmt: skip

    commitment = tables["commitment"]
    has_result = commitment is not None and "check_result" in commitment.columns
    parts = {
        "dishonest": _count(tables["dishonest_judgment"], "dishonest"),
        "penalties": _count(tables["penalty"], "penalties"),
        "broken": _count(
            commitment if has_result else None, "broken",
            commitment.check_result == BROKEN if has_result and commitment is not None else None,
        ),
        "kept": _count(
            commitment if has_result else None, "kept",
            commitment.check_result == KEPT if has_result and commitment is not None else None,
        ),
    }  # fmt: skip
    taxes = tables["tax_declaration"]
    if taxes is not None and "period" in taxes.columns:
        periods = (
            taxes.select("period").distinct().order_by(ibis.desc("period")).limit(RECENT_PERIODS)
        )
        recent = taxes.filter(taxes.period.isin(periods.period))
        parts["recent_tax"] = _count(recent, "recent_tax")
    else:
        parts["recent_tax"] = _count(None, "recent_tax")

    joined = ids.left_join(reg, "uscc").drop("uscc_right")
    for part in parts.values():
        part = part.mutate(uscc=part.uscc.cast("string"))
        joined = joined.left_join(part, "uscc").drop("uscc_right")
    joined = joined.mutate(**{c: joined[c].fill_null(0).cast("int64") for c in COUNTS})
    graded = topic_scores(engine)
    if graded is not None:
        joined = joined.left_join(graded, "uscc").drop("uscc_right")
    table = engine.to_arrow(joined.order_by("uscc")).combine_chunks()
    masked = mask_array(table["legal_rep_name"], PiiKind.NAME)
    table = table.set_column(
        table.schema.get_field_index("legal_rep_name"), "legal_rep_name", masked
    )
    usccs = table["uscc"].to_pylist()
    width = max((len(u.encode()) for u in usccs), default=1)
    keys = np.array([u.encode() for u in usccs], dtype=f"S{width}")
    return CreditIndex(version, keys, table)


class CreditIndexCache:
    """The current index for a lake; rebuilt (once, whoever asks first) when the inputs change."""

    def __init__(
        self,
        lake_root: os.PathLike[str] | str,
        check_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lake_root = lake_root
        self.check_seconds = check_seconds
        self._clock = clock
        self._checked_at = -math.inf
        self._index: CreditIndex | None = None
        self._lock = threading.Lock()

    def fresh(self) -> CreditIndex | None:
        """The index if it matches the lake (as of the last check), else None: then call
        ``rebuild`` off the event loop."""
        index = self._index
        if index is None:
            return None
        now = self._clock()
        if now - self._checked_at < self.check_seconds:
            return index
        if index.version != lake_version(self.lake_root):
            return None
        self._checked_at = now
        return index

    def rebuild(self, engine_for: Any) -> CreditIndex:
        """Build from the lake; ``engine_for`` is a context manager giving the lake engine."""
        with self._lock:
            version = lake_version(self.lake_root)
            index = self._index
            if index is None or index.version != version:
                with engine_for() as engine:
                    index = build_index(engine, version)
                self._index = index
            self._checked_at = self._clock()
            return index
