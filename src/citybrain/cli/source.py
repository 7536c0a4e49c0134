"""``citybrain source …``: check contract files and list a workspace's sources."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from citybrain.cli.state import state
from citybrain.cli.ui import console
from citybrain.core import UserError, Workspace
from citybrain.ingest import check_contract, discover_sources

source_app = typer.Typer(
    help="Source contracts: check them, list a workspace's sources.\n\n"
    "Example: citybrain source check sources/water_utility.yaml",
    no_args_is_help=True,
)


def _contract_files(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for the contracts in it."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
            if not inside:
                raise UserError(f"{path}: no contract files (*.yaml) in this folder")
            files.extend(inside)
        else:
            files.append(path)
    return files


@source_app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="Contract files, or folders of them.")],
) -> None:
    """Check source contracts: every problem with file, line and key; exit 1 if any.

    Example: citybrain source check sources/water_utility.yaml sources/gas_utility.yaml
    """
    problems = 0
    for path in _contract_files(files):
        result = check_contract(path)
        if result.passed:
            console.print(f"[green]ok[/] {path}", highlight=False)
            continue
        problems += len(result.problems)
        for problem in result.problems:
            console.print(f"[red]✗[/] {problem}", highlight=False, soft_wrap=True)
    if problems:
        console.print(f"{problems} problem(s)", style="red")
        raise typer.Exit(1)


@source_app.command("list")
def list_sources() -> None:
    """List the workspace's sources: system, owner, connector, standard table, refresh.

    Example: citybrain -w ./gaoxin source list
    """
    workspace = Workspace.open(state.workspace)
    paths = discover_sources(workspace)
    if not paths:
        console.print(f"no source contracts in {workspace.root / 'sources'}")
        return
    table = Table(title=f"sources of {workspace.root.name}")
    table.add_column("system", no_wrap=True)
    for name in ("name", "owner", "connector", "standard", "refresh"):
        table.add_column(name)
    invalid = 0
    for path in paths:
        result = check_contract(path)
        c = result.contract
        if c is None:
            invalid += 1
            table.add_row(path.stem, f"[red]invalid: {result.problems[0]}[/]", "", "", "", "")
            continue
        refresh = c.refresh.mode + (f" ({c.refresh.schedule})" if c.refresh.schedule else "")
        table.add_row(c.id, c.name, c.owner, c.connector.kind, c.standard or "", refresh, c.drift)
    console.print(table)
    if invalid:
        console.print(f"{invalid} invalid contract(s): run `citybrain source check` on them")
