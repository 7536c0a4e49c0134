"""``citybrain quality``: the data-quality report per source, with scores, trends and alerts."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from citybrain.cli.state import state
from citybrain.cli.ui import console
from citybrain.core import UserError, Workspace


def quality_command(
    source: Annotated[
        str | None, typer.Option("--source", "-s", help="Only this source system.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Score each source's data quality (0–100) and list the alerts for its owner department.

    Run `citybrain run` first (it standardises the raw zone).

    Example: citybrain -w ./gaoxin quality --source water_utility
    """
    from citybrain.govern.quality import WEIGHTS, quality_report

    workspace = Workspace.open(state.workspace)
    report = quality_report(workspace, source=source)
    if source is not None and not report.sources:
        raise UserError(
            f"no quality result for source {source!r}",
            hint="check the name with `citybrain source list`, then run `citybrain run`",
        )
    if as_json:
        console.print_json(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
        return
    if not report.sources:
        console.print(
            "no quality results yet: nothing has been standardised in this workspace. "
            f"Run `citybrain -w {workspace.root} run` first (it ingests, standardises and scores).",
            highlight=False,
            markup=False,
        )
        return
    table = Table(title="数据质量 / data quality")
    for name in report.columns:
        table.add_column(name, justify="left" if name in ("source", "table", "owner") else "right")
    for row in report.rows():
        table.add_row(*row)
    console.print(table)
    weights = ", ".join(f"{k} {v:.0%}" for k, v in WEIGHTS.items())
    console.print(f"score = weighted mean of the dimensions that apply: {weights}")
    if report.alerts:
        alerts = Table(title="告警 / alerts")
        for name in ("level", "source", "owner", "zh", "en"):
            alerts.add_column(name)
        for row in report.alert_rows():
            alerts.add_row(*row, style="red" if row[0] == "critical" else "yellow")
        console.print(alerts)
