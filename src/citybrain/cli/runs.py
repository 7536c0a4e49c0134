"""``citybrain runs``: the history of pipeline runs, with each step's figures."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from citybrain.cli.state import state
from citybrain.cli.ui import console

if TYPE_CHECKING:
    from citybrain.core.catalog import PipelineRunInfo


def runs_command(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many runs.")] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON array of runs, each with its steps.")
    ] = False,
) -> None:
    """List the latest pipeline runs, newest first: status, and per step rows in and out,
    seconds and peak memory (every attempt of a resumed run).

    Example: citybrain -w ./gaoxin runs --json
    """
    from citybrain.core import Workspace
    from citybrain.core.catalog import Catalog

    workspace = Workspace.open(state.workspace)
    with Catalog.open(workspace.ops_db_url) as catalog:
        found = catalog.list_pipeline_runs(limit=limit)
    if as_json:
        rows = [run.model_dump(mode="json", exclude={"stages"}) for run in found]
        # print, not console.print_json: one compact array that a script can read
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not found:
        console.print("no pipeline runs yet (start one with `citybrain run`)")
        return
    for run in found:
        console.print(_steps_table(run))


def _steps_table(run: PipelineRunInfo) -> object:
    from rich.table import Table

    finished = f"{run.finished_at:%Y-%m-%d %H:%M:%S}" if run.finished_at else "—"
    title = (
        f"{run.run_id} · {run.command} · {run.status} · "
        f"{run.started_at:%Y-%m-%d %H:%M:%S} → {finished}"
    )
    table = Table(title=title, caption=run.error_message, title_justify="left")
    table.add_column("step", no_wrap=True)
    table.add_column("try", justify="right")
    table.add_column("status", no_wrap=True)
    for column in ("rows in", "rows out", "seconds", "peak MiB"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("result")
    for step in run.steps:
        table.add_row(
            step.name,
            str(step.attempt),
            step.status,
            "—" if step.rows_in is None else f"{step.rows_in:,}",
            "—" if step.rows_out is None else f"{step.rows_out:,}",
            "—" if step.seconds is None else f"{step.seconds:.1f}",
            "—" if step.peak_rss_bytes is None else f"{step.peak_rss_bytes / 2**20:,.0f}",
            step.error_message or step.summary or "",
            style=None if step.status == "succeeded" else "red",
        )
    return table
