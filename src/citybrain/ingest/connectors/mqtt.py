"""MQTT streams (paho-mqtt 2) landed in micro-batches, each one load with its own manifest.

The loader is a durable subscriber: MQTT 5 with a fixed client id (``citybrain-ingest-<system>``),
``clean_start`` off and a long session expiry, subscribing at the contract's QoS, so the broker
keeps what is published while the loader is down and delivers it at the next run.

Nothing is acknowledged before it is landed: the client runs with paho's ``manual_ack`` and sends
each message's PUBACK only after the micro-batch holding it has committed to the raw zone. A
message received but not landed (the run stopped, a load failed, the process died) is never
acknowledged, so the broker delivers it again. The remaining window is at-least-once: a process
killed between a batch's commit and its acknowledgements gets those messages again on the next run,
and they land a second time — the contract's ``keys`` identify them for deduplication downstream.

Loss is counted, never assumed away (see :mod:`~citybrain.ingest.connectors.stream_loss`): the
client also follows the broker's ``$SYS/broker/publish/messages/dropped`` counter and notices a
durable session the broker forgot; with the contract's ``sequence`` field every number skipped is
a message expected but not received. Each load's manifest carries them (``rows_missing``,
``missing_by_reason``, ``stream``); a run that received nothing but saw the broker drop messages
still commits an empty load that says so.

A payload that is not a JSON object goes to quarantine with its reason (``bad_json:…``,
``not_an_object``) and, in ``_raw``, ``{"topic": …, "payload": …}``, so every message is counted:
in each manifest rows read = messages in the batch = landed + quarantined.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pyarrow as pa
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from citybrain.ingest.connectors.base import Chunk, Reject, SourceUnreadable, with_positions
from citybrain.ingest.connectors.jsonl import records_table
from citybrain.ingest.connectors.push import MemoryReader
from citybrain.ingest.connectors.stream_loss import ONE_PUBLISHER, LossTracker
from citybrain.ingest.contract import MqttConnector, SourceContract
from citybrain.ingest.load import Progress, StreamReader, land_stream
from citybrain.ingest.manifest import Manifest
from citybrain.ingest.rawzone import RawZone

SESSION_EXPIRY_SECONDS = 7 * 24 * 3600  # the broker keeps our queue across a week of downtime
RECEIVE_MAXIMUM = 65_535  # unacknowledged messages in flight to us: the batch waits for landing
CONNECT_TIMEOUT = 15.0
DRAIN_MAX_SECONDS = 60.0  # one ingest run of a stream; what arrives later waits for the next
DRAIN_IDLE_SECONDS = 1.0
SYS_DROPPED = "$SYS/broker/publish/messages/dropped"  # Mosquitto; retained, so sent on subscribe
SYS_WAIT_SECONDS = 1.0  # how long a new connection waits for the broker's counter


@dataclass(frozen=True)
class Message:
    mid: int
    qos: int
    topic: str
    payload: bytes


@dataclass
class MqttRun:
    """What one bounded or interrupted run did: its loads, and the messages landed and acked."""

    manifests: list[Manifest] = field(default_factory=list)
    messages: int = 0
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


def client_id(contract: SourceContract) -> str:
    return f"citybrain-ingest-{contract.id}"


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
) -> MqttRun:
    """Subscribe and land micro-batches until ``max_messages`` were landed, ``max_seconds`` passed,
    no message came for ``idle_seconds`` or ``stop`` is set (without any of them: until
    interrupted). ``on_load`` is told about each load, e.g. to record it in the catalog;
    ``on_subscribed`` once the durable session is connected and subscribed."""
    connector = contract.connector
    if not isinstance(connector, MqttConnector):
        raise TypeError(f"{contract.id} is not an MQTT source")
    zone = RawZone(lake, contract.id)
    tracker = LossTracker.resume(connector.sequence is not None, zone.manifests())
    subscriber = _Subscriber(contract, connector, had_session=bool(zone.partitions()))
    run = MqttRun()
    began = time.monotonic()
    stop = stop or threading.Event()
    subscriber.start()
    if on_subscribed is not None:
        on_subscribed()
    try:
        while not stop.is_set():
            left = None if max_messages is None else max_messages - run.messages
            if left is not None and left <= 0:
                break
            deadline = None if max_seconds is None else began + max_seconds
            batch = subscriber.collect(connector, left, deadline, stop, idle_seconds)
            if not batch and idle_seconds is not None:
                break
            if batch:
                manifest = _land(lake, contract, connector, batch, progress, tracker, subscriber)
                run.manifests.append(manifest)
                if on_load is not None:
                    on_load(manifest)
                if manifest.status != "completed":
                    run.error = manifest.message
                    break  # not acknowledged: the broker delivers the batch again next run
                run.messages += len(batch)
                try:
                    subscriber.acknowledge(batch)
                except SourceUnreadable as exc:
                    run.error = str(exc)
                    break
            if deadline is not None and time.monotonic() >= deadline:
                break
        tracker.pending_session_lost |= subscriber.take_session_lost()
        if run.error is None and tracker.pending(subscriber.counter()):
            # Nothing (more) arrived, but the broker says it dropped messages: an empty load
            # records the loss, so no run ends silent about it.
            manifest = _land(lake, contract, connector, [], progress, tracker, subscriber)
            run.manifests.append(manifest)
            if on_load is not None:
                on_load(manifest)
    finally:
        subscriber.close()
    return run


def _land(
    lake: Path,
    contract: SourceContract,
    connector: MqttConnector,
    batch: list[Message],
    progress: Progress | None,
    tracker: LossTracker,
    subscriber: _Subscriber,
) -> Manifest:
    source = f"mqtt://{connector.host}:{connector.port}/{connector.topic}"
    digest = hashlib.sha256()
    for message in batch:
        digest.update(message.payload)
    chunk, publishers, numbers = _chunk(batch, connector)
    tracker.pending_session_lost |= subscriber.take_session_lost()
    check = tracker.check(publishers, numbers, subscriber.counter())

    def open_reader(zone: RawZone) -> StreamReader:
        return MemoryReader(source, [chunk], "sha256:" + digest.hexdigest() if batch else "")

    manifest = land_stream(
        lake,
        contract,
        open_reader,
        progress=progress,
        before_commit=lambda m: tracker.record(m, check, f"{contract.id} ({source})"),
    )
    if manifest.status == "completed":
        tracker.committed(check)
    return manifest


def _chunk(batch: list[Message], connector: MqttConnector) -> tuple[Chunk, list[str], list[int]]:
    """Parsed payloads (one ``json.loads`` per message: MQTT has no framing to parse in bulk),
    and the publishers and sequence numbers of those that carry the contract's ``sequence``."""
    publishers: list[str] = []
    numbers: list[int] = []
    objects: list[dict[str, Any]] = []
    rows: list[int] = []
    rejects: list[Reject] = []
    for row, message in enumerate(batch, 1):
        text = message.payload.decode("utf-8", "replace")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            rejects.append(Reject(row, None, f"bad_json:{exc.msg}", _raw(message.topic, text)))
            continue
        if isinstance(value, dict):
            objects.append(value)
            rows.append(row)
            if connector.sequence is not None:
                _sequence(value, connector, publishers, numbers)
        else:
            rejects.append(Reject(row, None, "not_an_object", _raw(message.topic, text)))
    table = with_positions(records_table(objects), pa.array(rows, pa.int64()), None)
    return Chunk(table, rejects, sum(len(m.payload) for m in batch)), publishers, numbers


