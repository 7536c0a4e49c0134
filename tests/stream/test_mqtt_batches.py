"""MQTT micro-batches: payloads read in one Arrow JSON read land exactly what one ``json.loads`` per
message lands (a batch one read cannot take exactly falls back to the per-message reading); a
batch grows to take a backlog when asked; a batch's acknowledgements go out as one write."""

from __future__ import annotations

import json
import struct
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from citybrain.ingest import load_contract
from citybrain.ingest.connectors.base import SourceUnreadable
from citybrain.ingest.connectors.mqtt import (
    AckSent,
    Message,
    Subscriber,
    _bulk_table,
    _chunk,
    _chunk_each,
    _framed,
    message_ids,
)
from citybrain.ingest.connectors.stream_loss import LossTracker
from citybrain.ingest.contract import MqttConnector, SourceContract
from citybrain.ingest.rawzone import RawZone
from citybrain.ingest.streams import (
    GUARDED_LOADS,
    MqttRun,
    _land_batch,
    _last_load_ids,
    _not_landed,
)
from citybrain.stream.livesources import MUCK_TRUCK_SOURCE, write_live_sources


def batch(*payloads: str | bytes) -> list[Message]:
    return [
        Message(i, 1, f"t/{i}", p if isinstance(p, bytes) else p.encode())
        for i, p in enumerate(payloads)
    ]


def same(messages: list[Message], connector: MqttConnector) -> None:
    chunk, publishers, numbers = _chunk(messages, connector)
    each, each_publishers, each_numbers = _chunk_each(messages, connector)
    assert chunk.table.to_pylist() == each.table.to_pylist()
    assert chunk.table.column_names == each.table.column_names
    assert chunk.rejects == each.rejects
    assert chunk.bytes_read == each.bytes_read
    assert (publishers, numbers) == (each_publishers, each_numbers)


FLOATS = [0.0, -0.0, 30.0, 104.00002, 1e-5, 1.5e-4, 0.1, 2.5e10, 34558419206478.6, -7.1e15, 1e15]
PLAIN = [
    json.dumps({"gps_id": f"0-{i}", "vehicle_no": "川B00001", "gps_time": 1733500000000 + i,
                "lng": 104.0 + i * 1e-5, "speed": v, "ok": i % 2 == 0, "note": None})
    for i, v in enumerate(FLOATS)
] + [
    '{"vehicle_no":"川B2","extra":"2026-12-06 10:00:00","speed":3,"when":"2026-12-06"}',
    '{"speed":1.5,"seq":"7","dev":"a"}',
    '{"speed":NaN,"seq":"8","dev":"b"}',
    "{}",
]  # fmt: skip


def test_plain_objects_are_read_in_one_go_and_land_the_same() -> None:
    messages = batch(*PLAIN)
    assert _bulk_table(messages) is not None
    same(messages, MqttConnector(topic="t/#"))
    same(messages, MqttConnector(topic="t/#", sequence="seq", publisher="dev"))


@pytest.mark.parametrize(
    "odd",
    [
        "not json",  # bad JSON: quarantined with its reason
        "[1, 2]",  # not an object
        '{"a": {"b": 1}}',  # nested
        '{"a":\n1}',  # a line break inside
        '{"a": 12345678901234567890}',  # a whole number a double cannot hold
        '{"a": 1, "a": 2}',  # a repeated key: the last one wins
        '{"a": Infinity}',  # Python reads it; too big for the whole-number check
        '{"speed": "fast"}',  # text where the others have numbers
        "\ufeff{}",  # a byte-order mark
        " {} ",  # blanks around
        "",  # empty
        '{"a": "x\ty"}',  # a raw tab inside text: bad JSON for both
        b'{"a": "\xff"}',  # not UTF-8
        '{"seq": "12", "dev": 3}{"seq": 1}',  # two objects in one message
    ],
)
def test_a_batch_one_read_cannot_take_exactly_falls_back(odd: str | bytes) -> None:
    messages = batch(*PLAIN[:3], odd, PLAIN[3])
    assert _bulk_table(messages) is None
    same(messages, MqttConnector(topic="t/#", sequence="seq", publisher="dev"))


def subscriber(batch_rows: int) -> Subscriber:
    connector = MqttConnector(topic="t/#", batch_rows=batch_rows, batch_seconds=0.05)
    contract = SourceContract.model_validate(
        {"id": "bench_t", "name": "t", "owner": "t", "connector": connector.model_dump()}
    )
    return Subscriber(contract, connector)


def test_a_batch_grows_to_take_the_backlog_only_when_asked() -> None:
    sub = subscriber(10)
    for message in batch(*["{}"] * 45):
        sub.messages.put(message)
    stop = threading.Event()
    assert len(sub.collect(sub.connector, None, None, stop)) == 10  # fixed size
    assert len(sub.collect(sub.connector, None, None, stop, max_rows=30)) == 30  # 35 waiting
    assert len(sub.collect(sub.connector, None, None, stop, max_rows=30)) == 5  # what is left


