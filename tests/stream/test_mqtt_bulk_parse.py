"""A micro-batch's payloads read in one Arrow JSON read land exactly what one ``json.loads`` per
message lands; a batch that one read cannot take exactly falls back to the per-message reading."""

from __future__ import annotations

import json

import pytest

from citybrain.ingest.connectors.mqtt import Message, _bulk_table, _chunk, _chunk_each
from citybrain.ingest.contract import MqttConnector


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
