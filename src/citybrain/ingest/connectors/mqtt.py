"""MQTT streams (paho-mqtt 2): the durable subscriber, and micro-batches of messages as chunks.

:func:`citybrain.ingest.streams.load_mqtt` lands the micro-batches, each one load with its own
manifest. The subscriber is durable: MQTT 5 with a fixed client id (``citybrain-ingest-<system>``),
``clean_start`` off and a long session expiry, subscribing at the contract's QoS, so the broker
keeps what is published while the loader is down and delivers it at the next run.

Nothing is acknowledged before it is landed: the client runs with paho's ``manual_ack`` and sends
each message's PUBACK only after the micro-batch holding it has committed to the raw zone. A
message received but not landed (the run stopped, a load failed, the process died) is never
acknowledged, so the broker delivers it again. A process killed between a batch's commit and its
acknowledgements gets those messages again on the next run: each load commits its messages'
identities beside its parts (:func:`message_ids`, a hash of topic and payload), and the next run
acknowledges the messages of the loads whose acknowledgements the broker had not confirmed yet
without landing them twice (see :func:`citybrain.ingest.streams.load_mqtt`).

Flow control is ours: Mosquitto 2.0.11 does not hold to the client's receive maximum once
acknowledgements flow (on each PUBACK it moves up to receive-maximum more queued messages in
flight, counting only the in-flight messages *before* the acknowledged one — the oldest, so
nearly none), so a backlog at the broker is all pushed at us. The subscriber's queue is bounded:
while it is full, paho's network thread waits in the message callback, so the socket is not read
and TCP holds the broker back. The consumer never waits for the broker's answer while messages
wait for it (the answer comes behind everything the broker has pushed), so it cannot deadlock on
the stopped reading.

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
import io
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import paho.mqtt.client as paho
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
from paho.mqtt.client import PUBACK
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from citybrain.ingest.connectors.base import (
    Chunk,
    Reject,
    SourceUnreadable,
    python_text,
    records_table,
    with_positions,
)
from citybrain.ingest.connectors.memory import MemoryReader
from citybrain.ingest.connectors.stream_loss import ONE_PUBLISHER
from citybrain.ingest.contract import MqttConnector, SourceContract

SESSION_EXPIRY_SECONDS = 7 * 24 * 3600  # the broker keeps our queue across a week of downtime
RECEIVE_MAXIMUM = 65_535  # unacknowledged messages in flight to us: the batch waits for landing
CONNECT_TIMEOUT = 15.0
DRAIN_MAX_SECONDS = 60.0  # one ingest run of a stream; what arrives later waits for the next
DRAIN_IDLE_SECONDS = 1.0
SYS_DROPPED = "$SYS/broker/publish/messages/dropped"  # Mosquitto; retained, so sent on subscribe
SYS_WAIT_SECONDS = 1.0  # how long a new connection waits for the broker's counter
QUEUE_MESSAGES = 20_000  # messages received and not yet taken into a batch, at most
CLOSE_CONFIRM_SECONDS = 5.0  # at a stop, how long the last acknowledgements' answer is waited for


@dataclass(frozen=True, slots=True)  # a backlog holds many: no __dict__ each
class Message:
    mid: int
    qos: int
    topic: str
    payload: bytes


@dataclass(frozen=True)
class AckSent:
    """A batch's acknowledgements sent: the subscription renewal whose answer confirms them."""

    mid: int
    connection: int  # the subscriber's disconnect count when they were sent
    messages: int
    load_id: str = ""  # the load whose messages they acknowledge
    sent_at: float = 0.0  # time.monotonic() when sent


def message_ids(batch: list[Message]) -> np.ndarray:
    """Each message's identity: 64 bits of BLAKE2b over its topic and payload (what a redelivery
    repeats exactly; the broker's packet id does not survive a new session)."""
    out = np.empty(len(batch), np.uint64)
    for i, message in enumerate(batch):
        digest = hashlib.blake2b(message.topic.encode(), digest_size=8)
        digest.update(b"\x00")
        digest.update(message.payload)
        out[i] = int.from_bytes(digest.digest(), "little")
    return out


