"""Streamed loads: sources that are read or received rather than delivered as files.

Each function joins a connector's reader (SQL, HTTP, NGSI-LD, MQTT, a pushed body) to
:func:`~citybrain.ingest.load.land_stream`, which lands it as one load with the same staging,
quarantine and reconciliation as a file load. :func:`stream_loads` is what ``citybrain ingest``
runs for a stream source.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from citybrain.ingest.connectors.base import SourceUnreadable, StreamReader
from citybrain.ingest.connectors.http import HttpReader
from citybrain.ingest.connectors.memory import MemoryReader
from citybrain.ingest.connectors.mqtt import (
    DRAIN_IDLE_SECONDS,
    DRAIN_MAX_SECONDS,
    AckSent,
    Message,
    Subscriber,
    batch_reader,
    message_ids,
)
from citybrain.ingest.connectors.ngsi_ld import NgsiLdReader
from citybrain.ingest.connectors.push import parse_body
from citybrain.ingest.connectors.sql import SqlReader
from citybrain.ingest.connectors.stream_loss import LossTracker
from citybrain.ingest.contract import MqttConnector, PushConnector, SourceContract
from citybrain.ingest.load import LoadOptions, Progress, land_stream, latest_watermark
from citybrain.ingest.manifest import Manifest, StreamCheck
from citybrain.ingest.rawzone import MESSAGES_FILE, RawZone


def stream_loads(
    lake: Path,
    contract: SourceContract,
    *,
    options: LoadOptions | None = None,
    progress: Progress | None = None,
) -> Iterator[Manifest]:
    """The loads of one ingest run of a stream source (MQTT: what is waiting, in micro-batches).

    Push sources are landed by the push endpoint as bodies arrive: a run has nothing to read."""
    kind = contract.connector.kind
    if kind == "sql":
        yield load_sql(lake, contract, options=options, progress=progress)
    elif kind == "http":
        yield load_http(lake, contract, options=options, progress=progress)
    elif kind == "ngsi_ld":
        yield load_ngsi_ld(lake, contract, options=options, progress=progress)
    elif kind == "mqtt":
        yield from drain_mqtt(lake, contract, progress=progress)


# -------------------------------------------------------------------------------------------------
# read on each run: SQL, HTTP, NGSI-LD


def load_sql(
    lake: Path,
    contract: SourceContract,
    *,
    options: LoadOptions | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """Land one load of a SQL source; an incremental run with no new rows lands nothing."""
    return _land_read(
        lake,
        contract,
        lambda since: SqlReader(contract, since=since),
        options=options,
        progress=progress,
    )


def load_http(
    lake: Path,
    contract: SourceContract,
    *,
    options: LoadOptions | None = None,
    progress: Progress | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Manifest:
    """Land every page of an HTTP source as one load.

    An incremental source sends the last landed watermark in the query parameter
    ``watermark_param`` names (e.g. ``watermark_param: updated_since``), or wherever a ``params``
    value says ``{watermark}``; it is left out on the first run, and a run that gets no rows lands
    nothing — like the SQL connector's ``WHERE watermark > last``, but filtered by the API.
    """
    return _land_read(
        lake,
        contract,
        lambda since: HttpReader(contract, since=since, transport=transport),
        options=options,
        progress=progress,
    )


def _land_read(
    lake: Path,
    contract: SourceContract,
    read: Callable[[str | None], StreamReader],
    *,
    options: LoadOptions | None,
    progress: Progress | None,
) -> Manifest:
    """One load of a source that is read on each run, from the last load's watermark on when it
    is incremental (``read(since)``). An incremental run that reads no rows, and a full snapshot
    equal to the last load's, land nothing."""
    incremental = contract.refresh.mode == "incremental"

    def open_reader(zone: RawZone) -> StreamReader:
        return read(latest_watermark(zone) if incremental else None)

    return land_stream(
        lake,
        contract,
        open_reader,
        nothing_new_is_skip=incremental,
        unchanged_is_skip=not incremental,
        options=options,
        progress=progress,
    )


