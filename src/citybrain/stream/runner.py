"""``citybrain stream``: one long-running consumer of every live source, feeding detectors.

Each MQTT source is consumed by its own thread through the MQTT connector's durable session
(:func:`citybrain.ingest.streams.load_mqtt`): micro-batches land in the raw zone through
``land_stream`` (reconciled, loss counted), and each message is acknowledged only after its batch
has committed *and* every detector of the source has taken the batch in. HTTP push sources are
landed by the API's push endpoint in the API process; the runner follows their raw zone and hands
each new load to the same detectors.

Every detector keeps a cursor per source (the last load it took in) and its state in the ops
database, written in one transaction with the events it emitted (:mod:`citybrain.stream.store`).
A consumer killed at any point resumes each detector after the last load it finished: a load
committed but not yet taken in (killed between the two) is taken in at start-up, from the raw
zone. A batch the broker sends again (committed, not yet acknowledged when the consumer died) is
recognised by its messages' identities at landing and not landed twice (see
:func:`citybrain.ingest.streams.load_mqtt`), so the raw zone and the detectors see each message
once. The built-in :class:`BatchFeed` is a detector like any other; it puts one ``stream.batch``
event per load on the live feed.

A watchdog looks at each MQTT source about once a second: when no batch has landed for
``stall_seconds`` while received messages wait (the consumer, or a part it calls, stands still),
when the broker has not answered an acknowledgement for ``ack_alert_seconds``, or when the source
has not been connected for ``stall_seconds``, it logs a warning, shows it on the status line and
writes a quality alert naming the source and what is stuck (the governance page lists it beside
the stream-loss alerts) — once per episode; a line is logged when it moves again.

Stopping (``stop`` set, e.g. on SIGTERM): the open batch of each source is landed and
acknowledged, the broker's loss counters are recorded, and the threads end. A second signal ends
the process at once (see the CLI): what was received but not landed is not acknowledged, and the
broker delivers it again.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from citybrain.core.errors import UserError
from citybrain.core.opsdb import session, utcnow
from citybrain.core.workspace import Workspace
from citybrain.govern.opsdb_models import QualityAlert
from citybrain.ingest.contract import MqttConnector, PushConnector, SourceContract
from citybrain.ingest.manifest import MANIFEST_FILE, Manifest
from citybrain.ingest.rawzone import RawZone
from citybrain.ingest.runner import LoadRecorder
from citybrain.ingest.streams import MqttRun, Stall, load_mqtt
from citybrain.stream.detector import DetectorContext, StreamBatch, StreamDetector, StreamEvent
from citybrain.stream.findings import LiveFindings
from citybrain.stream.store import Saved, StreamStore

log = logging.getLogger(__name__)

LIVE_KINDS = ("mqtt", "push")
RETRY_SECONDS = 2.0  # a broker away or a run that ended on an error: try again after this
POLL_SECONDS = 1.0  # push sources' raw zones, and the status line
FEED_NAME = "_live_feed"
STALL_SECONDS = 60.0  # no batch landed this long while messages wait: an alert
ACK_ALERT_SECONDS = 600.0  # an acknowledgement the broker has not answered this long: an alert
# the governance page's stream alerts (govern.quality.stream_gaps.DIMENSION; importing it would
# load the quality package and the lake engine into the consumer's start for one word)
STALL_DIMENSION = "stream_loss"
Key = tuple[str, str]  # (finished_at ISO, load_id): the order loads committed in


def is_live(contract: SourceContract) -> bool:
    return contract.connector.kind in LIVE_KINDS


def with_batching(
    contract: SourceContract, batch_rows: int | None, max_wait: float | None
) -> SourceContract:
    """The contract with its micro-batch size and longest wait overridden (MQTT only)."""
    connector = contract.connector
    if not isinstance(connector, MqttConnector) or (batch_rows is None and max_wait is None):
        return contract
    update: dict[str, Any] = {}
    if batch_rows is not None:
        update["batch_rows"] = batch_rows
    if max_wait is not None:
        update["batch_seconds"] = max_wait
    return contract.model_copy(update={"connector": connector.model_copy(update=update)})


def _key(manifest: Manifest) -> Key:
    finished = manifest.finished_at or manifest.started_at
    return finished.isoformat(), manifest.load_id


def _cursor_key(entry: Any) -> Key | None:
    if isinstance(entry, dict) and "finished_at" in entry and "load_id" in entry:
        return str(entry["finished_at"]), str(entry["load_id"])
    return None


def _batch(manifest: Manifest) -> StreamBatch:
    table = (
        pq.read_table(manifest.raw_path)
        if manifest.raw_path and manifest.rows_landed
        else pa.table({})
    )
    return StreamBatch(
        manifest.system,
        manifest.load_id,
        table,
        rows_quarantined=manifest.rows_quarantined,
        rows_missing=manifest.rows_missing,
        rows_repeated=manifest.stream.redelivered if manifest.stream else 0,
    )


@dataclass
class BatchFeed:
    """Built in: one ``stream.batch`` event per load of every live source, for the live feed."""

    sources: Sequence[str]
    name: str = FEED_NAME

    def initial_state(self) -> dict[str, Any]:
        return {}

    def process(self, batch: StreamBatch, state: dict[str, Any]) -> list[StreamEvent]:
        data = {
            "system": batch.system,
            "load_id": batch.load_id,
            "rows_landed": batch.table.num_rows,
            "rows_repeated": batch.rows_repeated,
            "rows_quarantined": batch.rows_quarantined,
            "rows_missing": batch.rows_missing,
        }
        return [StreamEvent("stream.batch", data, permission="catalog.read")]


class Follower:
    """One detector with its state and cursor, taking in loads in commit order."""

    def __init__(
        self,
        detector: StreamDetector,
        store: StreamStore,
        lake: Path,
        findings: LiveFindings | None = None,
    ) -> None:
        self.detector = detector
        self.store = store
        self.findings = findings
        self.behind = False  # a batch failed: look in the raw zones before the next one
        self.error: str | None = None
        self.events = 0
        saved = store.load(detector.name)
        fresh = saved is None
        self.saved = saved or Saved(detector.initial_state(), {}, 0)
        for system in detector.sources:  # a new detector (or source) starts now: no replay
            # (``{}``: it started before the source had any load, so it takes them all)
            if system not in self.saved.cursor:
                done = _completed(RawZone(lake, system).manifests())
                self.saved.cursor[system] = _entry(max(map(_key, done))) if done else {}
                fresh = True
        if fresh:
            store.save(detector.name, self.saved, [])

    def after(self, system: str) -> Key | None:
        return _cursor_key(self.saved.cursor.get(system))

    def take(self, manifest: Manifest, batch: StreamBatch) -> bool:
        """Take one committed load in (once); False when the detector failed on it."""
        cursor = self.after(manifest.system)
        if cursor is not None and cursor >= _key(manifest):
            return True
        try:
            events = list(self.detector.process(batch, self.saved.state))
            if self.findings is not None:  # idempotent, so before the commit below
                self.findings.take(events, manifest.load_id)
            self.saved.cursor[manifest.system] = _entry(_key(manifest))
            self.saved.batches += 1
            self.store.save(
                self.detector.name,
                self.saved,
                events,
                system=manifest.system,
                load_id=manifest.load_id,
            )
        except Exception as exc:
            log.exception("detector %s failed on load %s", self.detector.name, manifest.load_id)
            self.error = f"{self.detector.name}: {type(exc).__name__}: {exc}"
            self.behind = True
            saved = self.store.load(self.detector.name)  # drop the half-applied state
            if saved is not None:
                self.saved = saved
            return False
        self.events += len(events)
        self.error = None
        return True


GC_FIRST_THRESHOLD = 50_000  # tracked objects allocated (net) before a young collection


def settle() -> tuple[int, ...]:
    """Tune the cyclic garbage collector for the consumer; returns the thresholds before.

    What the process holds at the consumer's start (modules, the detectors' tables, the
    caught-up state) stays alive anyway, yet the collector's full passes went through it again
    and again — a sixth of a second each, several a minute at 20,000 pings/s: it is left out of
    them (``gc.freeze``, garbage already there collected first). And a batch allocates thousands
    of short-lived objects (messages, events, the detectors' per-truck lists, freed by reference
    counting as the batch ends), which triggered a young collection every 700 and a full one
    every few batches: the first threshold is ``GC_FIRST_THRESHOLD``. Measured with
    ``benchmarks/stream_batch.py`` (``--no-settle`` for before): CPU per 10,000 pings of the
    detectors' step 0.27 → 0.17 s. :meth:`StreamRunner.run` undoes both at its end."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_FIRST_THRESHOLD, *before[1:])
    return before


