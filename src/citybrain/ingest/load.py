"""Land data in the raw zone: read in chunks, map, quarantine, commit.

:func:`load_file` lands one delivered file; :func:`land_stream` lands what a stream reader yields
(SQL, HTTP, MQTT, push, NGSI-LD). Both drive the same :class:`Loader` (drift, mapping, quarantine,
counting) into the same staging, so every load reconciles the same way — rows read = rows landed +
rows quarantined — and this is checked before it commits. Nothing of a load that fails or is
killed is visible in the lake.

A file load overlaps its stages: a reader thread parses the next chunk, two workers map chunks and
the caller writes them in order (Arrow releases the GIL in all three). Memory stays at a few chunks.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.errors import UserError
from citybrain.ingest.connectors import DEFAULT_CHUNK_BYTES, Chunk, open_file
from citybrain.ingest.connectors.base import DEFAULT_CHUNK_ROWS, INTERNAL, StreamReader
from citybrain.ingest.contract import SourceContract
from citybrain.ingest.manifest import DriftReport, Manifest
from citybrain.ingest.mapping import (
    MappedChunk,
    MappingPlan,
    apply_plan,
    detect_drift,
    plan_mapping,
)
from citybrain.ingest.prefetch import prefetch
from citybrain.ingest.quarantine import count_reasons, quarantine_table
from citybrain.ingest.rawzone import LoadStaging, RawZone

log = logging.getLogger(__name__)
SCHEMA_DRIFT = "schema_drift"
MAP_WORKERS = 2  # the machines we aim at have a few cores; more workers only hold more chunks
_HASHER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cb-checksum")


class LoadFailed(UserError):
    """A load that stopped before committing; nothing of it is visible in the lake."""


@dataclass(frozen=True)
class ProgressEvent:
    system: str
    file: str
    phase: Literal["start", "chunk", "done", "failed", "skipped"]
    rows_read: int = 0
    rows_landed: int = 0
    rows_quarantined: int = 0
    bytes_read: int = 0
    bytes_total: int = 0


Progress = Callable[[ProgressEvent], None]


@dataclass
class LoadOptions:
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    force: bool = False  # land a file again even if a completed load has the same checksum
    # A file changed less than this before its load is not trusted by its stat next time (the
    # file system's clock ticks coarsely: a write in the same tick would keep the same times)
    settled_seconds: float = 2.0


def new_load_id() -> str:
    """Sortable and unique: ``load-20261125T111620123456-1a2b3c4d``.

    Microseconds, so that two loads of one second still sort in the order they were made (the
    newest load of a system wins survivorship; a random tie would change golden fields)."""
    return f"load-{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}"


def stat_key(stat: os.stat_result) -> str:
    """A file as the file system knows it: size, modification and change times (ns), inode and
    device. The change time cannot be set back by anyone: a file rewritten, even to the same
    size and modification time, or replaced by another, has another key."""
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}:{stat.st_dev}"


def file_checksum(path: Path) -> str:
    with path.open("rb") as handle:
        return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()


def contract_hash(contract: SourceContract) -> str:
    return "sha256:" + hashlib.sha256(contract.model_dump_json().encode()).hexdigest()[:16]


def schema_hash(schema: pa.Schema) -> str:
    text = ";".join(f"{f.name}:{f.type}" for f in schema)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def load_file(
    lake: Path,
    contract: SourceContract,
    path: Path,
    *,
    options: LoadOptions | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """Land one file of a source; return its manifest (status completed, skipped or failed).

    A data or file problem gives a failed manifest (kept under ``raw/<system>/_failed/``), never an
    exception; only a bug raises, and even then nothing partial is visible.
    """
    options = options or LoadOptions()
    notify = progress or (lambda event: None)
    with _locked(lake, contract) as zone:
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        read_from = time.time_ns()
        before = path.stat()
        size = before.st_size
        if not options.force and (same := zone.completed_with_stat(str(path), stat_key(before))):
            # the very file landed before and unchanged since: not read again (a nightly run
            # would otherwise hash every file ever delivered)
            return _skipped(same, contract, path, notify, "unchanged since")
        hashing: Future[str] | None = None
        checksum = ""
        if options.force or not zone.completed_with_size(size):
            # no landed file has this size, so none has this checksum: hash beside the load
            hashing = _HASHER.submit(file_checksum, path)
        else:
            checksum = file_checksum(path)
            if (done := zone.completed_with_checksum(checksum)) is not None:
                return _skipped(done, contract, path, notify, "the same bytes")
        manifest = _new_manifest(
            contract,
            source_file=str(path),
            started_at=started,
            input_bytes=size,
            input_checksum=checksum,
            timings={"checksum": time.perf_counter() - t0},
        )

        def run(staging: LoadStaging) -> None:
            notify(ProgressEvent(contract.id, str(path), "start", bytes_total=size))
            try:
                _run(contract, path, manifest, staging, options, notify)
            except UserError:
                if hashing is not None:
                    with contextlib.suppress(OSError):  # a failed load names its input too
                        manifest.input_checksum = hashing.result()
                raise
            if hashing is not None:
                manifest.input_checksum = hashing.result()
            manifest.input_stat = _settled_stat(path, before, read_from, options.settled_seconds)

        return _stage(zone, manifest, t0, notify, run)


def _skipped(
    done: Manifest, contract: SourceContract, path: Path, notify: Progress, how: str
) -> Manifest:
    notify(
        ProgressEvent(
            contract.id, str(path), "skipped", done.rows_read, bytes_total=done.input_bytes
        )
    )
    message = f"already landed by {done.load_id} ({how})"
    return done.model_copy(update={"status": "skipped", "message": message})


def _settled_stat(
    path: Path, before: os.stat_result, read_from: int, settled_seconds: float
) -> str:
    """``before``'s key when the file was the same after its read as before it, and had not
    changed within ``settled_seconds`` before the read began (``read_from``, ns); else "" (the
    file is hashed next time)."""
    try:
        after = path.stat()
    except OSError:
        return ""
    key = stat_key(before)
    settled = read_from - before.st_ctime_ns > settled_seconds * 1e9
    return key if settled and stat_key(after) == key else ""


@contextlib.contextmanager
def _locked(lake: Path, contract: SourceContract) -> Iterator[RawZone]:
    """The system's raw zone under its lock, the leftovers of killed loads removed."""
    zone = RawZone(lake, contract.id)
    with zone.lock():
        for leftover in zone.recover():
            log.warning("removed leftover of an interrupted load: %s", leftover)
        yield zone


