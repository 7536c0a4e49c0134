"""Enterprise credit reports served from a prebuilt index over the std zone and the credit topic.

A report shows the 守信通 credit topic's grade: the newest run of ``topic/credit_scores``
(scorecard points, rule points, the dishonesty hard rule, reasons in zh-CN and en — see
``citybrain.topics.builtin.credit``). There is no other score: an enterprise the std zone knows
(registration, penalty or tax record) but the topic has not graded is reported "未评级 / not
graded" (``grade`` and ``score`` null) with why — the credit topic has not run on this lake
(``topic_not_run``), or its newest run had no data on the enterprise: the records came after the
run, or were too few to grade (``insufficient_data``). The legal representative's name is
personal and always masked here.

A lookup must not query the lake (that cost tens of milliseconds and serialised every request on
the lake reader). Instead one engine query per input table lists every enterprise at once into
``CreditIndex``, an Arrow table sorted by USCC with a NumPy key array for binary search.
``CreditIndexCache`` rebuilds it when any input table changes — a lake write replaces a table's
folder or adds a partition folder to it, so the folders' inode and mtime are its version. The
``stat`` calls cost up to a millisecond on a busy file system, so the version is read at most
every ``check_seconds`` (``ApiSettings.index_check_seconds``): a report reflects a load within
that time.
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

# Input table → the column naming the enterprise. An enterprise has a report when one of them
# holds a row of it (the same subjects the credit topic grades).
INPUTS = {
    "enterprise_registration": "uscc",
    "penalty": "uscc",
    "tax_declaration": "uscc",
}
# The credit topic's grades (newest run; credit repairs re-run the topic, see its repair module).
TOPIC_SCORES = ("topic", "credit_scores")
TOPIC_METHOD = (
    "守信通 credit topic {version} (scorecard + rules; see the credit topic's documentation)"
)
NOT_GRADED_METHOD = "守信通 credit topic: not graded"
REGISTRATION_FIELDS = ("name", "status", "legal_rep_name", "industry_code")
#: why an enterprise has no grade: code → (zh, en)
NOT_GRADED: dict[str, tuple[str, str]] = {
    "topic_not_run": (
        "未评级：守信通信用评价尚未在本数据湖运行",
        "not graded: the 守信通 credit topic has not run on this lake yet",
    ),
    "insufficient_data": (
        "未评级：最近一次信用评价时尚无该企业的足够数据（记录在评价之后入湖或不足以评分）",
        "not graded: the newest credit run had too little data on this enterprise (its records"
        " arrived after that run, or were too few to grade)",
    ),
}


class CreditReason(BaseModel):
    signal: str
    points: int
    text_zh: str
    text_en: str


class NotGraded(BaseModel):
    code: str = Field(description="topic_not_run | insufficient_data")
    text_zh: str
    text_en: str


class CreditReport(BaseModel):
    uscc: str
    name: str | None
    status: str | None
    legal_rep_name: str | None = Field(description="masked")
    industry_code: str | None
    graded: bool = Field(description="false: 未评级 / not graded, see not_graded")
    score: int | None = Field(description="0–100; null when not graded")
    grade: str | None = Field(description="A/B/C/D; null when not graded (未评级)")
    reasons: list[CreditReason]
    not_graded: NotGraded | None = Field(None, description="why there is no grade")
    method: str
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
    """Every enterprise's registration fields and its topic grade (if any), sorted by USCC."""

    version: Version
    keys: np.ndarray[Any, np.dtype[np.bytes_]]
    table: pa.Table  # uscc, REGISTRATION_FIELDS (legal_rep_name masked), topic_* columns
    topic_ran: bool = False

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
        return not_graded(row, "insufficient_data" if self.topic_ran else "topic_not_run")

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
        legal_rep_name=row["legal_rep_name"], industry_code=row["industry_code"], graded=True,
        score=int(row["topic_score"]), grade=row["topic_grade"], reasons=reasons,
        method=TOPIC_METHOD.format(version=row["topic_version"]), period=row["topic_period"],
    )  # fmt: skip


