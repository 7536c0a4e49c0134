"""``citybrain run``: the pipeline of a workspace (`citybrain.pipeline`), with progress shown.

The steps, their order, their recording and resuming live in `citybrain.pipeline`; this module only
presents them.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from citybrain.cli.state import state
from citybrain.cli.ui import console, progress

if TYPE_CHECKING:
    from rich.table import Table

    from citybrain.pipeline import Step, StepRecord


#: The collector's thresholds while a run starts. The stages' imports and the graph make about a
#: million objects, and at Python's default (700 new objects) the collector walks them all again
#: and again. Once the run is planned the default comes back and what the start made is frozen
#: (long-lived: modules, the graph), so the steps' collections no longer walk it either; the
#: command unfreezes it when it ends. 10M city's nightly run, 2 alternating runs each, load
#: 4.9-5.7: CPU 13.9 / 12.8 s before, 12.4 / 11.4 s after; time in the collector 1.6 -> 1.1 s.
STARTING_GC_THRESHOLD = (10_000, 10, 10)


class _Display:
    """Draws the run as it goes: one bar over the steps, its text the step and what it is doing."""

    def __init__(self, bar: Any, summary: Table, gc_threshold: tuple[int, int, int]) -> None:
        self.bar = bar
        self.summary = summary
        self.task: Any = None
        self.gc_threshold = gc_threshold

    def planned(self, run_id: str, steps: Sequence[Step], done_before: Sequence[str]) -> None:
        # started: the collector as it was, the start's objects set aside from its walks
        gc.set_threshold(*self.gc_threshold)
        gc.freeze()
        if done_before:
            first = steps[0].name if steps else "the end"
            console.print(
                f"continuing run {run_id} at {first} "
                f"({len(done_before)} steps done before it was stopped)"
            )
        self.task = self.bar.add_task("pipeline", total=len(steps))

    def step_started(self, step: Step) -> None:
        self.bar.update(self.task, description=step.name)

    def step_progress(self, step: Step, text: str) -> None:
        self.bar.update(self.task, description=f"{step.name}: {text}")

    def step_finished(self, step: Step, record: StepRecord) -> None:
        style = None if record.status == "succeeded" else "red"
        self.summary.add_row(
            record.name,
            record.status,
            f"{record.summary}; {record.error}" if record.error else record.summary,
            _count(record.rows_in),
            _count(record.rows_out),
            f"{record.seconds:.1f}",
            _megabytes(record.peak_rss_bytes),
            style=style,
        )
        self.bar.advance(self.task)


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _megabytes(value: int | None) -> str:
    return "—" if value is None else f"{value / 2**20:,.0f}"


def run_command(
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="STEP",
            help="Start a new run at STEP (or the first step of a family, e.g. ingest).",
        ),
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(
            "--only", metavar="STEP", help="Run only STEP (or a family of steps, e.g. topic)."
        ),
    ] = None,
) -> None:
    """Run the pipeline: migrate, ingest each source, standardize, quality, resolve, each topic,
    cases. A run that was stopped is continued from its unfinished step.

    Example: citybrain -w ./gaoxin run --from resolve
    """
    default = gc.get_threshold()
    gc.set_threshold(*STARTING_GC_THRESHOLD)
    try:
        _run(start, only, default)
    finally:
        # last, after the summary is printed: unfrozen, the next collection would walk them all
        gc.set_threshold(*default)
        gc.unfreeze()


def _run(start: str | None, only: str | None, gc_threshold: tuple[int, int, int]) -> None:
    from rich import box
    from rich.table import Table

    from citybrain.core import Workspace
    from citybrain.pipeline import run_pipeline

    workspace = Workspace.open(state.workspace)
    summary = Table(title="citybrain run", box=box.SIMPLE_HEAD)
    summary.add_column("step", overflow="fold")
    summary.add_column("status", no_wrap=True)
    summary.add_column("result", min_width=30, ratio=1)
    for column in ("rows in", "rows out", "s", "MiB"):
        summary.add_column(column, justify="right", no_wrap=True)
    try:
        with progress() as bar:
            result = run_pipeline(
                workspace, start=start, only=only, observer=_Display(bar, summary, gc_threshold),
                command=_command(start, only),
            )  # fmt: skip
    finally:
        if summary.row_count:
            console.print(summary)
    word = "continued and finished" if result.resumed else "finished"
    console.print(f"run {result.run_id} {word}: {result.status}")
    if result.status != "succeeded":
        raise typer.Exit(1)


def _command(start: str | None, only: str | None) -> str:
    if start is not None:
        return f"run --from {start}"
    if only is not None:
        return f"run --only {only}"
    return "run"
