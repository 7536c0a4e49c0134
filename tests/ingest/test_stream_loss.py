"""Sequence gaps and broker drops counted per load (no broker needed)."""

from __future__ import annotations

from datetime import UTC, datetime

from citybrain.ingest.connectors.stream_loss import LossTracker, sequence_check
from citybrain.ingest.manifest import Manifest, StreamCheck


def test_gaps_are_counted_after_each_publishers_last_number() -> None:
    gaps, repeats, high = sequence_check(
        ["a", "a", "a", "b", "b"], [5, 6, 9, 1, 2], {"a": 3, "b": 2}
    )
    assert (gaps, repeats, high) == (3, 2, {"a": 9, "b": 2})  # a: 4, 7, 8 missing; b: 1, 2 again


def test_a_new_publisher_starts_at_its_first_number_and_order_does_not_matter() -> None:
    gaps, repeats, high = sequence_check(["x"] * 4, [12, 10, 14, 10], {})
    assert (gaps, repeats, high) == (2, 1, {"x": 14})  # 11 and 13 missing, 10 twice


def manifest(stream: StreamCheck | None, when: int) -> Manifest:
    return Manifest(
        load_id=f"L{when}", system="air", connector="mqtt", source_file="mqtt://x",
        started_at=datetime(2026, 1, 1, when, tzinfo=UTC), status="completed", stream=stream,
    )  # fmt: skip


def test_the_tracker_resumes_from_the_newest_load_and_records_reasons() -> None:
    older = manifest(StreamCheck(sequence_last={"*": 99}, broker_dropped_counter=10), 1)
    newer = manifest(StreamCheck(sequence_last={"*": 199}, broker_dropped_counter=40), 2)
    tracker = LossTracker.resume(True, [newer, older, manifest(None, 3)])
    assert tracker.sequence_last == {"*": 199} and tracker.dropped_counter == 40
    check = tracker.check(["*"] * 3, [200, 201, 250], 70)
    assert (check.sequence_gaps, check.broker_dropped) == (48, 30)
    load = manifest(None, 4)
    tracker.record(load, check, "air")
    assert load.rows_missing == 48 and load.missing_by_reason == {"sequence_gap": 48}
    assert len(load.warnings) == 2  # the gap, and the broker's own count beside it
    tracker.committed(check)
    assert tracker.check([], [], 70).broker_dropped == 0


def test_without_a_sequence_the_brokers_drops_are_the_missing_count() -> None:
    tracker = LossTracker.resume(False, [])
    assert not tracker.pending(None) and tracker.pending(5)
    check = tracker.check([], [], 5)
    load = manifest(None, 1)
    tracker.record(load, check, "air")
    assert load.rows_missing == 5 and load.missing_by_reason == {"broker_dropped": 5}
    tracker.committed(check)
    assert tracker.dropped_since(3) == 3  # the counter fell: a restarted broker counts anew
