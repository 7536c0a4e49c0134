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
    CLOSE_CONFIRM_SECONDS,
    DRAIN_IDLE_SECONDS,
    DRAIN_MAX_SECONDS,
    QUEUE_MESSAGES,
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
    """What one bounded or interrupted run did: its loads, and the messages landed and acked;
    while it runs, what a watchdog needs to tell a consumer that stands still (see
    :meth:`stuck`)."""

    manifests: list[Manifest] = field(default_factory=list)
    messages: int = 0
    redelivered: int = 0  # messages of the last loads before the run, sent again: not relanded
    error: str | None = None
    subscriber: Subscriber | None = None  # while connected
    progressed: float = field(default_factory=time.monotonic)  # last ready to take a batch
    unconfirmed: deque[AckSent] = field(default_factory=deque)  # acks the broker has not answered

    def stuck(self, seconds: float, ack_seconds: float) -> Stall | None:
        """What stands still, or None: the consumer has not come back for the next batch for
        ``seconds`` (landing, detectors, acknowledging) while received messages wait in our
        queue — it is stuck, or starved of time — or the broker has not answered an
        acknowledgement for ``ack_seconds``."""
        now = time.monotonic()
        sub = self.subscriber
        if sub is not None and sub.waiting and now - self.progressed >= seconds:
            idle, waiting = now - self.progressed, sub.waiting
            paused = sub.paused_since is not None
            return Stall(
                "no_batch",
                idle,
                f"no batch taken in for {idle:.0f} s while {waiting:,} received messages wait"
                + (" (reading paused: the queue is full)" if paused else ""),
                f"已 {idle:.0f} 秒未取下一批次，{waiting:,} 条已收到的消息在等待入湖"
                + ("（队列已满，暂停读取）" if paused else ""),
            )
        unconfirmed = list(self.unconfirmed)
        if unconfirmed and now - unconfirmed[0].sent_at >= ack_seconds:
            age, count = now - unconfirmed[0].sent_at, sum(a.messages for a in unconfirmed)
            return Stall(
                "ack_unconfirmed",
                age,
                f"the broker has not confirmed the acknowledgement of {count:,} landed messages "
                f"for {age:.0f} s (guarded against landing twice at a restart)",
                f"消息代理 {age:.0f} 秒未确认 {count:,} 条已入湖消息的回执（重启时不会重复入湖）",
            )
        return None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rows_landed(self) -> int:
        return sum(m.rows_landed for m in self.manifests)

    @property
    def rows_quarantined(self) -> int:
        return sum(m.rows_quarantined for m in self.manifests)


