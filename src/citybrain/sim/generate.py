"""Orchestration: build the true world, run every department system, write the truth.

System modules are independent (each draws from its own random streams and writes its own
folders), so they run as tasks in worker processes; each worker builds the world once. Truth
streams a module appends to are written as that module's share and merged afterwards in module
order, so the output is byte-identical whatever the number of workers.
"""

from __future__ import annotations

import gc
import json
import multiprocessing as mp
import os
import queue
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from citybrain.sim.scales import Scale, estimate_records, resolve_scale
from citybrain.sim.systems import BULK, SYSTEMS
from citybrain.sim.systems.base import SystemContext
from citybrain.sim.truth import TruthSink
from citybrain.sim.truth_tables import write_truth_tables
from citybrain.sim.world import World, build_world

Advance = Callable[[str, int], None]
TRUTH_TABLES = "truth"  # the task that writes the entity and outcome truth tables
_SHARES = ".shares"  # truth/.shares/<nn>-<module>/: a module's truth streams until merged


@dataclass(frozen=True)
class ModuleRun:
    """What one module's task did, measured in the process that ran it."""

    name: str
    rows: dict[str, int]  # rows per system folder
    seconds: float
    cpu_seconds: float  # this process's CPU time, all threads (one task runs at a time)
    started: float  # time.monotonic(), comparable across processes of one machine
    ended: float
    pid: int
    world_seconds: float  # time this process took to build the world


@dataclass(frozen=True)
class GenerateResult:
    """What a run wrote: rows per system and in total."""

    out: Path
    scale: Scale
    seed: int
    rows: dict[str, int]
    seconds: dict[str, float]  # wall time per system module (and "world" for the true city)
    module_rows: dict[str, int]  # rows per system module (a module may write several folders)
    cpu_seconds: dict[str, float]  # CPU time per module, all threads (robust to a busy machine)
    workers: int = 1
    runs: tuple[ModuleRun, ...] = field(default=(), repr=False)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def wall_seconds(self, modules: tuple[str, ...] | list[str]) -> float:
        """Wall time from the first of ``modules`` starting to the last one ending (other
        modules may run beside them on another worker)."""
        chosen = [r for r in self.runs if r.name in modules]
        if not chosen:
            return 0.0
        return max(r.ended for r in chosen) - min(r.started for r in chosen)


def default_workers() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0))