def client_id(contract: SourceContract) -> str:
    return f"citybrain-ingest-{contract.id}"


def batch_reader(
    batch: list[Message], connector: MqttConnector
) -> tuple[MemoryReader, list[str], list[int]]:
    """One micro-batch as a stream reader (an empty batch reads nothing), with the publishers and
    sequence numbers of its messages that carry the contract's ``sequence``."""
    source = f"mqtt://{connector.host}:{connector.port}/{connector.topic}"
    digest = hashlib.sha256()
    for message in batch:
        digest.update(message.payload)
    chunk, publishers, numbers = _chunk(batch, connector)
    reader = MemoryReader(source, [chunk], "sha256:" + digest.hexdigest() if batch else "")
    return reader, publishers, numbers


def _chunk(batch: list[Message], connector: MqttConnector) -> tuple[Chunk, list[str], list[int]]:
    """Parsed payloads, and the publishers and sequence numbers of those that carry the
    contract's ``sequence``: the whole batch in one Arrow JSON read (:func:`_bulk_table`), or,
    when it cannot be read in one go (a bad or unusual payload), one ``json.loads`` per message."""
    typed = _bulk_table(batch)
    if typed is None:
        return _chunk_each(batch, connector)
    publishers: list[str] = []
    numbers: list[int] = []
    if connector.sequence is not None:  # the same judgement as per message, on two columns
        seq = _column_values(typed, connector.sequence)
        who = _column_values(typed, connector.publisher) if connector.publisher else None
        for i, number in enumerate(seq):
            value = {connector.sequence: number}
            if who is not None and connector.publisher:
                value[connector.publisher] = who[i]
            _sequence(value, connector, publishers, numbers)
    table = pa.table({name: _python_texts(typed.column(name)) for name in typed.column_names})
    rows = pa.array(np.arange(1, len(batch) + 1, dtype=np.int64))
    size = sum(len(m.payload) for m in batch)
    return Chunk(with_positions(table, rows, None), [], size), publishers, numbers


def _column_values(table: pa.Table, name: str) -> list[Any]:
    if name not in table.column_names:
        return [None] * table.num_rows
    values: list[Any] = table.column(name).to_pylist()
    return values


BULK_PLAIN = (pa.string(), pa.int64(), pa.float64(), pa.bool_(), pa.null())
EXACT_INT = 2.0**53  # a JSON number read as a double above this may have lost digits


def _bulk_table(batch: list[Message]) -> pa.Table | None:
    """Every payload of ``batch`` as one row of a typed table, read by Arrow's JSON reader from
    the payloads joined into one JSON-lines buffer — or None when that would not read exactly
    what ``json.loads`` of each message reads: a payload that is not one plain JSON object on one
    line (a line break, a byte before ``{`` or after ``}``, bad UTF-8 or JSON, a repeated key),
    nested values, or a whole number too big for a double."""
    if not batch:
        return None
    payloads = [m.payload for m in batch]
    buffer = b"\n".join(payloads)
    if buffer.count(b"\n") != len(batch) - 1 or b"\r" in buffer:
        return None
    try:
        buffer.decode("utf-8")  # Arrow would replace bad bytes its own way
    except UnicodeDecodeError:
        return None
    ends = np.cumsum(np.fromiter(map(len, payloads), np.int64, len(batch)) + 1) - 2
    starts = np.r_[0, ends[:-1] + 2]
    raw = np.frombuffer(buffer, np.uint8)
    if (ends < starts).any() or (raw[starts] != ord("{")).any() or (raw[ends] != ord("}")).any():
        return None
    options = pajson.ReadOptions(use_threads=False, block_size=len(buffer) + 1)
    try:
        table = pajson.read_json(io.BytesIO(buffer), read_options=options)
        dated = [f.name for f in table.schema if pa.types.is_timestamp(f.type)]
        if dated:  # ISO text Arrow took for times: read it again as the text it is
            schema = pa.schema([pa.field(n, pa.string()) for n in dated])
            parse = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
            again = pajson.read_json(io.BytesIO(buffer), read_options=options, parse_options=parse)
            table = again.select(table.column_names)  # in the order the keys first appear
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(batch) or any(f.type not in BULK_PLAIN for f in table.schema):
        return None
    for field in table.schema:
        if field.type == pa.float64():
            values = table.column(field.name).to_numpy(zero_copy_only=False)
            if (np.abs(values[~np.isnan(values)]) >= EXACT_INT).any():
                return None
    return table