def load_ngsi_ld(
    lake: Path,
    contract: SourceContract,
    *,
    options: LoadOptions | None = None,
    progress: Progress | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Manifest:
    """Land the entities of the contract's type as one load."""

    def open_reader(zone: RawZone) -> StreamReader:
        return NgsiLdReader(contract, transport=transport)

    return land_stream(
        lake, contract, open_reader, unchanged_is_skip=True, options=options, progress=progress
    )


# -------------------------------------------------------------------------------------------------
# received: pushed bodies


def push_load(
    lake: Path, contract: SourceContract, body: bytes, *, source: str = "push"
) -> Manifest:
    """Land one pushed body (JSON array or NDJSON) as one load; a JSON array that does not parse
    raises :class:`UserError` and lands nothing."""
    connector = contract.connector
    batch_rows = connector.batch_rows if isinstance(connector, PushConnector) else 10_000
    digest = "sha256:" + hashlib.sha256(body).hexdigest()

    # Parsed before the load starts: a body that is not JSON at all is the sender's error (HTTP 400,
    # send again), not a load of this source that failed.
    parts = parse_body(body, batch_rows)
    if parts:
        parts[0].bytes_read = len(body)

    def open_reader(zone: RawZone) -> StreamReader:
        return MemoryReader(source, parts, digest)

    return land_stream(lake, contract, open_reader)


# -------------------------------------------------------------------------------------------------
# received: MQTT micro-batches, each acknowledged only once it has landed


@dataclass
class MqttRun:
    """What one bounded or interrupted run did: its loads, and the messages landed and acked."""

    manifests: list[Manifest] = field(default_factory=list)
    messages: int = 0
    redelivered: int = 0  # messages of the last loads before the run, sent again: not relanded
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rows_landed(self) -> int:
        return sum(m.rows_landed for m in self.manifests)

    @property
    def rows_quarantined(self) -> int:
        return sum(m.rows_quarantined for m in self.manifests)


def drain_mqtt(
    lake: Path,
    contract: SourceContract,
    *,
    max_seconds: float = DRAIN_MAX_SECONDS,
    idle_seconds: float = DRAIN_IDLE_SECONDS,
    progress: Progress | None = None,
) -> Iterator[Manifest]:
    """``citybrain ingest`` of an MQTT source: land what is waiting at the broker, then stop."""
    run = load_mqtt(
        lake, contract, max_seconds=max_seconds, idle_seconds=idle_seconds, progress=progress
    )
    yield from run.manifests
    if run.error is not None and all(m.status == "completed" for m in run.manifests):
        raise SourceUnreadable(run.error)  # landed, but the acknowledgement went wrong


def load_mqtt(
    lake: Path,
    contract: SourceContract,
    *,
    max_messages: int | None = None,
    max_seconds: float | None = None,
    idle_seconds: float | None = None,
    progress: Progress | None = None,
    on_load: Callable[[Manifest], None] | None = None,
    stop: threading.Event | None = None,
    on_subscribed: Callable[[], None] | None = None,
    max_batch_rows: int | None = None,
    keep_manifests: bool = True,
) -> MqttRun:
    """Subscribe and land micro-batches until ``max_messages`` were landed, ``max_seconds`` passed,
    no message came for ``idle_seconds`` or ``stop`` is set (without any of them: until
    interrupted). ``on_load`` is told about each load, e.g. to record it in the catalog;
    ``on_subscribed`` once the durable session is connected and subscribed. With
    ``max_batch_rows`` a batch grows past the contract's ``batch_rows`` to take what is already
    waiting, up to that many (see :meth:`Subscriber.collect`). A consumer that runs for days
    passes ``keep_manifests=False``: each load goes to ``on_load`` and the run keeps only the
    newest (the list grew by one manifest per batch, forever)."""
    connector = contract.connector
    if not isinstance(connector, MqttConnector):
        raise TypeError(f"{contract.id} is not an MQTT source")
    zone = RawZone(lake, contract.id)
    manifests = zone.manifests()
    tracker = LossTracker.resume(connector.sequence is not None, manifests)
    guard = _last_load_ids(zone, manifests)
    subscriber = Subscriber(contract, connector, had_session=bool(zone.partitions()))
    run = MqttRun()
    began = time.monotonic()
    stop = stop or threading.Event()
    subscriber.start()
    if on_subscribed is not None:
        on_subscribed()
    unconfirmed: deque[AckSent] = deque()  # acks sent, the broker's answer not seen yet
    try:
        while not stop.is_set():
            left = None if max_messages is None else max_messages - run.messages
            if left is not None and left <= 0:
                break
            deadline = None if max_seconds is None else began + max_seconds
            batch = subscriber.collect(
                connector, left, deadline, stop, idle_seconds, max_rows=max_batch_rows
            )
            if not batch and idle_seconds is not None:
                break
            if batch:
                ids = message_ids(batch)
                fresh, guard = _not_landed(batch, ids, guard)
                manifest = _land_batch(
                    lake, contract, connector, fresh, progress, tracker, subscriber,
                    ids=ids, redelivered=len(batch) - len(fresh),
                )  # fmt: skip
                if not keep_manifests:
                    run.manifests.clear()
                run.manifests.append(manifest)
                if on_load is not None:
                    on_load(manifest)
                if manifest.status != "completed":
                    run.error = manifest.message
                    break  # not acknowledged: the broker delivers the batch again next run
                run.messages += len(fresh)
                run.redelivered += len(batch) - len(fresh)
                try:  # at most UNCONFIRMED batches' acks unconfirmed: the restart guard's loads
                    while unconfirmed and subscriber.confirmed(unconfirmed[0]):
                        unconfirmed.popleft()
                    if len(unconfirmed) >= UNCONFIRMED:
                        subscriber.confirm(unconfirmed.popleft())
                    unconfirmed.append(subscriber.send_acks(batch))
                except SourceUnreadable as exc:
                    run.error = str(exc)
                    unconfirmed.clear()
                    break
            if deadline is not None and time.monotonic() >= deadline:
                break
        try:  # the last batches' acks: waited for, but not forever behind a stream still coming
            while unconfirmed:
                subscriber.confirm(unconfirmed.popleft(), patient=False)
        except SourceUnreadable as exc:
            run.error = run.error or str(exc)
        tracker.pending_session_lost |= subscriber.take_session_lost()
        if run.error is None and tracker.pending(subscriber.counter()):
            # Nothing (more) arrived, but the broker says it dropped messages: an empty load
            # records the loss, so no run ends silent about it.
            manifest = _land_batch(lake, contract, connector, [], progress, tracker, subscriber)
            run.manifests.append(manifest)
            if on_load is not None:
                on_load(manifest)
    finally:
        subscriber.close()
    return run


UNCONFIRMED = 32  # batches whose acknowledgements may wait for the broker's answer
GUARDED_LOADS = UNCONFIRMED + 1  # loads whose messages can come again after a crash


def _last_load_ids(zone: RawZone, manifests: list[Manifest]) -> np.ndarray | None:
    """The message identities of the newest ``GUARDED_LOADS`` committed loads: the only ones
    whose messages can come again. A batch's acknowledgements are sent once it has landed, and
    the broker's answer that they arrived is not waited for while fewer than ``UNCONFIRMED``
    batches wait for it (it comes behind every message the broker sent before it: under a
    backlog, all of them); so at a crash the newest load (not acknowledged yet) and the
    ``UNCONFIRMED`` before it may be sent again."""
    done = [m for m in manifests if m.status == "completed"]
    newest = sorted(done, key=lambda m: (m.finished_at or m.started_at, m.load_id))
    parts = [zone.attachment(m, MESSAGES_FILE) for m in newest[-GUARDED_LOADS:]]
    ids = [np.frombuffer(data, np.uint64) for data in parts if data]
    return np.concatenate(ids) if ids else None


def _not_landed(
    batch: list[Message], ids: np.ndarray, guard: np.ndarray | None
) -> tuple[list[Message], np.ndarray | None]:
    """The batch without the messages the last two loads landed, and the guard for the next batch:
    kept while batches repeat some of them (the broker sends them first, perhaps over several
    batches), dropped at the first batch that repeats none."""
    if guard is None:
        return batch, None
    repeated = np.isin(ids, guard)
    if not repeated.any():
        return batch, None
    return [m for m, r in zip(batch, repeated.tolist(), strict=True) if not r], guard


def _land_batch(
    lake: Path,
    contract: SourceContract,
    connector: MqttConnector,
    batch: list[Message],
    progress: Progress | None,
    tracker: LossTracker,
    subscriber: Subscriber,
    *,
    ids: np.ndarray | None = None,
    redelivered: int = 0,
) -> Manifest:
    """Land ``batch``; ``ids`` are the identities of every message the load acknowledges (its
    batch and the ``redelivered`` ones left out of it), committed with it."""
    reader, publishers, numbers = batch_reader(batch, connector)
    tracker.pending_session_lost |= subscriber.take_session_lost()
    check = tracker.check(publishers, numbers, subscriber.counter())

    def before_commit(manifest: Manifest) -> None:
        tracker.record(manifest, check, f"{contract.id} ({reader.source})")
        if redelivered:
            if manifest.stream is None:
                manifest.stream = StreamCheck()
            manifest.stream.redelivered = redelivered

    attachments = {MESSAGES_FILE: ids.astype("<u8").tobytes()} if ids is not None else None
    manifest = land_stream(
        lake,
        contract,
        lambda zone: reader,
        progress=progress,
        before_commit=before_commit,
        attachments=attachments,
    )
    if manifest.status == "completed":
        tracker.committed(check)
    return manifest