def _new_manifest(
    contract: SourceContract, *, source_file: str, started_at: datetime | None = None, **fields: Any
) -> Manifest:
    return Manifest(
        load_id=new_load_id(),
        system=contract.id,
        source_name=contract.name,
        owner=contract.owner,
        connector=contract.connector.kind,
        source_file=source_file,
        contract_hash=contract_hash(contract),
        started_at=started_at or datetime.now(UTC),
        **fields,
    )


def _stage(
    zone: RawZone,
    manifest: Manifest,
    t0: float,
    notify: Progress,
    run: Callable[[LoadStaging], None],
    settle: Callable[[Manifest], Manifest | None] = lambda manifest: None,
) -> Manifest:
    """The landing skeleton of file and stream loads: stage, ``run`` (fill staging and manifest),
    commit. A :class:`UserError` fails the load, anything else is a bug, recorded and raised;
    neither leaves anything visible. ``settle`` may add to the manifest, or return another one
    to give instead of committing (a skip)."""
    staging = zone.begin(manifest.load_id)
    try:
        run(staging)
    except UserError as exc:
        staging.abort()
        return record_failed(zone, manifest, str(exc), t0, notify)
    except BaseException as exc:
        staging.abort()
        message = f"internal error: {type(exc).__name__}: {exc}"
        record_failed(zone, manifest, message, t0, notify)
        raise
    instead = settle(manifest)
    if instead is not None:
        staging.abort()
        return instead
    manifest.status = "completed"
    manifest.finished_at = datetime.now(UTC)
    manifest.timings["total"] = time.perf_counter() - t0
    staging.commit(manifest)
    rows = (manifest.rows_read, manifest.rows_landed, manifest.rows_quarantined)
    size = manifest.input_bytes
    notify(ProgressEvent(manifest.system, manifest.source_file, "done", *rows, size, size))
    return manifest


