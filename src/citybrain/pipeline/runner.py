"""Running the graph: one step after another over one context, each step recorded as it goes.

``citybrain run`` either continues the last run — when that run stopped before its end (killed,
or a step raised) — from its first unfinished step, or starts a new run of the steps selected
(all; ``--from STEP`` and what follows; ``--only STEP``). Every run is a ``pipeline_run`` row and
every attempt at a step a ``pipeline_step`` row: status, rows in and out, seconds, peak memory.

A step that raises stops the run (status failed); the next ``citybrain run`` takes it up again at
that step. A step that fails in part (one source's delivery) is recorded failed and the run goes
on; such a run is finished, and the next ``citybrain run`` is a new one that tries again.

Incremental: a plain ``citybrain run`` skips a step whose inputs are what they were when the step
last did its work (and whose outputs were not touched since): only new loads and what depends on
them recompute. Each step that did its work records, in its run's plan (``pipeline_run.stages``),
the fingerprints of what it read and wrote (see `citybrain.pipeline.fingerprint`) and the run that
made its outputs; a skipped step is recorded succeeded with "unchanged since run …". ``--from``
and ``--only`` run what they name whatever changed.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from citybrain.core.errors import UserError
from citybrain.core.logging import get_logger, new_run_id, run_context
from citybrain.pipeline import memory
from citybrain.pipeline.context import RunContext, open_context, run_lock
from citybrain.pipeline.fingerprint import (
    combine,
    config_fingerprint,
    dataset_fingerprint,
    in_lake,
)
from citybrain.pipeline.graph import Graph, Step, StepResult

if TYPE_CHECKING:
    from citybrain.core.catalog import PipelineRunInfo
    from citybrain.core.workspace import Workspace

log = get_logger("citybrain.pipeline")

#: Fault injection for the resumability tests: ``STEP@start`` or ``STEP@end`` kills the process
#: (SIGKILL, as the OOM killer or a power cut would) when that step starts, or after its work is
#: done but before it is recorded as done.
KILL_ENV = "CITYBRAIN_PIPELINE_KILL"


@dataclass(frozen=True)
class StepRecord:
    """How one step went in this invocation."""

    name: str
    status: str
    seconds: float
    summary: str
    rows_in: int | None = None
    rows_out: int | None = None
    peak_rss_bytes: int | None = None
    #: what failed, for a failed step
    error: str | None = None
    #: skipped: its inputs and outputs were unchanged since the run named in ``summary``
    skipped: bool = False


@dataclass
class RunSummary:
    run_id: str
    #: the steps this invocation ran, in order
    steps: list[StepRecord] = field(default_factory=list)
    #: steps of a resumed run that had already succeeded and were not run again
    done_before: list[str] = field(default_factory=list)
    resumed: bool = False
    status: str = "running"


class Observer(Protocol):
    """Hears what the runner does (the CLI draws progress from it)."""

    def planned(self, run_id: str, steps: Sequence[Step], done_before: Sequence[str]) -> None: ...

    def step_started(self, step: Step) -> None: ...

    def step_progress(self, step: Step, text: str) -> None: ...

    def step_finished(self, step: Step, record: StepRecord) -> None: ...


class _Silent:
    def planned(self, run_id: str, steps: Sequence[Step], done_before: Sequence[str]) -> None:
        pass

    def step_started(self, step: Step) -> None:
        pass

    def step_progress(self, step: Step, text: str) -> None:
        pass

    def step_finished(self, step: Step, record: StepRecord) -> None:
        pass


def run_pipeline(
    workspace: Workspace,
    *,
    start: str | None = None,
    only: str | None = None,
    observer: Observer | None = None,
    graph: Graph | None = None,
    command: str = "run",
    incremental: bool | None = None,
) -> RunSummary:
    """Run (or continue) the pipeline of ``workspace``; see the module docstring.

    ``incremental`` (default: when neither ``start`` nor ``only`` is given) skips the steps whose
    inputs did not change since they last did their work.
    """
    watch = observer or _Silent()
    if incremental is None:
        incremental = start is None and only is None
    with run_lock(workspace.root), open_context(workspace) as ctx:
        from citybrain.pipeline.steps import build_graph

        graph = graph or build_graph(workspace)
        selected = graph.select(start=start, only=only)  # a wrong name fails before any work
        migrated = _migrate_first(ctx, graph, selected)
        last = _unfinished(ctx, graph) if start is None and only is None else None
        if last is not None:
            summary = RunSummary(last.run_id, resumed=True)
            succeeded = {s.name for s in last.steps if s.status == "succeeded"}
            plan = [name for name in last.plan if name in graph]
            todo = graph.still_to_do(plan, succeeded)
            summary.done_before = [name for name in plan if name not in todo]
            ctx.catalog.finish_pipeline_run(last.run_id, status="running")
            migrated = None  # the killed run recorded its own migration
            stages = [dict(stage) for stage in last.stages]
        else:
            summary = RunSummary(new_run_id())
            plan = todo = selected
            ctx.catalog.start_pipeline_run(command, run_id=summary.run_id, plan=plan)
            stages = [{"name": name} for name in plan]
        ctx.run_id = summary.run_id
        ctx.incremental = incremental
        book = _Book(ctx, graph, stages, incremental=incremental)
        with run_context(summary.run_id):
            log.info(
                "run %s %s at %s",
                summary.run_id,
                "resumed" if summary.resumed else "started",
                todo[0] if todo else "-",
                extra={"workspace": str(workspace.root), "steps": len(todo)},
            )
            watch.planned(summary.run_id, [graph[name] for name in todo], summary.done_before)
            _run_steps(ctx, graph, plan, todo, summary, watch, migrated, book)
    return summary


@dataclass(frozen=True)
class _Done:
    result: StepResult
    seconds: float
    peak: int


def _migrate_first(ctx: RunContext, graph: Graph, selected: Sequence[str]) -> _Done | None:
    """Bring the ops schema up to date before a run is recorded (the run tables live there).

    When the run includes ``migrate`` its step does it, timed, and is recorded once the run
    exists; otherwise the schema is upgraded quietly, as every other command does.
    """
    if "migrate" in graph and "migrate" in selected:
        step = graph["migrate"]
        _maybe_kill(step.name, "start")
        memory.reset_peak()
        started = time.perf_counter()
        result = step.action(ctx, lambda _: None)
        return _Done(result, time.perf_counter() - started, memory.peak_rss_bytes())
    from citybrain.core.opsdb import upgrade

    upgrade(ctx.ops_engine)
    return None


def _unfinished(ctx: RunContext, graph: Graph) -> PipelineRunInfo | None:
    """The last run, if it stopped before its end: killed, or stopped by a step that raised."""
    runs = ctx.catalog.list_pipeline_runs(limit=1)
    if not runs or runs[0].status == "succeeded" or not runs[0].plan:
        return None
    last = runs[0]
    if last.status == "running":
        return last  # we hold the run lock, so the process that recorded it is gone
    latest = {step.name: step.status for step in last.steps}  # attempts come in order
    if any(latest.get(name) in (None, "running") for name in last.plan if name in graph):
        return last
    return None


def _run_steps(
    ctx: RunContext,
    graph: Graph,
    plan: Sequence[str],
    todo: Sequence[str],
    summary: RunSummary,
    watch: Observer,
    migrated: _Done | None,
    book: _Book,
) -> None:
    catalog = ctx.catalog
    failed: list[str] = []
    for name in todo:
        step = graph[name]
        position = plan.index(name)
        prints = book.fingerprints(step)
        info = catalog.start_pipeline_step(summary.run_id, name, position=position)
        watch.step_started(step)
        unchanged = book.unchanged(step, prints)
        if unchanged is not None:
            record = StepRecord(name, "succeeded", 0.0, unchanged, skipped=True)
            _finish(ctx, info.id, record)
            book.skipped(step)
            summary.steps.append(record)
            watch.step_finished(step, record)
            continue
        ctx.previous = book.previous_parts(step)
        if name == "migrate" and migrated is not None:
            done = migrated
        else:
            started = time.perf_counter()
            try:
                done = _attempt(ctx, step, watch)
            except BaseException as exc:
                message = _describe(exc)
                seconds = time.perf_counter() - started
                record = StepRecord(name, "failed", seconds, "stopped the run", error=message)
                _finish(ctx, info.id, record)
                summary.steps.append(record)
                summary.status = "failed"
                catalog.finish_pipeline_run(
                    summary.run_id, status="failed", error_message=f"{name}: {message}"
                )
                watch.step_finished(step, record)
                raise
        result = done.result
        status = "failed" if result.failed else "succeeded"
        record = StepRecord(
            name, status, done.seconds, result.summary, result.rows_in, result.rows_out,
            done.peak, result.failed,
        )  # fmt: skip
        _maybe_kill(name, "end")
        if not result.failed:
            book.made(step, prints, result.parts)
        _finish(ctx, info.id, record)
        log.info(
            "step %s %s in %.1f s",
            name,
            status,
            done.seconds,
            extra={"step": name, "seconds": round(done.seconds, 3), "rows_out": result.rows_out},
        )
        summary.steps.append(record)
        watch.step_finished(step, record)
        if result.failed:
            failed.append(f"{name}: {result.failed}")
    summary.status = "failed" if failed else "succeeded"
    catalog.finish_pipeline_run(
        summary.run_id, status="failed" if failed else "succeeded",
        error_message="; ".join(failed) or None,
    )  # fmt: skip


@dataclass(frozen=True)
class _Prints:
    inputs: str
    outputs: str


class _Book:
    """The fingerprints of the run's steps, kept in its plan (``pipeline_run.stages``), and the
    question whether a step may be skipped: its inputs and outputs as the last time it did its
    work, found in this run or the latest earlier run that had the step in its plan."""

    def __init__(
        self, ctx: RunContext, graph: Graph, stages: list[dict[str, object]], *, incremental: bool
    ) -> None:
        self.ctx = ctx
        self.graph = graph
        self.stages = stages
        self.incremental = incremental
        self.config = config_fingerprint(ctx.workspace)
        self._history: list[PipelineRunInfo] | None = None

    def _earlier(self) -> list[PipelineRunInfo]:
        if self._history is None:
            runs = self.ctx.catalog.list_pipeline_runs(limit=50)
            self._history = [run for run in runs if run.run_id != self.ctx.run_id]
        return self._history

    def _entry(self, name: str) -> dict[str, object] | None:
        for stage in self.stages:
            if stage.get("name") == name:
                return stage
        return None

    def last(self, name: str) -> dict[str, object] | None:
        """What ``name`` recorded the last time it did its work (or was found unchanged), if its
        latest attempt ended well; ``None`` when it never did or its latest attempt did not."""
        own = self._entry(name)
        if own is not None and "inputs" in own:
            return own
        for run in self._earlier():
            for stage in run.stages:
                if stage.get("name") == name:
                    return stage if "inputs" in stage else None
        return None

    def fingerprints(self, step: Step) -> _Prints | None:
        """``None`` for a step that must always run: one that says so, or that declares nothing
        it reads (nothing to judge it unchanged by)."""
        if not step.incremental or not step.reads:
            return None
        root, lake = self.ctx.workspace.root, self.ctx.workspace.lake
        parts = [("config", self.config)]
        if step.stamp is not None:
            parts.append(("stamp", step.stamp(self.ctx)))
        for read in step.reads:
            if in_lake(read):
                parts.append((read, dataset_fingerprint(lake, root, read)))
            else:  # rows in the ops database: the run in which their writer last did its work
                for writer in self._writers(read, before=step.name):
                    made = (self.last(writer) or {}).get("made", "never")
                    parts.append((f"{read}<{writer}", str(made)))
        outputs = [(w, dataset_fingerprint(lake, root, w)) for w in step.writes if in_lake(w)]
        return _Prints(combine(parts), combine(outputs))

    def _writers(self, dataset: str, *, before: str) -> list[str]:
        return [s.name for s in self.graph if s.name != before and dataset in s.writes]

    def unchanged(self, step: Step, prints: _Prints | None) -> str | None:
        """Why ``step`` can be skipped (one line), or ``None`` when it must run."""
        if prints is None or not self.incremental:
            return None
        last = self.last(step.name)
        if last is None or last.get("inputs") != prints.inputs:
            return None
        if last.get("outputs") != prints.outputs:
            return None
        return f"inputs unchanged since run {last.get('made')}: skipped"

    def previous_parts(self, step: Step) -> dict[str, str] | None:
        last = self.last(step.name)
        parts = (last or {}).get("parts")
        return {str(k): str(v) for k, v in parts.items()} if isinstance(parts, dict) else None

    def skipped(self, step: Step) -> None:
        last = dict(self.last(step.name) or {})
        self._record(step.name, {**last, "name": step.name, "skipped": True})

    def made(self, step: Step, prints: _Prints | None, parts: dict[str, str] | None) -> None:
        if prints is None:
            self._record(step.name, {"name": step.name, "made": self.ctx.run_id})
            return
        root, lake = self.ctx.workspace.root, self.ctx.workspace.lake
        outputs = combine(
            [(w, dataset_fingerprint(lake, root, w)) for w in step.writes if in_lake(w)]
        )
        entry: dict[str, object] = {
            "name": step.name, "inputs": prints.inputs, "outputs": outputs,
            "made": self.ctx.run_id,
        }  # fmt: skip
        if parts is not None:
            entry["parts"] = parts
        self._record(step.name, entry)

    def _record(self, name: str, entry: dict[str, object]) -> None:
        for i, stage in enumerate(self.stages):
            if stage.get("name") == name:
                self.stages[i] = entry
                break
        else:
            self.stages.append(entry)
        self.ctx.catalog.finish_pipeline_run(self.ctx.run_id, status="running", stages=self.stages)


def _attempt(ctx: RunContext, step: Step, watch: Observer) -> _Done:
    _maybe_kill(step.name, "start")
    memory.reset_peak()
    started = time.perf_counter()
    result = step.action(ctx, lambda text: watch.step_progress(step, text))
    return _Done(result, time.perf_counter() - started, memory.peak_rss_bytes())


def _finish(ctx: RunContext, step_id: int, record: StepRecord) -> None:
    from citybrain.core.catalog import PipelineStepOutcome

    ctx.catalog.finish_pipeline_step(
        step_id,
        PipelineStepOutcome(
            status="failed" if record.status == "failed" else "succeeded",
            seconds=record.seconds,
            rows_in=record.rows_in,
            rows_out=record.rows_out,
            peak_rss_bytes=record.peak_rss_bytes,
            summary=record.summary,
            error_message=record.error,
        ),
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"{type(exc).__name__}: {exc}"


def _maybe_kill(step: str, moment: str) -> None:
    if os.environ.get(KILL_ENV) == f"{step}@{moment}":
        os.kill(os.getpid(), signal.SIGKILL)