def unsettle(before: tuple[int, ...]) -> None:
    """Undo :func:`settle`."""
    gc.unfreeze()
    gc.set_threshold(*before)


def _entry(key: Key) -> dict[str, str]:
    return {"finished_at": key[0], "load_id": key[1]}


def _completed(manifests: Sequence[Manifest]) -> list[Manifest]:
    return [m for m in manifests if m.status == "completed"]


@dataclass
class SourceStatus:
    system: str
    kind: str
    batches: int = 0
    landed: int = 0
    quarantined: int = 0
    missing: int = 0
    repeated: int = 0  # redelivered after a crash: acknowledged, not landed again
    subscribed: bool = False  # MQTT: the durable session is connected and subscribed
    last_batch: float | None = None  # epoch seconds
    error: str | None = None
    stalled: str | None = None  # what stands still, while it does (the watchdog)


@dataclass
class StreamStatus:
    """What the consumer has done since it started: per source, and the detectors' events."""

    sources: dict[str, SourceStatus]
    detectors: list[Follower] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # problems at start that do not stop it
    started: float = field(default_factory=time.time)

    def total(self, attribute: str) -> int:
        return sum(int(getattr(s, attribute)) for s in self.sources.values())

    @property
    def ready(self) -> bool:
        """Every MQTT source subscribed: from now on the broker keeps what is published."""
        return all(s.subscribed for s in self.sources.values() if s.kind == "mqtt")

    @property
    def events(self) -> int:
        return sum(f.events for f in self.detectors)

    @property
    def last_batch(self) -> float | None:
        times = [s.last_batch for s in self.sources.values() if s.last_batch is not None]
        return max(times) if times else None

    @property
    def errors(self) -> list[str]:
        found = [f"{s.system}: {s.error}" for s in self.sources.values() if s.error]
        return found + [f.error for f in self.detectors if f.error]

    def line(self) -> str:
        n = len(self.sources)
        parts = [
            f"stream · {n} source{'s' if n != 1 else ''}",
            f"{self.total('batches'):,} batches",
            f"{self.total('landed'):,} landed",
            f"{self.total('quarantined'):,} quarantined",
            f"{self.total('missing'):,} missing",
            f"{self.events:,} events",
        ]
        last = self.last_batch
        parts.append("waiting" if last is None else f"last batch {time.time() - last:.1f} s ago")
        stalled = [f"{s.system} STALLED: {s.stalled}" for s in self.sources.values() if s.stalled]
        return " · ".join(parts + stalled + self.notes + self.errors)

    def write(self, path: Path) -> None:
        """``key=value`` lines for scripts (the demo waits on ``received``), replaced atomically."""
        last = self.last_batch
        lines = {
            "pid": os.getpid(),
            "ready": int(self.ready),
            "started": f"{self.started:.3f}",
            "batches": self.total("batches"),
            "landed": self.total("landed"),
            "quarantined": self.total("quarantined"),
            "received": self.total("landed") + self.total("quarantined"),
            "missing": self.total("missing"),
            "events": self.events,
            "last_batch": "" if last is None else f"{last:.3f}",
            "errors": len(self.errors),
            "stalled": sum(1 for s in self.sources.values() if s.stalled),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text("".join(f"{k}={v}\n" for k, v in lines.items()), encoding="utf-8")
        partial.replace(path)


class StreamRunner:
    """Consume ``contracts`` (MQTT and push sources) until ``stop`` is set."""

    def __init__(
        self,
        workspace: Workspace,
        contracts: Sequence[SourceContract],
        detectors: Sequence[StreamDetector] = (),
        *,
        store: StreamStore,
        recorder: LoadRecorder | None = None,
        feed: bool = True,
        findings: LiveFindings | None = None,
        max_batch_rows: int | None = None,
        stall_seconds: float = STALL_SECONDS,
        ack_alert_seconds: float = ACK_ALERT_SECONDS,
    ) -> None:
        not_live = [c.id for c in contracts if not is_live(c)]
        if not_live:
            raise UserError(
                f"not live sources: {', '.join(not_live)} (stream reads MQTT and push sources)",
                hint="land file, SQL and HTTP sources with `citybrain ingest`",
            )
        names = [d.name for d in detectors]
        if len(set(names)) != len(names) or FEED_NAME in names:
            raise UserError(f"detector names must be unique: {', '.join(names)}")
        ids = {c.id for c in contracts}
        for detector in detectors:
            unknown = [s for s in detector.sources if s not in ids]
            if unknown:
                raise UserError(
                    f"detector {detector.name} reads {', '.join(unknown)}, "
                    "which this stream does not consume",
                    hint="name those sources too, or leave the source list empty for all",
                )
        self.workspace = workspace
        self.contracts = list(contracts)
        self.store = store
        self.recorder = recorder
        self.findings = findings  # alerts → live findings and cases (None: events only)
        self.max_batch_rows = max_batch_rows  # MQTT: batches grow to take a backlog, up to this
        chosen: list[StreamDetector] = [BatchFeed([c.id for c in contracts])] if feed else []
        self.detectors = [*chosen, *detectors]
        self.followers: list[Follower] = []
        self.status = StreamStatus(
            {c.id: SourceStatus(c.id, c.connector.kind) for c in self.contracts}
        )
        self._lock = threading.Lock()
        self._seen: dict[str, set[str]] = {}  # push sources: partitions already looked at
        self.stall_seconds = stall_seconds
        self.ack_alert_seconds = ack_alert_seconds
        self._runs: dict[str, MqttRun] = {}  # each MQTT source's current run (the watchdog's)
        self._down_since: dict[str, float] = {}  # MQTT sources not connected, since (monotonic)
        self.alerts_raised = 0

    @property
    def status_path(self) -> Path:
        return self.workspace.root / "stream" / "status.txt"

    def run(
        self,
        stop: threading.Event,
        on_status: Callable[[StreamStatus], None] | None = None,
    ) -> StreamStatus:
        """Consume until ``stop`` is set; ``on_status`` is called about once a second."""
        self._bind()
        self.followers = [
            Follower(d, self.store, self.workspace.lake, self.findings) for d in self.detectors
        ]
        pushed = [c for c in self.contracts if isinstance(c.connector, PushConnector)]
        for contract in pushed:  # from here on followed; what came before, caught up below
            zone = RawZone(self.workspace.lake, contract.id)
            self._seen[contract.id] = {p.name for p in zone.partitions()}
        self.status.detectors = self.followers
        with self._lock:  # loads committed but not taken in by a consumer killed before
            for system in {s for d in self.detectors for s in d.sources}:
                self._catch_up(system)
        thresholds = settle()
        try:
            threads = [
                threading.Thread(target=self._consume, args=(c, stop), name=f"stream-{c.id}")
                for c in self.contracts
                if isinstance(c.connector, MqttConnector)
            ]
            for thread in threads:
                thread.start()
            while True:
                for contract in pushed:
                    self._follow_push(contract)
                self._watch()
                self._report(on_status)
                if stop.wait(POLL_SECONDS):
                    break
            for thread in threads:
                thread.join()
            for contract in pushed:
                self._follow_push(contract)
            self._report(on_status)
            if self.findings is not None:
                self.findings.close()
        finally:
            unsettle(thresholds)
        return self.status

    def _bind(self) -> None:
        """Hand each detector that asks for it the workspace (its sites, permits …)."""
        context = DetectorContext(self.workspace)
        for detector in self.detectors:
            bind = getattr(detector, "bind", None)
            if not callable(bind):
                continue
            try:
                bind(context)
            except Exception as exc:  # runs without that knowledge; said in the status line
                log.exception("detector %s could not read the workspace", detector.name)
                self.status.notes.append(
                    f"{detector.name}: could not read the workspace ({type(exc).__name__}: {exc})"
                )

    def _report(self, on_status: Callable[[StreamStatus], None] | None) -> None:
        try:
            self.status.write(self.status_path)
        except OSError as exc:
            log.warning("cannot write %s: %s", self.status_path, exc)
        if on_status is not None:
            on_status(self.status)

    # --- MQTT ------------------------------------------------------------------------------------

    def _consume(self, contract: SourceContract, stop: threading.Event) -> None:
        status = self.status.sources[contract.id]
        zone = RawZone(self.workspace.lake, contract.id)

        def on_load(manifest: Manifest) -> None:
            # Runs before the batch is acknowledged; it must not raise (the batch is landed).
            try:
                self._landed(contract, zone, manifest)
            except Exception as exc:
                log.exception("after load %s", manifest.load_id)
                status.error = f"{type(exc).__name__}: {exc}"

        while not stop.is_set():
            run = self._runs[contract.id] = MqttRun()
            try:
                load_mqtt(
                    self.workspace.lake,
                    contract,
                    stop=stop,
                    on_load=on_load,
                    on_subscribed=lambda: setattr(status, "subscribed", True),
                    max_batch_rows=self.max_batch_rows,
                    keep_manifests=False,
                    run=run,
                )
                status.error = run.error
            except UserError as exc:
                status.error = str(exc)
            except Exception as exc:  # one source's bug must not end the others
                log.exception("stream of %s failed", contract.id)
                status.error = f"internal error: {type(exc).__name__}: {exc}"
            stop.wait(RETRY_SECONDS)

    def _watch(self) -> None:
        """The watchdog: each MQTT source's stall raised once (log, status line, alert row) and
        its end logged."""
        now = time.monotonic()
        for contract in self.contracts:
            run = self._runs.get(contract.id)
            if not isinstance(contract.connector, MqttConnector) or run is None:
                continue
            status = self.status.sources[contract.id]
            stall = run.stuck(self.stall_seconds, self.ack_alert_seconds)
            if run.subscriber is None and status.error:  # not connected: since when
                down = now - self._down_since.setdefault(contract.id, now)
                if down >= self.stall_seconds and stall is None:
                    stall = Stall(
                        "not_connected",
                        down,
                        f"not connected to the broker for {down:.0f} s: {status.error}",
                        f"已 {down:.0f} 秒未连接到消息代理：{status.error}",
                    )
            elif run.subscriber is not None:
                self._down_since.pop(contract.id, None)
            if stall is None:
                if status.stalled is not None:
                    log.warning("stream %s moves again (was: %s)", contract.id, status.stalled)
                status.stalled = None
                continue
            if status.stalled is None:  # a new episode
                log.warning("stream %s STALLED: %s", contract.id, stall.en)
                self._alert(contract, stall)
            status.stalled = stall.en

    def _alert(self, contract: SourceContract, stall: Stall) -> None:
        """One quality alert row for the source's owner (the governance page lists it)."""
        limit = self.ack_alert_seconds if stall.kind == "ack_unconfirmed" else self.stall_seconds
        try:
            with session(self.store.ops_engine) as db:
                db.add(QualityAlert(
                    raised_at=utcnow(), system=contract.id, owner=contract.owner,
                    level="warning" if stall.kind == "ack_unconfirmed" else "critical",
                    dimension=STALL_DIMENSION, value=round(stall.seconds, 1), threshold=limit,
                    message_zh=f"{contract.id} 数据流停滞：{stall.zh}",
                    message_en=f"{contract.id} stream stalled: {stall.en}",
                ))  # fmt: skip
            self.alerts_raised += 1
        except Exception:  # the log line and the status line still say it
            log.exception("could not write the stall alert of %s", contract.id)

    def _landed(self, contract: SourceContract, zone: RawZone, manifest: Manifest) -> None:
        if self.recorder is not None:
            try:
                self.recorder.record(contract, manifest, zone)
            except Exception as exc:  # the data is landed; the catalog is told on the next load
                log.exception("could not record load %s", manifest.load_id)
                self.status.sources[
                    contract.id
                ].error = f"load {manifest.load_id} landed but the catalog was not updated: {exc}"
        if manifest.status != "completed":
            self.status.sources[contract.id].error = manifest.message
            return
        with self._lock:
            self._take(manifest)

    # --- push ------------------------------------------------------------------------------------

    def _follow_push(self, contract: SourceContract) -> None:
        """Loads the API's push endpoint committed since the last look, in commit order."""
        zone = RawZone(self.workspace.lake, contract.id)
        seen = self._seen.setdefault(contract.id, set())
        new = [p for p in zone.partitions() if p.name not in seen]
        if not new:
            return
        manifests = [Manifest.read(p / MANIFEST_FILE) for p in new]
        with self._lock:
            for manifest in sorted(_completed(manifests), key=_key):
                self._take(manifest)
        seen.update(p.name for p in new)

    # --- detectors -------------------------------------------------------------------------------

    def _take(self, manifest: Manifest) -> None:
        """Hand one committed load to every detector of its source (with ``_lock`` held)."""
        status = self.status.sources.get(manifest.system)
        if status is not None:
            status.batches += 1
            status.landed += manifest.rows_landed
            status.quarantined += manifest.rows_quarantined
            status.missing += manifest.rows_missing
            status.repeated += manifest.stream.redelivered if manifest.stream else 0
            status.last_batch = time.time()
        batch: StreamBatch | None = None
        for follower in self.followers:
            if manifest.system not in follower.detector.sources:
                continue
            if follower.behind:
                self._catch_up(manifest.system, only=follower)
                continue
            batch = batch or _batch(manifest)
            follower.take(manifest, batch)

    def _catch_up(self, system: str, only: Follower | None = None) -> None:
        """Every committed load of ``system`` after each detector's cursor, in commit order."""
        followers = [only] if only is not None else self.followers
        waiting = [f for f in followers if system in f.detector.sources]
        if not waiting:
            return
        oldest = min((f.after(system) or ("", "")) for f in waiting)
        loads = sorted(
            (m for m in _completed(RawZone(self.workspace.lake, system).manifests())
             if _key(m) > oldest),
            key=_key,
        )  # fmt: skip
        failed: set[str] = set()
        for manifest in loads:
            batch: StreamBatch | None = None
            for follower in waiting:
                after = follower.after(system)
                if follower.detector.name in failed or (
                    after is not None and after >= _key(manifest)
                ):
                    continue
                batch = batch or _batch(manifest)
                follower.behind = not follower.take(manifest, batch)
                if follower.behind:
                    failed.add(follower.detector.name)  # in order or not at all: wait
