"""The audit log: append-only, hash-chained, verifiable.

Each row's ``row_hash`` is SHA-256 over its canonical content (sorted-key JSON of every column but
the hash itself, including ``prev_hash``). Changing, deleting or inserting a row anywhere breaks the
chain from that row on, and ``verify_audit`` names the first row that does not add up.

There is deliberately no update or delete function here. On PostgreSQL the migration adds a trigger
that refuses UPDATE, DELETE and TRUNCATE on ``audit_log`` as well.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from citybrain.api.opsdb_models import AuditLog
from citybrain.core.opsdb import session, utcnow

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
MAX_SUBJECTS = 1000
_VERIFY_BATCH = 5000


def canonical(
    *,
    seq: int,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    endpoint: str,
    subjects: Sequence[str],
    purpose: str | None,
    detail: dict[str, Any],
    prev_hash: str,
) -> bytes:
    content = {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "role": role,
        "action": action,
        "endpoint": endpoint,
        "subjects": list(subjects),
        "purpose": purpose,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def row_hash_of(row: AuditLog) -> str:
    return hashlib.sha256(
        canonical(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            role=row.role,
            action=row.action,
            endpoint=row.endpoint,
            subjects=row.subjects,
            purpose=row.purpose,
            detail=row.detail,
            prev_hash=row.prev_hash,
        )
    ).hexdigest()


def _lock_tail(db: Session) -> None:
    """Serialise appenders so two rows never claim the same predecessor.

    SQLite: every transaction of ours starts with BEGIN IMMEDIATE (see core.opsdb.connect), which
    already holds the write lock. PostgreSQL: a transaction-scoped advisory lock.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(7302101)"))


@dataclass(frozen=True)
class AuditEntry:
    """One audit row before it has a place in the chain."""

    actor: str
    role: str
    action: str
    endpoint: str
    subjects: Sequence[str] = ()
    purpose: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None


@dataclass(frozen=True)
class Appended:
    """Where a row landed in the chain."""

    seq: int
    row_hash: str


