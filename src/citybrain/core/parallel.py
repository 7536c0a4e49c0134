"""Map a pure-Python function over a long list on worker processes, in a few large chunks.

For CPU-bound Python that one core cannot hurry (parsing and matching distinct address strings).
Workers are forked: they inherit what the function needs (a built address index) copy-on-write
instead of receiving it pickled. The parent may hold DuckDB connections, a Spark session and their
threads; a forked child has only the thread that forked it and never touches them — the function
must be pure Python over its chunk. Results come back in the order of the items; a worker that
dies (killed, out of memory) raises `WorkerDied`, never a short result.
"""

from __future__ import annotations

import gc
import math
import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal, TypeVar

T = TypeVar("T")
R = TypeVar("R")
StartMethod = Literal["fork", "forkserver", "spawn"]

#: Fewer items than this run in this process. Starting the workers and sending the chunks and
#: results costs about 0.3 s of CPU with a district's index in memory, 0.65 s with a city's (a
#: 3.3 GB process forked); 20k addresses take about 1.5 s of one core, so below this the gain is
#: small and lost when a neighbour's load holds the second core
#: (benchmarks/address_match_parallel.py --sizes).
SERIAL_BELOW = 20_000
#: Chunks per worker: more than one, so a worker slowed by a neighbour's load does not hold up
#: the last chunk of all; few, so each carries much work per message.
CHUNKS_PER_WORKER = 4


class WorkerDied(RuntimeError):
    """A worker process ended without returning its chunk (killed, out of memory)."""


def available_cpus() -> int:
    """The CPUs this process may use: its affinity, less when a cgroup's CPU quota says so (a
    container given 2 CPUs of a 64-core host must not fork 64 workers)."""
    cpus = len(os.sched_getaffinity(0))
    for path in ("/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"):
        try:
            text = Path(path).read_text()
            if path.endswith("_us"):  # cgroup v1: the quota and the period in two files
                text += " " + Path(path).with_name("cpu.cfs_period_us").read_text()
        except OSError:
            continue
        quota = quota_cpus(text)
        return min(cpus, quota) if quota else cpus
    return cpus


def quota_cpus(text: str) -> int | None:
    """The CPUs a cgroup quota ``"<quota> <period>"`` allows, rounded up; None: no quota."""
    fields = text.split()
    if len(fields) != 2 or fields[0] in ("max", "-1"):
        return None
    return max(1, math.ceil(int(fields[0]) / int(fields[1])))


def resolve_workers(workers: int) -> int:
    """``workers``, or the CPUs this process may use when it is 0 (`available_cpus`)."""
    if workers < 0:
        raise ValueError(f"workers must be 0 (the CPUs available) or more, got {workers}")
    return workers or available_cpus()


def split(items: Sequence[T], parts: int) -> list[Sequence[T]]:
    """``items`` in at most ``parts`` consecutive slices of nearly equal length."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    bounds = [i * size + min(i, extra) for i in range(parts + 1)]
    return [items[a:b] for a, b in pairwise(bounds)]


# The function a worker applies, set once per worker by the pool's initializer: with fork it is
# inherited as it stands in the parent, not pickled.
_worker_fn: Callable[[Sequence[Any]], Any] | None = None


def _install(fn: Callable[[Sequence[Any]], Any]) -> None:
    global _worker_fn
    _worker_fn = fn


def _apply(chunk: Sequence[Any]) -> Any:
    assert _worker_fn is not None, "the pool's initializer did not run"
    return _worker_fn(chunk)


def map_chunks(
    fn: Callable[[Sequence[T]], R],
    items: Sequence[T],
    *,
    workers: int = 0,
    serial_below: int = SERIAL_BELOW,
    start_method: StartMethod = "fork",
) -> list[R]:
    """``fn`` applied to consecutive chunks of ``items``, one result per chunk, in order.

    ``workers``: processes (0: the CPUs this process may use). One worker, or fewer than
    ``serial_below`` items, runs ``fn(items)`` here and returns ``[result]``. ``fn`` must be pure
    Python over its chunk; with ``forkserver`` or ``spawn`` it is pickled to every worker.
    """
    n = resolve_workers(workers)
    if n == 1 or len(items) < serial_below:
        return [fn(items)]
    chunks = split(items, n * CHUNKS_PER_WORKER)
    pool = ProcessPoolExecutor(
        max_workers=min(n, len(chunks)),
        mp_context=mp.get_context(start_method),
        initializer=_install,
        initargs=(fn,),
    )
    # Objects that exist now stay out of the workers' garbage collections, which would otherwise
    # write to every inherited object and so copy its page into the worker: a district's index
    # cost each worker 165 MB of its own memory without this, 55 MB with it. A caller that froze
    # its own objects (`citybrain run` freezes what its start made) keeps them frozen, with these.
    frozen_before = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        with pool:  # joins every worker on the way out: none is left behind
            return list(pool.map(_apply, chunks))
    except BrokenProcessPool as exc:
        name = getattr(fn, "__name__", None) or getattr(getattr(fn, "func", None), "__name__", "")
        raise WorkerDied(
            f"a worker process died (killed, or out of memory?) while applying {name or fn!r} "
            f"to {len(items)} items in {len(chunks)} chunks on {n} workers; no result is "
            "returned. Run again, or with one worker to use less memory."
        ) from exc
    finally:
        if not frozen_before:
            gc.unfreeze()
