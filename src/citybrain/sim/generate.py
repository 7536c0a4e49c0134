"""Orchestration: build the true world, run every department system, write the truth.

System modules are independent (each draws from its own random streams and writes its own
folders), so they run as tasks in worker processes; the biggest stream (bike positions) is split
into tasks of a few months. One worker holds the whole world (people, enterprises) and can run
any task; the others hold only the map and run the map-only bulk streams, then exit, so memory
stays near one world's worth. Bulk tasks go first, on every worker. Truth streams a task appends
to are written as that task's share and merged afterwards in task order, so the output is
byte-identical whatever the number of workers.
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

from citybrain.core.parallel import available_cpus
from citybrain.sim.geography import build_geography
from citybrain.sim.profiles import get_profile
from citybrain.sim.profiles.handover import hand_over, restate_truth
from citybrain.sim.scales import Scale, estimate_records, resolve_scale
from citybrain.sim.systems import BULK, BY_MONTHS, MAP_ONLY, SYSTEMS
from citybrain.sim.systems.base import SystemContext
from citybrain.sim.truth import TruthSink
from citybrain.sim.truth_tables import write_truth_tables
from citybrain.sim.world import World, build_world

Advance = Callable[[str, int], None]
TRUTH_TABLES = "truth"  # the task that writes the entity and outcome truth tables
_SHARES = ".shares"  # truth/.shares/<nn>-<task>/: a task's truth streams until merged
MONTHS_PER_TASK = 3  # months of a split module per task


@dataclass(frozen=True)
class Task:
    """One module, or a range of months of a module that builds months on their own."""

    index: int  # position in the canonical order: truth shares merge in this order
    module: str
    months: tuple[int, int] | None = None  # [start, stop) for a BY_MONTHS module

    @property
    def label(self) -> str:
        return (
            self.module
            if self.months is None
            else f"{self.module}[{self.months[0]}:{self.months[1]}]"
        )

    @property
    def share(self) -> str:
        return f"{self.index:03d}-{self.label}"

    @property
    def map_only(self) -> bool:
        return self.module in MAP_ONLY

    @property
    def bulk(self) -> bool:
        return self.module in BULK


@dataclass(frozen=True)
class ModuleRun:
    """What one task did, measured in the process that ran it."""

    name: str  # the module
    label: str  # the module, with its months for a split module
    rows: dict[str, int]  # rows per system folder
    seconds: float
    cpu_seconds: float  # this process's CPU time, all threads (one task runs at a time)
    started: float  # time.monotonic(), comparable across processes of one machine
    ended: float
    pid: int
    world_seconds: float  # time this process took to build its world
    people: bool  # whether this process had built the people when the task ended


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
    """The CPUs this process may run on (a container's CPU quota included)."""
    return available_cpus()


def generate(
    scale: str | Scale,
    seed: int,
    out: Path,
    *,
    records: int | None = None,
    systems: list[str] | None = None,
    on_progress: Advance | None = None,
    workers: int | None = None,
    profile: str = "default",
) -> GenerateResult:
    """Generate the synthetic city into ``out`` (emptied first); same arguments → same bytes,
    for any number of ``workers`` (processes; default: the CPUs available, 1 runs in this one).

    ``on_progress(system, rows)`` is called as rows are written (for a progress bar).
    ``profile`` picks the district (``sim.profiles``; the default zone unless named).
    """
    sc = resolve_scale(scale, records) if isinstance(scale, str) else scale
    out = Path(out)
    prof = get_profile(profile)
    chosen = systems or list(prof.systems or SYSTEMS)
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
    tasks = _tasks(chosen, sc.months)
    t0 = time.perf_counter()
    if n_workers == 1:
        runs = _run_here(sc, seed, out, tasks, on_progress, profile)
    else:
        runs = _run_pool(sc, seed, out, tasks, on_progress, n_workers, profile)
    runs.sort(key=lambda r: [t.label for t in tasks].index(r.label))
    rows: dict[str, int] = {}
    for run in runs:
        for system, n in run.rows.items():
            rows[system] = rows.get(system, 0) + n
    geo = None if prof.is_default else prof.reshape(build_geography(sc, seed))  # the map alone
    if geo is not None:  # the district's departments hand their systems over their own way
        rows.update(hand_over(prof, out, sorted(rows), geo))
    t_merge = time.perf_counter()
    truth = TruthSink(out)
    shares = out / "truth" / _SHARES
    truth.merge([shares / task.share for task in tasks], threads=n_workers)
    shutil.rmtree(shares)
    truth.meta.update(
        ({} if prof.is_default else {"profile": prof.name})
        | {
            "scale": sc.name,
            "seed": seed,
            "months": sc.months,
            "start": f"{sc.start_year}-{sc.start_month:02d}",
            "rows": dict(sorted(rows.items())),
            "estimate": estimate_records(sc),
        }
    )
    truth.close()
    if geo is not None:
        restate_truth(prof, out, geo)
    (out / "README.json").write_text(
        json.dumps(
            ({} if prof.is_default else {"profile": prof.name})
            | {"zone": prof.zone, "scale": sc.name, "seed": seed, "systems": sorted(rows)},
            ensure_ascii=False,
            sort_keys=True,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    seconds: dict[str, float] = {"world": max(r.world_seconds for r in runs)}
    module_rows: dict[str, int] = {}
    cpu: dict[str, float] = {}
    for r in runs:  # a split module's tasks add up
        key = "truth" if r.name == TRUTH_TABLES else r.name
        seconds[key] = seconds.get(key, 0.0) + r.seconds
        cpu[key] = cpu.get(key, 0.0) + r.cpu_seconds
        if r.name != TRUTH_TABLES:
            module_rows[key] = module_rows.get(key, 0) + sum(r.rows.values())
    seconds["truth"] += time.perf_counter() - t_merge
    seconds["total"] = time.perf_counter() - t0
    return GenerateResult(out, sc, seed, rows, seconds, module_rows, cpu, n_workers, tuple(runs))


def _tasks(chosen: list[str], months: int) -> list[Task]:
    """The tasks in canonical order: modules in build order, a split module month by month,
    then the truth tables."""
    tasks: list[Task] = []
    for name in SYSTEMS:
        if name not in chosen:
            continue
        if name in BY_MONTHS:
            for a in range(0, months, MONTHS_PER_TASK):
                tasks.append(Task(len(tasks), name, (a, min(a + MONTHS_PER_TASK, months))))
        else:
            tasks.append(Task(len(tasks), name))
    tasks.append(Task(len(tasks), TRUTH_TABLES))
    return tasks


class _Process:
    """What one process keeps between tasks: the world and the values systems share."""

    def __init__(
        self,
        scale: Scale,
        seed: int,
        out: Path,
        report: Advance | None,
        people: bool = True,
        profile: str = "default",
    ) -> None:
        t0 = time.perf_counter()
        self.world: World = build_world(scale, seed, people=people, profile=profile)
        self.world_seconds = time.perf_counter() - t0
        self.out, self.report = out, report
        self.shared: dict[str, Any] = {}

    def run(self, task: Task) -> ModuleRun:
        # a map-only process is handed map-only tasks alone (see `_run_pool`)
        truth = TruthSink(self.out, self.out / "truth" / _SHARES / task.share)
        report = self.report

        def advance(n: int) -> None:
            if report is not None:
                report(task.module, n)

        ctx = SystemContext(self.world, self.out, truth, advance=advance, _shared=self.shared)
        t0, c0, started = time.perf_counter(), time.process_time(), time.monotonic()
        if task.module == TRUTH_TABLES:
            write_truth_tables(ctx)
        elif task.months is not None:
            BY_MONTHS[task.module](ctx, range(*task.months))
        else:
            SYSTEMS[task.module](ctx)
        truth.close_streams()
        run = ModuleRun(
            task.module,
            task.label,
            dict(ctx.counts),
            time.perf_counter() - t0,
            time.process_time() - c0,
            started,
            time.monotonic(),
            os.getpid(),
            self.world_seconds,
            self.world.has_people,
        )
        # hand freed buffers back to the OS so a long-lived worker does not sit on a peak
        gc.collect()
        pa.default_memory_pool().release_unused()
        return run


def _run_here(
    scale: Scale,
    seed: int,
    out: Path,
    tasks: list[Task],
    on_progress: Advance | None,
    profile: str = "default",
) -> list[ModuleRun]:
    proc = _Process(scale, seed, out, on_progress, profile=profile)
    return [proc.run(task) for task in tasks]


# the worker side: one _Process per worker process, built by the initializer
_WORKER: _Process | None = None


def _init_worker(
    scale: Scale, seed: int, out: Path, progress: Any, people: bool, profile: str = "default"
) -> None:
    global _WORKER

    def report(system: str, n: int) -> None:
        progress.put((system, n))

    _WORKER = _Process(scale, seed, out, report, people, profile)


def _work(task: Task) -> ModuleRun:
    assert _WORKER is not None, "worker not initialised"
    return _WORKER.run(task)


def _order(tasks: list[Task]) -> list[Task]:
    """The order tasks are handed out (which worker runs what does not change any byte): bulk
    tasks first — those needing people first, as only one worker can run them — whole modules
    before the month ranges that fill in at the end; then the rest."""

    def rank(t: Task) -> tuple[int, int, int, int]:
        group = (0 if not t.map_only else 1) if t.bulk else 2
        return (group, t.months is not None, BULK.index(t.module) if t.bulk else 0, t.index)

    return sorted(tasks, key=rank)


def _run_pool(
    scale: Scale,
    seed: int,
    out: Path,
    tasks: list[Task],
    on_progress: Advance | None,
    n_workers: int,
    profile: str = "default",
) -> list[ModuleRun]:
    """Run the tasks on ``n_workers`` processes: worker 0 holds the whole world and runs any
    task; the others hold only the map, run map-only tasks and exit when none are left."""
    spawn = mp.get_context("spawn")  # no fork: Arrow's and BLAS's threads do not survive it
    progress: Any = spawn.Queue()
    slots = [
        ProcessPoolExecutor(
            max_workers=1,
            mp_context=spawn,
            initializer=_init_worker,
            initargs=(scale, seed, out, progress, i == 0, profile),
        )
        for i in range(n_workers)
    ]
    todo = _order(tasks)
    running: dict[Future[ModuleRun], int] = {}
    runs: list[ModuleRun] = []

    def drain() -> None:
        while True:
            try:
                system, n = progress.get_nowait()
            except queue.Empty:
                return
            if on_progress is not None:
                on_progress(system, n)

    def feed(slot: int) -> None:
        for i, task in enumerate(todo):
            if slot == 0 or task.map_only:
                running[slots[slot].submit(_work, todo.pop(i))] = slot
                return
        slots[slot].shutdown(wait=False)  # nothing left it can run: let its memory go

    try:
        for slot in range(n_workers):
            feed(slot)
        while running:
            done, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
            drain()
            for f in done:
                slot = running.pop(f)
                runs.append(f.result())
                feed(slot)
    finally:
        for pool in slots:
            pool.shutdown(wait=True, cancel_futures=True)
    drain()
    return runs