def test_acknowledgements_go_out_as_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    sub = subscriber(10)
    sent: list[bytes] = []
    acked: list[tuple[int, int]] = []
    monkeypatch.setattr(sub.client, "_packet_queue", lambda c, packet, m, q: sent.append(packet))
    monkeypatch.setattr(sub.client, "ack", lambda mid, qos: acked.append((mid, qos)))
    messages = [Message(1, 1, "t/a", b"{}"), Message(300, 1, "t/b", b"{}"),
                Message(7, 2, "t/c", b"{}"), Message(65535, 1, "t/d", b"{}")]  # fmt: skip
    sub._send_acks(messages)
    assert sent == [b"".join(struct.pack("!BBH", 0x40, 2, m) for m in (1, 300, 65535))]
    assert acked == [(7, 2)]  # QoS 2: paho's own handshake


class _NoBroker:
    def take_session_lost(self) -> bool:
        return False

    def counter(self) -> int | None:
        return None


def land_pings(
    tmp_path: Path, loads: int, acked_through: list[str | None] | None = None
) -> tuple[RawZone, list[list[Message]], list[str]]:
    """``loads`` loads of two pings each; the k-th records ``acked_through[k]`` (a load id, or
    an index into the loads landed so far as text)."""
    write_live_sources(tmp_path / "sources", "127.0.0.1", 1883)
    contract = load_contract(tmp_path / "sources" / f"{MUCK_TRUCK_SOURCE}.yaml")
    connector = contract.connector
    assert isinstance(connector, MqttConnector)
    pings = [
        batch(*[f'{{"gps_id":"{k}-{i}","vehicle_no":"川B1","gps_time":{i}}}' for i in range(2)])
        for k in range(loads)
    ]
    load_ids: list[str] = []
    for k, messages in enumerate(pings):
        tracker = LossTracker(declares_sequence=False)
        broker: Any = _NoBroker()
        through = None if acked_through is None else acked_through[k]
        if through is not None and through.isdigit():
            through = load_ids[int(through)]
        landed = _land_batch(
            tmp_path / "lake", contract, connector, messages, None, tracker, broker,
            ids=message_ids(messages), acked_through=through,
        )  # fmt: skip
        assert landed.status == "completed"
        load_ids.append(landed.load_id)
    return RawZone(tmp_path / "lake", contract.id), pings, load_ids


def test_a_restart_without_the_acked_marker_guards_the_newest_loads(tmp_path: Path) -> None:
    # loads landed before each load recorded the newest load whose acks the broker confirmed:
    # the GUARDED_LOADS newest are guarded, as then
    zone, pings, _ = land_pings(tmp_path, GUARDED_LOADS + 1)
    guard = _last_load_ids(zone, zone.manifests())
    again = [m for messages in pings[1:] for m in messages]  # every unconfirmed load, again
    fresh, _ = _not_landed(again, message_ids(again), guard)
    assert fresh == []
    fresh, _ = _not_landed(pings[0], message_ids(pings[0]), guard)
    assert fresh == pings[0]  # an older load's messages are not in the guard (confirmed)


def test_a_restart_guards_every_load_after_the_newest_confirmed_one(tmp_path: Path) -> None:
    # load 3 recorded that the broker had confirmed load 0's acks: 1, 2 and 3 may come again
    zone, pings, _ = land_pings(tmp_path, 4, ["", "", "0", "0"])
    guard = _last_load_ids(zone, zone.manifests())
    again = [m for messages in pings[1:] for m in messages]
    assert _not_landed(again, message_ids(again), guard)[0] == []
    assert _not_landed(pings[0], message_ids(pings[0]), guard)[0] == pings[0]
    # none confirmed yet: every load is guarded
    zone, pings, _ = land_pings(tmp_path / "none", 3, ["", "", ""])
    guard = _last_load_ids(zone, zone.manifests())
    every = [m for messages in pings for m in messages]
    assert _not_landed(every, message_ids(every), guard)[0] == []


def test_an_ack_answer_is_checked_without_waiting_and_lost_with_its_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sub = subscriber(10)
    mids = iter(range(1, 100))
    monkeypatch.setattr(sub.client, "_packet_queue", lambda c, packet, m, q: None)
    monkeypatch.setattr(sub.client, "subscribe", lambda *a, **k: (0, next(mids)))
    first = sub.send_acks(batch("{}"))
    assert not sub.confirmed(first)  # no answer yet: not waited for
    sub._on_subscribe(None, None, first.mid, [], None)
    assert sub.confirmed(first)
    second = sub.send_acks(batch("{}"))
    sub.disconnects += 1  # the connection went before the answer came: those acks are lost
    with pytest.raises(SourceUnreadable):
        sub.confirmed(second)