def _python_texts(column: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A typed JSON column as the text :func:`python_text` gives each value: whole doubles
    without ``.0``, other doubles as Python writes them (Arrow writes exponents elsewhere)."""
    kind = column.type
    if kind == pa.null():
        return pa.nulls(len(column), pa.string())
    if kind != pa.float64():
        return pc.cast(column, pa.string())
    values = column.to_numpy(zero_copy_only=False)
    whole = values == np.floor(values)  # NaN: a null
    text = pc.cast(column, pa.string()).to_numpy(zero_copy_only=False)
    if whole.any():
        as_int = pc.cast(pa.array(np.where(whole, values, 0)), pa.int64()).cast(pa.string())
        text = np.where(whole, as_int.to_numpy(zero_copy_only=False), text)
    magnitude = np.abs(np.nan_to_num(values))
    odd = ~whole & ~np.isnan(values) & ((magnitude >= 1e10) | ((magnitude < 1e-4) & (values != 0)))
    for i in np.flatnonzero(odd):  # rare: where Python and Arrow place the exponent differently
        text[i] = python_text(float(values[i]))
    return pa.array(text, pa.string())


def _chunk_each(
    batch: list[Message], connector: MqttConnector
) -> tuple[Chunk, list[str], list[int]]:
    """Parsed payloads, one ``json.loads`` per message (bad ones rejected with their reason),
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


READ_CHUNK = 1 << 16  # bytes per socket read
READ_PACKETS = 2_000  # packets read per wake-up of paho's network thread (then it writes)


FRAMED_READS = True  # whole QoS 1 PUBLISH packets taken from a chunk at once (see _lean_reads)


def _lean_reads(client: paho.Client, publish: Callable[[Message], None] | None = None) -> bool:
    """paho's network thread reads the socket in chunks and many packets per wake-up: paho reads
    one packet per ``select`` and each packet with two or more ``recv`` calls (its ``loop_read``
    ignores ``max_packets``), a third of its CPU per message (measured: 0.72-0.78 → 0.50-0.53 s
    per 10,000 messages received). A chunk left unread when the thread goes back to ``select``
    would wait for the next bytes, so a wake-up ends only with the chunk used up. paho has no
    public hook for this: with another paho version (methods missing) it reads as it does.

    With ``publish``, the QoS 1 PUBLISH packets (MQTT 5, the topic in full) lying whole in the
    chunk, with no packet of paho's half read, are cut out of it directly and handed to
    ``publish`` as :class:`Message` (:func:`_framed`), without paho's byte-by-byte framing;
    the first other or incomplete packet goes to paho, as every packet did before."""
    needed = ("_sock_recv", "_packet_read", "_loop_rc_handle")
    if not all(callable(getattr(client, name, None)) for name in needed):
        return False
    chunk: list[Any] = [b"", 0, None]  # bytes read, position in them, the socket they came from
    in_packet = getattr(client, "_in_packet", None)
    mutex = getattr(client, "_msgtime_mutex", None)
    if not isinstance(in_packet, dict) or mutex is None:
        publish = None

    def sock_recv(size: int) -> bytes:
        data, pos, sock = chunk
        if sock is not client._sock or pos >= len(data):  # used up, or a new connection
            if client._sock is None:
                raise ConnectionError("no socket")
            data, pos, chunk[2] = client._sock.recv(READ_CHUNK), 0, client._sock
            if not data:  # closed: paho sees the end of the stream
                chunk[0], chunk[1] = b"", 0
                return b""
        out: bytes = data[pos : pos + size]
        chunk[0], chunk[1] = data, pos + len(out)
        return out

    def loop_read(max_packets: int = 1) -> MQTTErrorCode:
        packets = 0
        while True:
            if client._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            if (
                publish is not None
                and FRAMED_READS
                and client._in_packet["command"] == 0  # paho is not inside a packet
                and chunk[2] is client._sock
                and chunk[1] < len(chunk[0])
            ):
                taken = _framed(chunk, publish)
                if taken:
                    packets += taken
                    with client._msgtime_mutex:
                        client._last_bytes_received = time.monotonic()  # paho's time_func
                    if chunk[1] >= len(chunk[0]):
                        if packets >= READ_PACKETS:
                            return MQTTErrorCode.MQTT_ERR_SUCCESS
                        continue  # read the socket again through paho
            rc = client._packet_read()
            if rc > 0:
                handled: MQTTErrorCode = client._loop_rc_handle(rc)
                return handled
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:  # the chunk and the socket are empty
                return MQTTErrorCode.MQTT_ERR_SUCCESS
            packets += 1
            if packets >= READ_PACKETS and chunk[1] >= len(chunk[0]):
                return MQTTErrorCode.MQTT_ERR_SUCCESS  # let it write (acks) and check keepalive

    client._sock_recv = sock_recv  # type: ignore[method-assign, assignment]
    client.loop_read = loop_read  # type: ignore[method-assign]
    return True


def _framed(chunk: list[Any], publish: Callable[[Message], None]) -> int:
    """Whole QoS 1 PUBLISH packets (MQTT 5, the topic in full, UTF-8) from ``chunk`` (bytes,
    position) at its position on, each handed to ``publish``; stops before the first other or
    incomplete packet, the position left there. Returns how many were taken."""
    data, pos = chunk[0], chunk[1]
    end_of_data = len(data)
    taken = 0
    while pos < end_of_data:
        command = data[pos]
        if command & 0xF6 != 0x32:  # PUBLISH, QoS 1 (DUP and RETAIN either way)
            break
        at, length, shift = pos + 1, 0, 0
        while at < end_of_data and shift <= 21:  # the remaining length, at most 4 bytes
            byte = data[at]
            at, length, shift = at + 1, length | (byte & 0x7F) << shift, shift + 7
            if not byte & 0x80:
                break
        else:
            break  # cut off by the chunk's end (or malformed: paho says so)
        end = at + length
        if end > end_of_data or length < 3:
            break
        size = int.from_bytes(data[at : at + 2], "big")
        props = at + 2 + size + 2
        if size == 0 or props >= end:
            break  # a topic alias, or malformed: paho's
        try:
            topic = data[at + 2 : at + 2 + size].decode("utf-8")
        except UnicodeDecodeError:
            break
        mid = int.from_bytes(data[props - 2 : props], "big")
        length, shift = 0, 0
        while props < end:  # the properties' length, a variable byte integer; they are skipped
            byte = data[props]
            props, length, shift = props + 1, length | (byte & 0x7F) << shift, shift + 7
            if not byte & 0x80:
                break
        if props + length > end:
            break
        chunk[1] = pos = end
        taken += 1
        publish(Message(mid, 1, topic, data[props + length : end]))
    return taken


class Subscriber:
    """The paho client: messages arrive on its network thread into a queue; acks go back."""

    def __init__(
        self,
        contract: SourceContract,
        connector: MqttConnector,
        *,
        had_session: bool = False,
        queue_max: int = QUEUE_MESSAGES,
    ) -> None:
        self.contract = contract
        self.connector = connector
        self.had_session = had_session  # an earlier run landed: the broker should know us
        self.session_lost = False
        self.dropped: int | None = None
        self.dropped_seen = threading.Event()
        self.disconnects = 0  # connections lost so far: an ack sent on an earlier one is void
        # Bounded: while full, the network thread waits and the socket is not read (see above).
        self.messages: queue.Queue[Message] = queue.Queue(maxsize=max(1, queue_max))
        self.received = 0  # messages received so far (the broker still talks to us)
        self.paused_since: float | None = None  # time.monotonic(): reading stopped, queue full
        self.pauses = 0  # times reading stopped for a full queue
        self.closing = False  # close() began: what arrives now is dropped (not acknowledged)
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
        lean_publish = self._lean_publish()
        self.lean = _lean_reads(client, self._take if lean_publish else None) and lean_publish

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
        self._take(Message(message.mid, message.qos, message.topic, bytes(message.payload)))

    def _take(self, item: Message) -> None:
        if item.topic == SYS_DROPPED:
            try:
                self.dropped = int(item.payload)
            except ValueError:
                return
            self.dropped_seen.set()
            return
        self.received += 1
        try:
            self.messages.put_nowait(item)
            return
        except queue.Full:
            pass
        # Flow control: paho reads no more from the socket until a batch takes messages out.
        self.paused_since = time.monotonic()
        self.pauses += 1
        try:
            while not self.closing:
                try:
                    self.messages.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue
            # closing: dropped unacknowledged, so the broker delivers it again next run
        finally:
            self.paused_since = None

    def _lean_publish(self) -> bool:
        """QoS 1 PUBLISH packets (MQTT 5, the topic given in full) read straight into a
        :class:`Message`, without paho's ``MQTTMessage``, its properties object and its callback
        dispatch, about half of paho's CPU per message; anything else (QoS 0 and 2, a topic
        alias, a topic that is not UTF-8) goes through paho. No public hook: with another paho
        version (no ``_handle_publish`` / ``_in_packet``) paho handles every packet."""
        client = self.client
        original = getattr(client, "_handle_publish", None)
        if not callable(original) or not isinstance(getattr(client, "_in_packet", None), dict):
            return False

        def handle_publish() -> MQTTErrorCode:
            packet = client._in_packet["packet"]
            size = int.from_bytes(packet[0:2], "big")
            if (client._in_packet["command"] & 0x06) != 0x02 or size == 0:
                return original()  # type: ignore[no-any-return]
            try:
                topic = bytes(packet[2 : 2 + size]).decode("utf-8")
            except UnicodeDecodeError:
                return original()  # type: ignore[no-any-return]
            pos = 2 + size
            mid = int.from_bytes(packet[pos : pos + 2], "big")
            pos, length, shift = pos + 2, 0, 0
            while True:  # the properties' length, a variable byte integer; they are skipped
                byte = packet[pos]
                pos, length, shift = pos + 1, length | (byte & 0x7F) << shift, shift + 7
                if not byte & 0x80:
                    break
            self._take(Message(mid, 1, topic, bytes(packet[pos + length :])))
            return MQTTErrorCode.MQTT_ERR_SUCCESS

        client._handle_publish = handle_publish  # type: ignore[method-assign]
        return True

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
        max_rows: int | None = None,
    ) -> list[Message]:
        """One micro-batch: up to ``batch_rows`` (and ``limit``) messages, or what arrived within
        ``batch_seconds`` of the first one (or by the run's deadline); empty when nothing came
        for ``idle_seconds``. With ``max_rows`` the batch adapts to the arrival rate: when more
        than ``batch_rows`` messages are already waiting (they arrived while the batch before was
        landed), it takes all of them, up to ``max_rows`` — fewer, larger batches while the
        stream is fast, so each batch's fixed cost is paid less often and the backlog shrinks."""
        rows = connector.batch_rows
        if max_rows is not None:
            rows = max(rows, min(self.messages.qsize(), max_rows))
        size = rows if limit is None else min(limit, rows)
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
        """Acknowledge a landed batch and wait until the broker has them."""
        self.confirm(self.send_acks(batch))

    @property
    def waiting(self) -> int:
        """Messages received and not yet taken into a batch."""
        return self.messages.qsize()

    def send_acks(self, batch: list[Message], load_id: str = "") -> AckSent:
        """Acknowledge a landed batch; :meth:`confirm` waits until the broker has the acks.

        paho sends acknowledgements asynchronously and, seen in tests, can drop queued ones when
        the connection closes right after. The broker handles one client's packets in order, so
        the answer to a subscription renewal sent after the acks proves they arrived. Renewing is
        harmless: same filter and QoS, and retainHandling 2 so no retained message is sent again.
        """
        connection = self.disconnects
        self._send_acks(batch)
        options = SubscribeOptions(qos=self.connector.qos, retainHandling=2)
        result, mid = self.client.subscribe(self.connector.topic, options=options)
        if result != paho.MQTT_ERR_SUCCESS or mid is None:
            raise SourceUnreadable(
                f"source {self.contract.id}: lost the MQTT connection while acknowledging "
                f"{len(batch)} landed messages; they may be delivered again",
                hint="rows are landed; the contract's keys identify repeats",
            )
        return AckSent(mid, connection, len(batch), load_id, time.monotonic())

    def confirmed(self, sent: AckSent) -> bool:
        """Whether the broker has confirmed :meth:`send_acks`'s acknowledgements yet (without
        waiting); raises when the connection they went out on is gone unconfirmed."""
        if sent.mid in self.subacks and self.subacks[sent.mid].is_set():
            self.confirm(sent)
            return True
        if self.disconnects != sent.connection:
            self.confirm(sent)  # raises: those acks are lost with the connection
        return False

    def confirm(self, sent: AckSent, timeout: float = CONNECT_TIMEOUT) -> None:
        """Wait until the broker has the acknowledgements :meth:`send_acks` sent, ``timeout``
        seconds at most (a real deadline: the answer comes behind every message the broker has
        pushed before it, which under a backlog is all of it). Not called while the consumer
        runs: with the queue full the socket is not read, and the answer could not come."""
        confirmed = self.subacks.setdefault(sent.mid, threading.Event())
        deadline = time.monotonic() + timeout
        while not confirmed.wait(0.05):
            if self.disconnects != sent.connection or time.monotonic() >= deadline:
                break  # the connection went (those acks are lost with it), or time is up
        self.subacks.pop(sent.mid, None)
        if not confirmed.is_set() or self.disconnects != sent.connection:
            raise SourceUnreadable(
                f"source {self.contract.id}: the MQTT broker did not confirm the acknowledgement "
                f"of {sent.messages} landed messages; they may be delivered again",
                hint="rows are landed; the contract's keys identify repeats",
            )

    def _send_acks(self, batch: list[Message]) -> None:
        """Every QoS 1 message's PUBACK (MQTT 5, success: 4 bytes) queued as one write, not one
        queued packet, wake-up and socket write each (a third of a 10,000-message batch's time
        in paho); QoS 2 through paho's own handshake. paho has no public call for this: without
        its packet queue (another paho version) each message is acknowledged on its own."""
        queue_packet = getattr(self.client, "_packet_queue", None)
        ones = [m.mid for m in batch if m.qos == 1]
        if ones and callable(queue_packet):
            packets = np.empty((len(ones), 4), np.uint8)
            packets[:, 0], packets[:, 1] = PUBACK, 2
            packets[:, 2:] = np.asarray(ones, ">u2").view(np.uint8).reshape(-1, 2)
            queue_packet(PUBACK, packets.tobytes(), 0, 1)
        else:
            for mid in ones:
                self.client.ack(mid, 1)
        for message in batch:
            if message.qos == 2:
                self.client.ack(message.mid, 2)

    def close(self) -> None:
        # Acknowledgements are queued packets: wait until the DISCONNECT queued behind them has
        # gone out, or stopping the network thread would drop them and the broker would send the
        # landed messages again. From here on what arrives is dropped unacknowledged, so the
        # network thread is not held by a full queue and the answers behind it can come.
        self.closing = True
        try:
            if self.client.disconnect() == paho.MQTT_ERR_SUCCESS:
                self.disconnected.wait(CONNECT_TIMEOUT)
        finally:
            self.client.loop_stop()
