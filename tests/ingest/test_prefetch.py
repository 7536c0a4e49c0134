"""The reader thread that keeps the next chunk ready: same items, same order, errors in place."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from citybrain.ingest.prefetch import prefetch


def test_items_arrive_in_order_from_another_thread() -> None:
    threads: set[str] = set()

    def items() -> Iterator[int]:
        for i in range(50):
            threads.add(threading.current_thread().name)
            yield i

    assert list(prefetch(items(), depth=3)) == list(range(50))
    assert threads == {"cb-prefetch"}


def test_an_error_in_the_reader_is_raised_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("broken at 3")

    seen: list[int] = []
    with pytest.raises(ValueError, match="broken at 3"):
        for item in prefetch(items()):
            seen.append(item)
    assert seen == [1, 2]


def test_a_consumer_that_stops_early_stops_the_reader() -> None:
    produced: list[int] = []
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            for i in range(1_000_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    stream = prefetch(items(), depth=2)
    assert [next(stream), next(stream)] == [0, 1]
    stream.close()  # what a for loop left by an exception does
    assert closed.is_set()
    assert len(produced) < 10  # the reader stayed at most a few items ahead
