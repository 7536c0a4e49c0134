"""``citybrain report …``: the daily report (大数据专报) as HTML and PDF in the workspace."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from citybrain.cli.state import state
from citybrain.core import UserError, Workspace

report_app = typer.Typer(help="Reports for leaders (大数据专报).", no_args_is_help=True)


@report_app.callback()
def _group() -> None:
    """Reports for leaders (大数据专报): the daily report as HTML and PDF."""


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--date {text!r}: expected YYYY-MM-DD, e.g. 2025-03-14") from None


@report_app.command("daily")
def daily(
    day: Annotated[str, typer.Option("--date", help="The day reported, YYYY-MM-DD.")],
) -> None:
    """Write reports/daily-DATE.html and .pdf: data health, each topic's new findings and trend,
    cases opened, closed and overdue by department; print their paths.

    Example: citybrain -w ./gaoxin report daily --date 2025-03-14
    """
    from citybrain.report import write_daily_report

    workspace = Workspace.open(state.workspace)
    written = write_daily_report(workspace, _day(day))
    typer.echo(str(written.html))
    typer.echo(str(written.pdf))