def record_failed(
    zone: RawZone, manifest: Manifest, message: str, t0: float, notify: Progress
) -> Manifest:
    """Mark a load failed, keep its manifest under ``raw/<system>/_failed/`` and say so."""
    manifest.status = "failed"
    manifest.message = message
    manifest.finished_at = datetime.now(UTC)
    manifest.timings["total"] = time.perf_counter() - t0
    zone.record_failure(manifest)
    notify(ProgressEvent(manifest.system, manifest.source_file, "failed", manifest.rows_read))
    return manifest


class Loader:
    """The per-chunk work of one load: drift, mapping, writing, counting.

    :meth:`map` is pure given the plan and may run in worker threads (:meth:`map_ahead`) or in turn
    (:meth:`map_in_turn`); :meth:`land` writes and counts and runs in one thread, in chunk order.
    """

    def __init__(
        self, contract: SourceContract, manifest: Manifest, staging: LoadStaging, fixed: bool
    ) -> None:
        self.contract = contract
        self.manifest = manifest
        self.staging = staging
        self.fixed = fixed
        self.plans: dict[pa.Schema, MappingPlan] = {}
        self.reasons: Counter[str] = Counter()
        self.watermark: Any = None
        self.seconds: dict[str, float] = {"map": 0.0, "write": 0.0}
        self._plan_lock = threading.Lock()

    def plan_for(self, schema: pa.Schema) -> MappingPlan:
        with self._plan_lock:
            plan = self.plans.get(schema)
            if plan is None:
                plan = self.plans[schema] = self._plan(schema)
            return plan

    def _plan(self, schema: pa.Schema) -> MappingPlan:
        contract = self.contract
        delivered = {f.name: f.type for f in schema if f.name not in INTERNAL}
        drift = detect_drift(contract.mapping, list(delivered), fixed=self.fixed)
        force: str | None = None
        extra: tuple[str, ...] = ()
        if drift.found:
            report = self.manifest.drift or DriftReport(policy=contract.drift)
            report.unknown = sorted({*report.unknown, *drift.unknown})
            report.missing = sorted({*report.missing, *drift.missing})
            self.manifest.drift = report
            if contract.drift == "fail":
                raise LoadFailed(
                    f"{self.manifest.source_file}: schema drift: {drift.describe()}",
                    hint=f"update the contract of {contract.id} or set drift: quarantine/evolve",
                )
            if contract.drift == "quarantine":
                force = SCHEMA_DRIFT
            else:
                extra = drift.unknown
        return plan_mapping(
            contract.mapping,
            delivered,
            keys=contract.keys,
            extra=extra,
            load_id=self.manifest.load_id,
            force_reason=force,
            source_file=self.manifest.source_file,
        )

    def map(self, chunk: Chunk) -> tuple[MappedChunk, float]:
        """The chunk mapped and split, and the seconds it took."""
        t0 = time.perf_counter()
        mapped = apply_plan(self.plan_for(chunk.table.schema), chunk.table)
        return mapped, time.perf_counter() - t0

    def land(self, chunk: Chunk, mapped: MappedChunk, map_seconds: float = 0.0) -> None:
        t1 = time.perf_counter()
        self.staging.landed.write(mapped.landed)
        bad = quarantine_table(
            mapped.quarantined,
            chunk.rejects,
            file=self.manifest.source_file,
            load_id=self.manifest.load_id,
        )
        self.staging.rejected.write(bad)
        self.seconds["map"] += map_seconds
        self.seconds["write"] += time.perf_counter() - t1
        m = self.manifest
        m.rows_read += chunk.records
        m.rows_landed += mapped.landed.num_rows
        m.rows_quarantined += bad.num_rows
        m.chunks += 1
        if bad.num_rows:
            self.reasons.update(count_reasons(bad.column("_reason")))
        self._track_watermark(mapped.landed)
        if m.rows_read != m.rows_landed + m.rows_quarantined:
            raise AssertionError(f"rows do not reconcile in {m.source_file} chunk {m.chunks}")

    def map_in_turn(self, chunks: Iterator[Chunk]) -> Iterator[tuple[Chunk, MappedChunk, float]]:
        """Map ``chunks`` one after the other in this thread (a stream reader is read in turn)."""
        for chunk in chunks:
            yield chunk, *self.map(chunk)

    def map_ahead(
        self, chunks: Iterator[Chunk], workers: int = MAP_WORKERS
    ) -> Iterator[tuple[Chunk, MappedChunk, float]]:
        """Map ``chunks`` in ``workers`` threads, yielding them in order, mapped."""
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cb-map")
        pending: deque[tuple[Chunk, Future[tuple[MappedChunk, float]]]] = deque()
        try:
            for chunk in chunks:
                pending.append((chunk, pool.submit(self.map, chunk)))
                if len(pending) > workers:
                    done, future = pending.popleft()
                    yield done, *future.result()
            while pending:
                done, future = pending.popleft()
                yield done, *future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def finish(self) -> None:
        """Close the parts and record what the whole load found in its manifest."""
        self.staging.finish()
        manifest = self.manifest
        manifest.timings["map"] = self.seconds["map"]
        manifest.timings["write"] = self.seconds["write"]
        manifest.quarantined_by_reason = dict(self.reasons.most_common())
        schema = self.staging.landed_schema
        if schema is not None:
            manifest.columns = [f.name for f in schema]
            manifest.schema_hash = schema_hash(schema)
        if manifest.drift is not None:
            manifest.warnings.append(f"schema drift handled by policy {manifest.drift.policy}")

    def check(self) -> None:
        """Raise if the load does not reconcile: a bug, never data."""
        m = self.manifest
        if not m.reconciled or sum(self.reasons.values()) != m.rows_quarantined:
            raise AssertionError(f"load {m.load_id} does not reconcile")

    def _track_watermark(self, landed: pa.Table) -> None:
        column = self.contract.refresh.watermark
        if column is None or column not in landed.column_names or landed.num_rows == 0:
            return
        top = pc.max(landed.column(column)).as_py()
        if top is not None and (self.watermark is None or top > self.watermark):
            self.watermark = top