def test_waiting_for_an_answer_has_a_real_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # messages keep arriving (a backlog pushed ahead of the answer): the wait still ends on time
    sub = subscriber(10)
    monkeypatch.setattr(sub.client, "_packet_queue", lambda c, packet, m, q: None)
    monkeypatch.setattr(sub.client, "subscribe", lambda *a, **k: (0, 1))
    sent = sub.send_acks(batch("{}"))
    stop = threading.Event()

    def arrive() -> None:
        while not stop.wait(0.01):
            sub.received += 1

    arriving = threading.Thread(target=arrive)
    arriving.start()
    began = time.monotonic()
    try:
        with pytest.raises(SourceUnreadable):
            sub.confirm(sent, 0.3)
    finally:
        stop.set()
        arriving.join()
    assert time.monotonic() - began < 2.0


def test_a_run_says_what_stands_still() -> None:
    run = MqttRun()
    assert run.stuck(60, 600) is None
    sub = subscriber(10)
    run.subscriber = sub
    sub.messages.put(batch("{}")[0])
    run.progressed = time.monotonic() - 61  # the consumer has not come back for a minute
    stall = run.stuck(60, 600)
    assert stall is not None and stall.kind == "no_batch" and "1 received messages wait" in stall.en
    run.progressed = time.monotonic()
    assert run.stuck(60, 600) is None  # it is taking messages: not stuck
    run.unconfirmed.append(AckSent(7, 0, 500, "L1", time.monotonic() - 601))
    stall = run.stuck(60, 600)
    assert stall is not None and stall.kind == "ack_unconfirmed" and "500 landed" in stall.en
    assert "500 条已入湖消息" in stall.zh


def test_a_publish_packet_is_read_straight_into_a_message() -> None:
    # MQTT 5 QoS 1 PUBLISH: topic, packet id, properties (a 206-byte user property: a two-byte
    # length), payload; QoS 0 (the broker's $SYS counter) still goes through paho
    sub = subscriber(10)
    assert sub.lean
    prop = b"\x26" + struct.pack("!H", 1) + b"k" + struct.pack("!H", 200) + b"v" * 200
    topic = "t/川B/é".encode()
    payload = b'{"a": 1}\n\xff'
    body = struct.pack("!H", len(topic)) + topic + struct.pack("!H", 300)
    body += bytes([len(prop) & 0x7F | 0x80, len(prop) >> 7]) + prop + payload
    sub.client._in_packet = {**sub.client._in_packet, "command": 0x32, "packet": bytearray(body)}
    sub.client._handle_publish()
    assert sub.messages.get_nowait() == Message(300, 1, "t/川B/é", payload)
    sys_topic = b"$SYS/broker/publish/messages/dropped"
    body = struct.pack("!H", len(sys_topic)) + sys_topic + b"\x00" + b"17"
    sub.client._in_packet = {**sub.client._in_packet, "command": 0x30, "packet": bytearray(body)}
    sub.client._handle_publish()
    assert sub.counter() == 17 and sub.messages.empty() and sub.received == 1


def test_whole_publish_packets_are_cut_from_a_chunk_and_the_rest_left_to_paho() -> None:
    def packet(command: int, mid: int, topic: bytes, props: bytes, payload: bytes) -> bytes:
        body = struct.pack("!H", len(topic)) + topic + struct.pack("!H", mid)
        body += bytes([len(props) & 0x7F | (0x80 if len(props) > 127 else 0)])
        body += bytes([len(props) >> 7]) if len(props) > 127 else b""
        body += props + payload
        n = len(body)
        size = bytes([n & 0x7F | 0x80, n >> 7]) if n > 127 else bytes([n])
        return bytes([command]) + size + body

    prop = b"\x26" + struct.pack("!H", 1) + b"k" + struct.pack("!H", 200) + b"v" * 200
    first = packet(0x3A, 300, "t/川B/é".encode(), prop, b'{"a": 1}\n\xff')  # DUP, QoS 1
    second = packet(0x32, 301, b"t/b", b"", b"{}")
    qos0 = b"\x30\x05\x00\x01t\x00x"
    taken: list[Message] = []
    chunk: list[Any] = [first + second + qos0 + second, 0, None]
    assert _framed(chunk, taken.append) == 2
    assert taken == [Message(300, 1, "t/川B/é", b'{"a": 1}\n\xff'), Message(301, 1, "t/b", b"{}")]
    assert chunk[1] == len(first + second)  # the QoS 0 packet is paho's
    cut = [second + second[:-1], 0, None]  # the chunk ends inside a packet: paho reads on
    assert _framed(cut, taken.append) == 1 and cut[1] == len(second)