def append(
    db: Session,
    *,
    actor: str,
    role: str,
    action: str,
    endpoint: str,
    subjects: Sequence[str] = (),
    purpose: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Appended:
    """Append one row in the caller's transaction; it becomes visible when that commits."""
    entry = AuditEntry(actor, role, action, endpoint, subjects, purpose, detail or {}, at)
    return append_many(db, [entry])[0]


def append_many(db: Session, entries: Sequence[AuditEntry]) -> list[Appended]:
    """Append rows in order in the caller's transaction, each chained to the one before.

    Plain values and one Core ``executemany``, no ORM objects: the audit writer calls this for
    every group of requests, so its cost per row is the cost of an audited request.
    """
    _lock_tail(db)
    last = db.execute(
        select(AuditLog.seq, AuditLog.row_hash).order_by(AuditLog.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last[0], last[1]) if last else (0, GENESIS_HASH)
    values: list[dict[str, Any]] = []
    placed: list[Appended] = []
    for entry in entries:
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "at": (entry.at or utcnow()).astimezone(UTC),
            "actor": entry.actor[:64],
            "role": entry.role[:32],
            "action": entry.action[:64],
            "endpoint": entry.endpoint[:512],
            "subjects": [str(s) for s in list(entry.subjects)[:MAX_SUBJECTS]],
            "purpose": entry.purpose,
            # A JSON round trip makes the stored detail exactly what verification reads back.
            "detail": json.loads(json.dumps(entry.detail, default=str)) if entry.detail else {},
            "prev_hash": prev_hash,
        }
        row["row_hash"] = prev_hash = hashlib.sha256(canonical(**row)).hexdigest()
        values.append(row)
        placed.append(Appended(seq, prev_hash))
    db.connection().execute(insert(AuditLog), values)  # Core executemany, no ORM bulk path
    return placed


class AuditUnavailable(RuntimeError):
    """The audit log could not be written; the request that needed it must not proceed."""


class AuditWriter:
    """Group commit for the audit log: many requests' rows in one transaction.

    ``submit`` queues a row and returns a future that completes when the row is committed, so a
    request can wait for its audit row to be durable before it answers (``wait`` from a worker
    thread, ``await asyncio.wrap_future(...)`` from the event loop). One writer thread takes
    whatever is queued — waiting at most ``flush_ms`` after the first row for more to arrive —
    and appends it with ``append_many`` in one transaction: the chain is the same as with one
    row per transaction, while a commit is paid once per group instead of once per request.
    If the commit fails every waiting request gets ``AuditUnavailable`` (fail closed), and
    ``healthy`` stays False until a commit succeeds again, so callers that do not wait (reads, see
    ``citybrain.api.deps.Require``) can refuse as well.
    """

    def __init__(self, ops_engine: SqlEngine, flush_ms: float = 2.0, max_batch: int = 1000) -> None:
        self.ops_engine = ops_engine
        self.flush_seconds = flush_ms / 1000
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[AuditEntry, Future[int]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self.healthy = True

    def submit(self, entry: AuditEntry) -> Future[int]:
        """Queue ``entry``; the future's result is the row's ``seq`` once committed."""
        future: Future[int] = Future()
        if self._closed:
            future.set_exception(AuditUnavailable("the audit writer is shut down"))
            return future
        if self._thread is None:
            self._start()
        self._queue.put((entry, future))
        return future

    def write(self, entry: AuditEntry, timeout: float = 30.0) -> int:
        """Queue ``entry`` and block until it is committed (from threads, not the event loop)."""
        try:
            return self.submit(entry).result(timeout)
        except TimeoutError:
            raise AuditUnavailable("the audit log did not commit in time") from None

    def stop(self) -> None:
        """Commit what is queued and stop the writer thread; the next ``submit`` starts it again
        (an app's lifespan may end and begin again, as test clients do)."""
        with self._start_lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join(timeout=30)
                self._thread = None
        if not self._queue.empty():  # a row queued while the thread was stopping
            self._start()

    def close(self) -> None:
        """Commit what is queued and refuse every later row."""
        self._closed = True
        self.healthy = False
        self.stop()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            deadline = time.monotonic() + self.flush_seconds
            while len(batch) < self.max_batch:
                remaining = deadline - time.monotonic()
                try:
                    item = (
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else (self._queue.get_nowait())
                    )
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[tuple[AuditEntry, Future[int]]]) -> None:
        try:
            with session(self.ops_engine) as db:
                rows = append_many(db, [entry for entry, _ in batch])
        except Exception as exc:  # any database failure: nobody's row is in the log
            log.error("audit log write failed for %d row(s): %s", len(batch), exc)
            self.healthy = False
            for _, future in batch:
                future.set_exception(AuditUnavailable(f"the audit log cannot be written: {exc}"))
            return
        self.healthy = True
        for (_, future), row in zip(batch, rows, strict=True):
            future.set_result(row.seq)


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking the chain; ``first_broken_seq`` names the first bad row."""

    passed: bool
    rows_checked: int
    first_broken_seq: int | None = None
    reason: str | None = None

    @property
    def message(self) -> str:
        if self.passed:
            return f"audit log intact: {self.rows_checked} rows, chain verified"
        return f"audit log BROKEN at row {self.first_broken_seq}: {self.reason}"


def verify_audit(ops_engine: SqlEngine) -> VerifyResult:
    """Recompute every row's hash and link, in order; stop at the first that does not add up."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    with session(ops_engine) as db:
        after = 0
        while True:
            rows = db.scalars(
                select(AuditLog).where(AuditLog.seq > after).order_by(AuditLog.seq)
                .limit(_VERIFY_BATCH)
            ).all()  # fmt: skip
            if not rows:
                break
            for row in rows:
                if row.seq != expected_seq:
                    return VerifyResult(
                        False, checked, expected_seq, f"row {expected_seq} is missing"
                    )
                if row.prev_hash != expected_prev:
                    return VerifyResult(
                        False, checked, row.seq, "prev_hash does not match the row before"
                    )
                if row_hash_of(row) != row.row_hash:
                    return VerifyResult(
                        False, checked, row.seq, "content does not match its hash (row altered)"
                    )
                expected_prev = row.row_hash
                expected_seq += 1
                checked += 1
            after = rows[-1].seq
            db.expunge_all()
    return VerifyResult(True, checked)