def _sequence(
    value: dict[str, Any], connector: MqttConnector, publishers: list[str], numbers: list[int]
) -> None:
    """A message's sequence number, if it has a whole one (else mapping judges the row)."""
    number = value.get(connector.sequence or "")
    if isinstance(number, str) and number.strip().lstrip("-").isdigit():
        number = int(number)
    if isinstance(number, int) and not isinstance(number, bool):
        who = value.get(connector.publisher) if connector.publisher else ONE_PUBLISHER
        publishers.append(str(who))
        numbers.append(number)


def _raw(topic: str, payload: str) -> str:
    """A quarantined message keeps where it came from along with what it said."""
    return json.dumps({"topic": topic, "payload": payload}, ensure_ascii=False)


class _Subscriber:
    """The paho client: messages arrive on its network thread into a queue; acks go back."""

    def __init__(
        self, contract: SourceContract, connector: MqttConnector, *, had_session: bool = False
    ) -> None:
        self.contract = contract
        self.connector = connector
        self.had_session = had_session  # an earlier run landed: the broker should know us
        self.session_lost = False
        self.dropped: int | None = None
        self.dropped_seen = threading.Event()
        self.disconnects = 0  # connections lost so far: an ack sent on an earlier one is void
        self.messages: queue.Queue[Message] = queue.Queue()
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.subacks: dict[int, threading.Event] = {}
        self.failure: str | None = None
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id(contract),
            protocol=paho.MQTTv5,
            manual_ack=True,
        )
        user = os.environ.get(connector.username_env) if connector.username_env else None
        password = os.environ.get(connector.password_env) if connector.password_env else None
        if user is not None or password is not None:
            client.username_pw_set(user or "", password)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        self.client = client

    def _on_connect(self, client: Any, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if getattr(reason, "is_failure", False):
            self.failure = str(reason)
        else:
            if self.had_session and not getattr(flags, "session_present", True):
                self.session_lost = True
            self.had_session = True
            self.disconnected.clear()  # a reconnect: close() waits for this connection's end
            # Subscribing on every (re)connect is harmless with a kept session and needed without.
            client.subscribe(self.connector.topic, qos=self.connector.qos)
            client.subscribe(SYS_DROPPED, qos=0)  # not matched by a data filter: a $SYS topic
        self.connected.set()

    def _on_disconnect(self, *_: Any) -> None:
        self.disconnects += 1
        self.disconnected.set()

    def take_session_lost(self) -> bool:
        """Whether the broker forgot our session since last asked."""
        lost, self.session_lost = self.session_lost, False
        return lost

    def counter(self) -> int | None:
        """The broker's dropped-messages counter as last published (None: it publishes none)."""
        return self.dropped

    def _on_subscribe(self, _client: Any, _u: Any, mid: int, _codes: Any, _p: Any) -> None:
        self.subacks.setdefault(mid, threading.Event()).set()

    def _on_message(self, _client: Any, _u: Any, message: Any) -> None:
        if message.topic == SYS_DROPPED:
            try:
                self.dropped = int(message.payload)
            except ValueError:
                return
            self.dropped_seen.set()
            return
        self.messages.put(Message(message.mid, message.qos, message.topic, bytes(message.payload)))

    def start(self) -> None:
        c = self.connector
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        try:
            self.client.connect(c.host, c.port, clean_start=False, properties=properties)
        except OSError as exc:
            raise SourceUnreadable(
                f"source {self.contract.id}: cannot reach the MQTT broker at "
                f"mqtt://{c.host}:{c.port}: {exc}",
                hint="check connector.host and port, and that the broker is running",
            ) from None
        self.client.loop_start()
        if not self.connected.wait(CONNECT_TIMEOUT) or self.failure:
            self.close()
            raise SourceUnreadable(
                f"source {self.contract.id}: the MQTT broker at mqtt://{c.host}:{c.port} "
                f"refused the connection: {self.failure or 'no answer'}",
                hint="check connector.username_env / password_env",
            )
        self.dropped_seen.wait(SYS_WAIT_SECONDS)  # retained: comes at once where $SYS is on

    def collect(
        self,
        connector: MqttConnector,
        limit: int | None,
        deadline: float | None,
        stop: threading.Event,
        idle_seconds: float | None = None,
    ) -> list[Message]:
        """One micro-batch: up to ``batch_rows`` (and ``limit``) messages, or what arrived within
        ``batch_seconds`` of the first one (or by the run's deadline); empty when nothing came
        for ``idle_seconds``."""
        size = connector.batch_rows if limit is None else min(limit, connector.batch_rows)
        batch: list[Message] = []
        closes: float | None = deadline
        if idle_seconds is not None:
            idle = time.monotonic() + idle_seconds
            closes = idle if closes is None else min(closes, idle)
        while len(batch) < size and not stop.is_set():
            now = time.monotonic()
            if closes is not None and now >= closes:
                break
            wait = 0.2 if closes is None else min(0.2, closes - now)
            try:
                message = self.messages.get(timeout=max(wait, 0.0))
            except queue.Empty:
                continue
            if not batch:
                end = time.monotonic() + connector.batch_seconds
                closes = end if deadline is None else min(end, deadline)
            batch.append(message)
        return batch

    def acknowledge(self, batch: list[Message]) -> None:
        """Acknowledge a landed batch and wait until the broker has them.

        paho sends acknowledgements asynchronously and, seen in tests, can drop queued ones when
        the connection closes right after. The broker handles one client's packets in order, so
        the answer to a subscription renewal sent after the acks proves they arrived. Renewing is
        harmless: same filter and QoS, and retainHandling 2 so no retained message is sent again.
        """
        connection = self.disconnects
        for message in batch:
            if message.qos > 0:
                self.client.ack(message.mid, message.qos)
        options = SubscribeOptions(qos=self.connector.qos, retainHandling=2)
        result, mid = self.client.subscribe(self.connector.topic, options=options)
        if result != paho.MQTT_ERR_SUCCESS or mid is None:
            raise SourceUnreadable(
                f"source {self.contract.id}: lost the MQTT connection while acknowledging "
                f"{len(batch)} landed messages; they may be delivered again",
                hint="rows are landed; the contract's keys identify repeats",
            )
        confirmed = self.subacks.setdefault(mid, threading.Event())
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while not confirmed.wait(0.05):
            if self.disconnects != connection or time.monotonic() > deadline:
                break  # the connection went: those acks are lost with it
        if not confirmed.is_set() or self.disconnects != connection:
            raise SourceUnreadable(
                f"source {self.contract.id}: the MQTT broker did not confirm the acknowledgement "
                f"of {len(batch)} landed messages; they may be delivered again",
                hint="rows are landed; the contract's keys identify repeats",
            )

    def close(self) -> None:
        # Acknowledgements are queued packets: wait until the DISCONNECT queued behind them has
        # gone out, or stopping the network thread would drop them and the broker would send the
        # landed messages again.
        try:
            if self.client.disconnect() == paho.MQTT_ERR_SUCCESS:
                self.disconnected.wait(CONNECT_TIMEOUT)
        finally:
            self.client.loop_stop()
