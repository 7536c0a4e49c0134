"""Mapping over chunks on worker processes: the order kept, short lists at home, a dead worker
an error (never a short result), and no worker left behind."""

from __future__ import annotations

import gc
import os
import signal
from collections.abc import Sequence

import psutil
import pytest

from citybrain.core.parallel import (
    WorkerDied,
    available_cpus,
    map_chunks,
    quota_cpus,
    resolve_workers,
    split,
)

# Marks the chunk whose worker kills itself; a module global so that fork and pickle both see it.
POISON = "poison"


def _lengths(chunk: Sequence[str]) -> list[int]:
    return [len(text) * 7 % 11 for text in chunk]


def _pid(chunk: Sequence[str]) -> tuple[int, int]:
    return os.getpid(), len(chunk)


def _die_on_poison(chunk: Sequence[str]) -> int:
    if POISON in chunk:
        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would
    return len(chunk)


def _fail_on_poison(chunk: Sequence[str]) -> int:
    if POISON in chunk:
        raise ValueError(f"cannot read {POISON!r}")
    return len(chunk)


def _texts(n: int) -> list[str]:
    return [f"{i}号{'楼' * (i % 5)}{i * 31 % 97}室" for i in range(n)]


def _children() -> set[int]:
    """This process's children (a Spark JVM started by an earlier test is one of them)."""
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_workers_give_the_serial_result_in_order() -> None:
    texts, before = _texts(3_001), _children()
    parts = map_chunks(_lengths, texts, workers=2, serial_below=0)
    assert len(parts) > 2  # several chunks came back from the workers
    assert [v for part in parts for v in part] == _lengths(texts)
    assert _children() <= before


def test_the_chunks_run_in_other_processes() -> None:
    parts = map_chunks(_pid, _texts(1_000), workers=2, serial_below=0)
    assert {pid for pid, _ in parts}.isdisjoint({os.getpid()})
    assert sum(n for _, n in parts) == 1_000


def test_the_callers_frozen_objects_stay_frozen() -> None:
    """Workers fork with the parent's objects frozen (so their collections do not copy its pages);
    afterwards a caller that froze nothing has nothing frozen, and one that froze its own objects
    (`citybrain run`) still has them frozen."""
    gc.unfreeze()  # whatever an earlier test froze: start from nothing frozen
    map_chunks(_lengths, _texts(500), workers=2, serial_below=0)
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        map_chunks(_lengths, _texts(500), workers=2, serial_below=0)
        # still frozen (a frozen object freed meanwhile leaves the count: it may shrink a little)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_short_list_runs_here_in_one_chunk() -> None:
    assert map_chunks(_pid, _texts(50), workers=2, serial_below=100) == [(os.getpid(), 50)]


def test_one_worker_runs_here_whatever_the_length() -> None:
    assert map_chunks(_pid, _texts(500), workers=1, serial_below=0) == [(os.getpid(), 500)]


def test_an_empty_list_gives_the_function_of_nothing() -> None:
    assert map_chunks(_lengths, [], workers=2, serial_below=0) == [[]]


def test_a_killed_worker_is_an_error_not_a_short_result() -> None:
    texts, before = _texts(2_000), _children()
    texts[1_500] = POISON
    with pytest.raises(WorkerDied, match=r"worker process died.*_die_on_poison.*2000 items"):
        map_chunks(_die_on_poison, texts, workers=2, serial_below=0)
    assert _children() <= before


def test_an_error_in_the_function_is_raised_as_it_is() -> None:
    texts, before = _texts(2_000), _children()
    texts[10] = POISON
    with pytest.raises(ValueError, match="cannot read 'poison'"):
        map_chunks(_fail_on_poison, texts, workers=2, serial_below=0)
    assert _children() <= before


def test_forkserver_workers_get_the_function_pickled() -> None:
    texts = _texts(600)
    # a builtin: the fork server's workers import it by name (a test module they could not)
    parts = map_chunks(list, texts, workers=2, serial_below=0, start_method="forkserver")
    assert len(parts) > 1 and [v for part in parts for v in part] == texts


def test_zero_workers_means_the_cpus_this_process_may_use() -> None:
    assert resolve_workers(0) == available_cpus()
    assert 1 <= available_cpus() <= len(os.sched_getaffinity(0))
    assert resolve_workers(3) == 3
    with pytest.raises(ValueError, match="workers must be 0"):
        resolve_workers(-1)


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("max 100000\n", None), ("200000 100000\n", 2), ("150000 100000", 2), ("50000 100000", 1),
     ("-1 100000", None), ("", None)],
)  # fmt: skip
def test_a_cgroup_quota_caps_the_cpus(text: str, cpus: int | None) -> None:
    assert quota_cpus(text) == cpus


@pytest.mark.parametrize(("n", "parts"), [(10, 3), (3, 8), (1, 1), (100, 7), (0, 4)])
def test_split_keeps_every_item_in_order_in_near_equal_slices(n: int, parts: int) -> None:
    items = list(range(n))
    slices = split(items, parts)
    assert [i for s in slices for i in s] == items
    assert len(slices) == max(1, min(parts, n))
    assert max(map(len, slices)) - min(map(len, slices)) <= 1