def _run(
    contract: SourceContract,
    path: Path,
    manifest: Manifest,
    staging: LoadStaging,
    options: LoadOptions,
    notify: Progress,
) -> None:
    reader = open_file(
        contract, path, chunk_bytes=options.chunk_bytes, chunk_rows=options.chunk_rows
    )
    manifest.encoding = reader.encoding
    loader = Loader(contract, manifest, staging, reader.fixed_columns)
    t0 = time.perf_counter()
    _land_chunks(loader, loader.map_ahead(prefetch(reader.chunks())), notify, manifest.input_bytes)
    # map runs beside reading and writing; "read" is the time not spent writing
    manifest.timings["read"] = max(time.perf_counter() - t0 - loader.seconds["write"], 0.0)
    if loader.watermark is not None:
        manifest.watermark = str(loader.watermark)
    _check_watermark(contract, manifest, staging.zone)
    check_volume(contract, manifest)
    loader.check()


def _land_chunks(
    loader: Loader,
    mapped: Iterator[tuple[Chunk, MappedChunk, float]],
    notify: Progress,
    size: int | None,
) -> None:
    """Land mapped chunks in order, telling progress after each. A stream's size (``None``) is
    not known up front: the manifest counts what it sent as chunks land."""
    m = loader.manifest
    bytes_read = 0
    for chunk, mapped_chunk, seconds in mapped:
        loader.land(chunk, mapped_chunk, seconds)
        bytes_read += chunk.bytes_read
        if size is None:
            m.input_bytes = bytes_read
        rows = (m.rows_read, m.rows_landed, m.rows_quarantined)
        notify(ProgressEvent(m.system, m.source_file, "chunk", *rows, bytes_read, size or 0))
    loader.finish()


def _check_watermark(contract: SourceContract, manifest: Manifest, zone: RawZone) -> None:
    """An incremental delivery whose newest row is not newer than the last load's is stale."""
    if contract.refresh.mode != "incremental" or manifest.watermark is None:
        return
    previous = [m.watermark for m in zone.manifests() if m.watermark is not None]
    if previous and manifest.watermark <= max(previous):
        manifest.warnings.append(
            f"watermark {manifest.watermark} is not past the last load's ({max(previous)}): "
            "a stale or repeated delivery?"
        )


def check_volume(contract: SourceContract, manifest: Manifest) -> None:
    """Warn when a load reads fewer or more rows than the contract expects."""
    low, high = contract.volume.min_rows, contract.volume.max_rows
    if low is not None and manifest.rows_read < low:
        manifest.warnings.append(f"{manifest.rows_read} rows is fewer than expected ({low})")
    if high is not None and manifest.rows_read > high:
        manifest.warnings.append(f"{manifest.rows_read} rows is more than expected ({high})")


# -------------------------------------------------------------------------------------------------
# streams: data that is read or received rather than delivered as a file