def not_graded(row: dict[str, Any], code: str) -> CreditReport:
    """The report of an enterprise without a grade: 未评级 / not graded, and why."""
    zh, en = NOT_GRADED[code]
    return CreditReport(
        uscc=row["uscc"], name=row["name"], status=row["status"],
        legal_rep_name=row["legal_rep_name"], industry_code=row["industry_code"], graded=False,
        score=None, grade=None, reasons=[], not_graded=NotGraded(code=code, text_zh=zh, text_en=en),
        method=NOT_GRADED_METHOD, period=row.get("topic_period"),
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


def build_index(engine: Engine, version: Version) -> CreditIndex:
    """List every enterprise with its registration fields and topic grade, sorted by USCC."""
    tables = {name: _input(engine, name) for name in INPUTS}
    defining = [t.select(uscc=t.uscc.cast("string")) for t in tables.values() if t is not None]
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
            uscc=first.uscc.cast("string"),
            **{c: first[c].cast("string") for c in REGISTRATION_FIELDS},
        )
    else:
        reg = ibis.memtable(
            pa.table({"uscc": pa.array([], pa.string()),
                      **{c: pa.array([], pa.string()) for c in REGISTRATION_FIELDS}})
        )  # fmt: skip

    joined = ids.left_join(reg, "uscc").drop("uscc_right")
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
    return CreditIndex(version, keys, table, topic_ran=graded is not None)


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


# Residents' credit (守信通·个人): the newest run of the topic's person grades, one person per look.
PERSON_SCORES = ("topic", "credit_person_scores")
PERSON_MASKED = (
    "个人信用等级属于个人信息，已遮蔽；持有覆盖此人的脱敏授权方可查看（查看将记入审计日志）",
    "a resident's credit grade is personal data and is masked; an unmask grant covering this"
    " person shows it (and the look is audited)",
)


class PersonCreditReport(BaseModel):
    golden_person_id: str
    graded: bool = Field(description="false: 未评级 / not graded, see not_graded")
    masked: bool = Field(description="true: grade, score and reasons withheld (personal data)")
    masked_text: NotGraded | None = Field(None, description="why the grade is withheld")
    score: int | None = Field(description="0–100; null when not graded or masked")
    grade: str | None = Field(description="A/B/C/D; null when not graded or masked")
    reasons: list[CreditReason]
    not_graded: NotGraded | None = Field(None, description="why there is no grade")
    method: str
    period: str | None = Field(None, description="month the grade is as of (credit topic)")


def person_grade(engine: Engine, golden_id: str) -> dict[str, Any] | bool | None:
    """The newest credit run's row of one golden person; None: not graded by that run; False:
    the topic has never graded residents on this lake."""
    if not engine.exists(*PERSON_SCORES):
        return False
    table = engine.table(*PERSON_SCORES)
    newest = table.filter(table.run_id == table.run_id.max())
    row = engine.to_arrow(
        newest.filter(newest.golden_person_id == golden_id).select(
            "score", "grade", "reasons", "model_version", "period"
        )
    )
    return row.to_pylist()[0] if row.num_rows else None


def person_report(
    golden_id: str, row: dict[str, Any] | bool | None, clear: bool
) -> PersonCreditReport:
    """A resident's report: masked (no grade, score or reasons) unless ``clear``."""
    if not isinstance(row, dict):
        code = "topic_not_run" if row is False else "insufficient_data"
        zh, en = NOT_GRADED[code]
        return PersonCreditReport(
            golden_person_id=golden_id, graded=False, masked=False, score=None, grade=None,
            reasons=[], not_graded=NotGraded(code=code, text_zh=zh, text_en=en),
            method=NOT_GRADED_METHOD,
        )  # fmt: skip
    method = TOPIC_METHOD.format(version=row["model_version"])
    if not clear:
        zh, en = PERSON_MASKED
        return PersonCreditReport(
            golden_person_id=golden_id, graded=True, masked=True, score=None, grade=None,
            reasons=[], masked_text=NotGraded(code="masked", text_zh=zh, text_en=en),
            method=method, period=row["period"],
        )  # fmt: skip
    reasons = [
        _reason(r["signal"], int(r["points"]), r["text_zh"], r["text_en"])
        for r in row["reasons"] or []
    ]
    return PersonCreditReport(
        golden_person_id=golden_id, graded=True, masked=False, score=int(row["score"]),
        grade=row["grade"], reasons=reasons, method=method, period=row["period"],
    )  # fmt: skip
