"""``citybrain address …``: read Chinese addresses and match them to the address base."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from citybrain.cli.ui import console

address_app = typer.Typer(help="Chinese addresses: parse and match.", no_args_is_help=True)


@address_app.command("parse")
def parse_command(
    texts: Annotated[list[str], typer.Argument(help="One or more addresses as people write them.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per address.")
    ] = False,
) -> None:
    """Show the components and admin codes of each address.

    Example: citybrain address parse "高新区天府三街288号3栋2单元1203室"
    """
    from citybrain.address import explain

    for text in texts:
        rows = explain(text).rows()
        if as_json:
            typer.echo(json.dumps({"input": text, **dict(rows)}, ensure_ascii=False))
            continue
        table = Table(title=text, show_header=True)
        table.add_column("component")
        table.add_column("value")
        for component, value in rows:
            table.add_row(component, value)
        console.print(table)


@address_app.command("report")
def report_command() -> None:
    """Address match rates per source: how many rows reached the address base, and at which level.

    Example: citybrain -w ./gaoxin address report
    """
    from citybrain.cli.state import state
    from citybrain.core import Workspace
    from citybrain.govern.standardize import match_rates

    workspace = Workspace.open(state.workspace)
    with workspace.engine() as engine:
        report = match_rates(engine)
    table = Table(title="address match rates / 地址匹配率")
    for column in report.columns:
        table.add_column(column, justify="right" if column not in ("table", "source") else "left")
    for row in report.rows():
        table.add_row(*row)
    console.print(table)