@dataclass(frozen=True)
class Stall:
    """Something in a live source's consumption that stands still, said in both languages."""

    kind: str  # no_batch | ack_unconfirmed | not_connected
    seconds: float
    en: str
    zh: str


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
    run: MqttRun | None = None,
    queue_max: int | None = None,
) -> MqttRun:
    """Subscribe and land micro-batches until ``max_messages`` were landed, ``max_seconds`` passed,
    no message came for ``idle_seconds``, ``stop`` is set or the connection is lost (without any
    of them: until interrupted). ``on_load`` is told about each load, e.g. to record it in the
    catalog; ``on_subscribed`` once the durable session is connected and subscribed. With
    ``max_batch_rows`` a batch grows past the contract's ``batch_rows`` to take what is already
    waiting, up to that many (see :meth:`Subscriber.collect`). A consumer that runs for days
    passes ``keep_manifests=False``: each load goes to ``on_load`` and the run keeps only the
    newest (the list grew by one manifest per batch, forever). ``run`` is filled in as it goes
    (a watchdog reads :meth:`MqttRun.stuck` from another thread); ``queue_max`` bounds the
    messages received and not yet in a batch (default: enough for the largest batch).

    A batch's acknowledgements go out once it has landed and the broker's answer is never waited
    for while the stream runs (it comes behind everything the broker has pushed to us; see
    :mod:`~citybrain.ingest.connectors.mqtt`). Each load commits, beside its messages'
    identities, the newest load whose acknowledgements the broker had confirmed
    (``ACKED_FILE``): a restarted consumer guards every load after it (:func:`_last_load_ids`).
    A lost connection ends the run (the runner starts a fresh one, guarded the same way): a
    reconnect inside paho would deliver again messages still in our queue."""
    connector = contract.connector
    if not isinstance(connector, MqttConnector):
        raise TypeError(f"{contract.id} is not an MQTT source")
    zone = RawZone(lake, contract.id)
    manifests = zone.manifests()
    tracker = LossTracker.resume(connector.sequence is not None, manifests)
    guard = _last_load_ids(zone, manifests)
    acked_through = _acked_through(zone, manifests)
    bound = queue_max or max(QUEUE_MESSAGES, max_batch_rows or 0, 2 * connector.batch_rows)
    subscriber = Subscriber(
        contract, connector, had_session=bool(zone.partitions()), queue_max=bound
    )
    run = run if run is not None else MqttRun()
    began = time.monotonic()
    stop = stop or threading.Event()
    subscriber.start()
    run.subscriber, run.progressed = subscriber, time.monotonic()
    if on_subscribed is not None:
        on_subscribed()
    unconfirmed = run.unconfirmed  # acks sent, the broker's answer not seen yet
    connection = subscriber.disconnects

    def lost() -> bool:
        if subscriber.disconnects == connection:
            return False
        run.error = (
            f"source {contract.id}: lost the connection to the MQTT broker; what was received "
            "and not acknowledged is delivered again on the next connection"
        )
        return True

    try:
        while not stop.is_set():
            left = None if max_messages is None else max_messages - run.messages
            if left is not None and left <= 0:
                break
            deadline = None if max_seconds is None else began + max_seconds
            run.progressed = time.monotonic()  # ready for the next batch (the watchdog's mark)
            batch = subscriber.collect(
                connector, left, deadline, stop, idle_seconds, max_rows=max_batch_rows
            )
            if lost():
                break  # not landed, not acknowledged: the broker sends it again
            if not batch and idle_seconds is not None:
                break
            if batch:
                ids = message_ids(batch)
                fresh, guard = _not_landed(batch, ids, guard)
                manifest = _land_batch(
                    lake, contract, connector, fresh, progress, tracker, subscriber,
                    ids=ids, redelivered=len(batch) - len(fresh), acked_through=acked_through,
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
                if lost():
                    break  # landed, not acknowledged: the next run's guard knows its messages
                try:
                    acked_through = _answered(subscriber, unconfirmed, acked_through)
                    unconfirmed.append(subscriber.send_acks(batch, manifest.load_id))
                except SourceUnreadable as exc:
                    run.error = str(exc)
                    unconfirmed.clear()
                    break
            if deadline is not None and time.monotonic() >= deadline:
                break
        # The last batches' answers: waited for briefly, reading on (and dropping what comes, not
        # acknowledged) so they can arrive; unanswered ones are guarded at the next start.
        subscriber.closing = True
        try:
            ends = time.monotonic() + CLOSE_CONFIRM_SECONDS
            while unconfirmed and not lost():
                subscriber.confirm(unconfirmed[0], max(0.0, ends - time.monotonic()))
                unconfirmed.popleft()
        except SourceUnreadable as exc:
            if lost():
                run.error = run.error or str(exc)
        unconfirmed.clear()
        tracker.pending_session_lost |= subscriber.take_session_lost()
        if run.error is None and tracker.pending(subscriber.counter()):
            # Nothing (more) arrived, but the broker says it dropped messages: an empty load
            # records the loss, so no run ends silent about it.
            manifest = _land_batch(
                lake, contract, connector, [], progress, tracker, subscriber,
                acked_through=acked_through,
            )  # fmt: skip
            run.manifests.append(manifest)
            if on_load is not None:
                on_load(manifest)
    finally:
        run.subscriber = None
        subscriber.close()
    return run


def _answered(subscriber: Subscriber, unconfirmed: deque[AckSent], through: str) -> str:
    """Drop the acks the broker has answered (without waiting) from the front of
    ``unconfirmed``; the newest load they acknowledge, or ``through`` when none."""
    while unconfirmed and subscriber.confirmed(unconfirmed[0]):
        through = unconfirmed.popleft().load_id
    return through


UNCONFIRMED = 32  # before the acked-through marker: batches whose acks could be unconfirmed
GUARDED_LOADS = UNCONFIRMED + 1  # loads guarded at a restart when the newest load has no marker
GUARD_MAX_LOADS = 2_000  # at most: older loads' acks were read by the broker long since
ACKED_FILE = "_acked_through.txt"  # per load: the newest load whose acks the broker confirmed


def _acked_through(zone: RawZone, manifests: list[Manifest]) -> str:
    """The newest load whose acknowledgements the broker confirmed, as the newest load recorded
    it ("" when none is known)."""
    done = _newest_first(manifests)
    marker = zone.attachment(done[0], ACKED_FILE) if done else None
    return marker.decode() if marker else ""


def _newest_first(manifests: list[Manifest]) -> list[Manifest]:
    done = [m for m in manifests if m.status == "completed"]
    return sorted(done, key=lambda m: (m.finished_at or m.started_at, m.load_id), reverse=True)


def _last_load_ids(zone: RawZone, manifests: list[Manifest]) -> np.ndarray | None:
    """The message identities of the loads whose messages can come again: every committed load
    after the newest one whose acknowledgements the broker confirmed (the newest load records
    it, ``ACKED_FILE``), at most ``GUARD_MAX_LOADS``; the ``GUARDED_LOADS`` newest when the
    newest load has no record (landed before it was kept)."""
    done = _newest_first(manifests)
    if not done:
        return None
    marker = zone.attachment(done[0], ACKED_FILE)
    if marker is None:
        guarded = done[:GUARDED_LOADS]
    else:
        through = marker.decode()
        ids = [m.load_id for m in done]
        guarded = done[: ids.index(through)] if through in ids else done
    parts = [zone.attachment(m, MESSAGES_FILE) for m in guarded[:GUARD_MAX_LOADS]]
    found = [np.frombuffer(data, np.uint64) for data in parts if data]
    return np.concatenate(found) if found else None


def _not_landed(
    batch: list[Message], ids: np.ndarray, guard: np.ndarray | None
) -> tuple[list[Message], np.ndarray | None]:
    """The batch without the messages the guarded loads landed, and the guard for the next batch:
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
    acked_through: str | None = None,
) -> Manifest:
    """Land ``batch``; ``ids`` are the identities of every message the load acknowledges (its
    batch and the ``redelivered`` ones left out of it), committed with it, and
    ``acked_through`` the newest load whose acknowledgements the broker has confirmed."""
    reader, publishers, numbers = batch_reader(batch, connector)
    tracker.pending_session_lost |= subscriber.take_session_lost()
    check = tracker.check(publishers, numbers, subscriber.counter())

    def before_commit(manifest: Manifest) -> None:
        tracker.record(manifest, check, f"{contract.id} ({reader.source})")
        if redelivered:
            if manifest.stream is None:
                manifest.stream = StreamCheck()
            manifest.stream.redelivered = redelivered

    attachments: dict[str, bytes] = {}
    if ids is not None:
        attachments[MESSAGES_FILE] = ids.astype("<u8").tobytes()
    if acked_through is not None:
        attachments[ACKED_FILE] = acked_through.encode()
    manifest = land_stream(
        lake,
        contract,
        lambda zone: reader,
        progress=progress,
        before_commit=before_commit,
        attachments=attachments or None,
    )
    if manifest.status == "completed":
        tracker.committed(check)
    return manifest