class ReaderFactory(Protocol):
    def __call__(self, zone: RawZone) -> StreamReader: ...


def land_stream(
    lake: Path,
    contract: SourceContract,
    open_reader: ReaderFactory,
    *,
    nothing_new_is_skip: bool = False,
    unchanged_is_skip: bool = False,
    options: LoadOptions | None = None,
    progress: Progress | None = None,
    before_commit: Callable[[Manifest], None] | None = None,
    attachments: Mapping[str, bytes] | None = None,
) -> Manifest:
    """Land what a stream reader yields as one load; return its manifest.

    The manifest's ``source_file`` names what was read (a URL, a table, a topic) and its checksum
    is over the bytes received, when there are bytes. ``open_reader`` is called under the system's
    lock, after leftovers of killed loads are removed, so an incremental reader sees the watermark
    of the last committed load and no other run can land the same rows meanwhile. With
    ``nothing_new_is_skip`` a run that reads no rows, and with ``unchanged_is_skip`` a snapshot
    whose checksum equals the last load's, commits nothing and returns the last load's manifest
    as ``skipped``. A data or source problem gives a failed manifest (kept under
    ``raw/<system>/_failed/``); only a bug raises. ``before_commit`` may add to the manifest
    (e.g. a stream's rows expected but not received) just before the load commits;
    ``attachments`` are files committed with the load (e.g. its messages' identities).
    """
    notify = progress or (lambda event: None)
    with _locked(lake, contract) as zone:
        t0 = time.perf_counter()
        manifest = _new_manifest(contract, source_file=contract.id)

        def run(staging: LoadStaging) -> None:
            reader = open_reader(zone)
            manifest.source_file = reader.source
            notify(ProgressEvent(contract.id, reader.source, "start"))
            _run_stream(contract, reader, manifest, staging, notify)
            for name, data in (attachments or {}).items():
                staging.attach(name, data)

        def settle(manifest: Manifest) -> Manifest | None:
            nothing_new = nothing_new_is_skip and manifest.rows_read == 0
            maybe_unchanged = unchanged_is_skip and manifest.input_checksum != ""
            # Every manifest of the source is read to find the last load: only when it can decide
            # (a live stream lands a load per micro-batch, and that read grew with each one).
            last = _latest(zone) if nothing_new or maybe_unchanged else None
            unchanged = (
                maybe_unchanged
                and last is not None
                and (manifest.input_checksum == last.input_checksum)
            )
            if last is not None and (nothing_new or unchanged):
                notify(ProgressEvent(contract.id, manifest.source_file, "skipped"))
                why = "no new rows" if nothing_new else "the same snapshot as"
                update = {"status": "skipped", "message": f"{why} {last.load_id}"}
                return last.model_copy(update=update)
            if before_commit is not None:
                before_commit(manifest)
            return None

        return _stage(zone, manifest, t0, notify, run, settle)


def latest_watermark(zone: RawZone) -> str | None:
    """The watermark recorded by the newest committed load that has one."""
    marked = [m for m in zone.manifests() if m.watermark is not None and m.status == "completed"]
    return max(marked, key=lambda m: m.started_at).watermark if marked else None


def _latest(zone: RawZone) -> Manifest | None:
    done = zone.manifests()
    return max(done, key=lambda m: m.started_at) if done else None


def _run_stream(
    contract: SourceContract,
    reader: StreamReader,
    manifest: Manifest,
    staging: LoadStaging,
    notify: Progress,
) -> None:
    loader = Loader(contract, manifest, staging, reader.fixed_columns)
    t0 = time.perf_counter()
    _land_chunks(loader, loader.map_in_turn(reader.chunks()), notify, None)
    # chunks are mapped in turn: "read" is the time neither mapping nor writing
    manifest.timings["read"] = max(time.perf_counter() - t0 - sum(loader.seconds.values()), 0.0)
    manifest.input_checksum = reader.digest()
    manifest.warnings.extend(reader.notes())
    # The reader's watermark is the source's own value over every row read, quarantined ones too,
    # so an incremental source does not deliver a bad row again on every run.
    source_mark = reader.watermark()
    if source_mark is not None:
        manifest.watermark = source_mark
    elif loader.watermark is not None:
        manifest.watermark = str(loader.watermark)
    check_volume(contract, manifest)
    loader.check()
