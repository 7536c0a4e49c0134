"""MQTT micro-batches: payloads read in one Arrow JSON read land exactly what one ``json.loads`` per
message lands (a batch one read cannot take exactly falls back to the per-message reading); a
batch grows to take a backlog when asked; a batch's acknowledgements go out as one write."""

from __future__ import annotations

import json
import struct
import threading
from pathlib import Path
from typing import Any

import pytest

from citybrain.ingest import load_contract
from citybrain.ingest.connectors.base import SourceUnreadable
from citybrain.ingest.connectors.mqtt import (
    Message,
    Subscriber,
    _bulk_table,
    _chunk,
    _chunk_each,
    message_ids,
)
from citybrain.ingest.connectors.stream_loss import LossTracker
from citybrain.ingest.contract import MqttConnector, SourceContract
from citybrain.ingest.rawzone import RawZone
from citybrain.ingest.streams import GUARDED_LOADS, _land_batch, _last_load_ids, _not_landed
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


def test_a_restart_guards_every_load_whose_acks_may_be_unconfirmed(tmp_path: Path) -> None:
    # acks are confirmed by the broker's answer, which is not waited for while fewer than
    # UNCONFIRMED batches wait for it: a consumer killed then gets all their messages again
    write_live_sources(tmp_path / "sources", "127.0.0.1", 1883)
    contract = load_contract(tmp_path / "sources" / f"{MUCK_TRUCK_SOURCE}.yaml")
    connector = contract.connector
    assert isinstance(connector, MqttConnector)
    lake = tmp_path / "lake"
    pings = [
        batch(*[f'{{"gps_id":"{k}-{i}","vehicle_no":"川B1","gps_time":{i}}}' for i in range(2)])
        for k in range(GUARDED_LOADS + 1)
    ]
    for messages in pings:
        tracker = LossTracker(declares_sequence=False)
        broker: Any = _NoBroker()
        ids = message_ids(messages)
        landed = _land_batch(lake, contract, connector, messages, None, tracker, broker, ids=ids)
        assert landed.status == "completed"
    zone = RawZone(lake, contract.id)
    guard = _last_load_ids(zone, zone.manifests())
    again = [m for messages in pings[1:] for m in messages]  # every unconfirmed load, again
    fresh, _ = _not_landed(again, message_ids(again), guard)
    assert fresh == []
    fresh, _ = _not_landed(pings[0], message_ids(pings[0]), guard)
    assert fresh == pings[0]  # an older load's messages are not in the guard (confirmed)


def test_acks_wait_for_the_broker_only_when_too_many_are_unconfirmed(
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