def generate(
    scale: str | Scale,
    seed: int,
    out: Path,
    *,
    records: int | None = None,
    systems: list[str] | None = None,
    on_progress: Advance | None = None,
    workers: int | None = None,
) -> GenerateResult:
    """Generate the synthetic city into ``out`` (emptied first); same arguments → same bytes,
    for any number of ``workers`` (processes; default: the CPUs available, 1 runs in this one).

    ``on_progress(system, rows)`` is called as rows are written (for a progress bar).
    """
    sc = resolve_scale(scale, records) if isinstance(scale, str) else scale
    out = Path(out)
    chosen = systems or list(SYSTEMS)
    unknown = sorted(set(chosen) - set(SYSTEMS))
    if unknown:
        raise ValueError(f"unknown systems {unknown}; known: {', '.join(SYSTEMS)}")
    n_workers = default_workers() if workers is None else workers
    if n_workers < 1:
        raise ValueError(f"workers must be at least 1, got {n_workers}")
    if out.exists():
        # replace a previous city, but never wipe a folder that is something else
        if any(out.iterdir()) and not (out / "truth" / "manifest.json").is_file():
            raise ValueError(
                f"{out} is not empty and holds no generated city; choose an empty or new folder"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True)
    tasks = [name for name in SYSTEMS if name in chosen] + [TRUTH_TABLES]
    t0 = time.perf_counter()
    if n_workers == 1:
        runs = _run_here(sc, seed, out, tasks, on_progress)
    else:
        runs = _run_pool(sc, seed, out, tasks, on_progress, n_workers)
    by_name = {r.name: r for r in runs}
    rows: dict[str, int] = {}
    for name in tasks:
        for system, n in by_name[name].rows.items():
            rows[system] = rows.get(system, 0) + n
    t_merge = time.perf_counter()
    truth = TruthSink(out)
    shares = out / "truth" / _SHARES
    for i, name in enumerate(tasks):
        truth.merge(shares / _share_name(i, name))
    shutil.rmtree(shares)
    truth.meta.update(
        {
            "scale": sc.name,
            "seed": seed,
            "months": sc.months,
            "start": f"{sc.start_year}-{sc.start_month:02d}",
            "rows": dict(sorted(rows.items())),
            "estimate": estimate_records(sc),
        }
    )
    truth.close()
    (out / "README.json").write_text(
        json.dumps(
            {"zone": "示例高新区", "scale": sc.name, "seed": seed, "systems": sorted(rows)},
            ensure_ascii=False,
            sort_keys=True,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    seconds = {"world": max(r.world_seconds for r in runs)}
    seconds.update({r.name: r.seconds for r in runs if r.name != TRUTH_TABLES})
    seconds["truth"] = by_name[TRUTH_TABLES].seconds + time.perf_counter() - t_merge
    seconds["total"] = time.perf_counter() - t0
    return GenerateResult(
        out,
        sc,
        seed,
        rows,
        seconds,
        {r.name: sum(r.rows.values()) for r in runs if r.name != TRUTH_TABLES},
        {r.name: r.cpu_seconds for r in runs},
        n_workers,
        tuple(sorted(runs, key=lambda r: tasks.index(r.name))),
    )


def _share_name(index: int, name: str) -> str:
    return f"{index:03d}-{name}"


class _Process:
    """What one process keeps between tasks: the world and the values systems share."""

    def __init__(self, scale: Scale, seed: int, out: Path, report: Advance | None) -> None:
        t0 = time.perf_counter()
        self.world: World = build_world(scale, seed)
        self.world_seconds = time.perf_counter() - t0
        self.out, self.report = out, report
        self.shared: dict[str, Any] = {}

    def run(self, index: int, name: str) -> ModuleRun:
        truth = TruthSink(self.out, self.out / "truth" / _SHARES / _share_name(index, name))
        report = self.report

        def advance(n: int) -> None:
            if report is not None:
                report(name, n)

        ctx = SystemContext(self.world, self.out, truth, advance=advance, _shared=self.shared)
        t0, c0, started = time.perf_counter(), time.process_time(), time.monotonic()
        if name == TRUTH_TABLES:
            write_truth_tables(ctx)
        else:
            SYSTEMS[name](ctx)
        truth.close_streams()
        run = ModuleRun(
            name,
            dict(ctx.counts),
            time.perf_counter() - t0,
            time.process_time() - c0,
            started,
            time.monotonic(),
            os.getpid(),
            self.world_seconds,
        )
        # hand freed buffers back to the OS so a long-lived worker does not sit on a peak
        gc.collect()
        pa.default_memory_pool().release_unused()
        return run


def _run_here(
    scale: Scale, seed: int, out: Path, tasks: list[str], on_progress: Advance | None
) -> list[ModuleRun]:
    proc = _Process(scale, seed, out, on_progress)
    return [proc.run(i, name) for i, name in enumerate(tasks)]


# the worker side of the pool: one _Process per worker, built by the initializer
_WORKER: _Process | None = None


def _init_worker(scale: Scale, seed: int, out: Path, progress: Any) -> None:
    global _WORKER

    def report(system: str, n: int) -> None:
        progress.put((system, n))

    _WORKER = _Process(scale, seed, out, report)


def _work(index: int, name: str) -> ModuleRun:
    assert _WORKER is not None, "worker not initialised"
    return _WORKER.run(index, name)


def _schedule(tasks: list[str]) -> list[str]:
    """Bulk modules first, biggest first, then the rest: the order tasks are handed out (which
    worker runs what does not change any byte)."""
    bulk = [name for name in BULK if name in tasks]
    return bulk + [name for name in tasks if name not in bulk]


def _run_pool(
    scale: Scale,
    seed: int,
    out: Path,
    tasks: list[str],
    on_progress: Advance | None,
    n_workers: int,
) -> list[ModuleRun]:
    spawn = mp.get_context("spawn")  # no fork: Arrow's and BLAS's threads do not survive it
    progress: Any = spawn.Queue()
    runs: list[ModuleRun] = []

    def drain() -> None:
        while True:
            try:
                system, n = progress.get_nowait()
            except queue.Empty:
                return
            if on_progress is not None:
                on_progress(system, n)

    with ProcessPoolExecutor(
        max_workers=min(n_workers, len(tasks)),
        mp_context=spawn,
        initializer=_init_worker,
        initargs=(scale, seed, out, progress),
    ) as pool:
        pending: set[Future[ModuleRun]] = {
            pool.submit(_work, tasks.index(name), name) for name in _schedule(tasks)
        }
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                drain()
                for f in done:
                    runs.append(f.result())
        except BaseException:
            for f in pending:
                f.cancel()
            raise
    drain()
    return runs
