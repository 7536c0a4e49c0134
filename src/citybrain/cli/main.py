"""Entry point of the ``citybrain`` command.

User errors (``UserError``) print one line and exit non-zero; anything else is a bug, shown as
one line too unless ``--debug`` asks for the traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from citybrain import __version__
from citybrain.cli.address import address_app
from citybrain.cli.audit import audit_app
from citybrain.cli.cases import cases_app
from citybrain.cli.catalog import catalog_command
from citybrain.cli.ingest import ingest_command
from citybrain.cli.quality import quality_command
from citybrain.cli.run import run_command
from citybrain.cli.serve import serve_command
from citybrain.cli.sim import sim_app
from citybrain.cli.source import source_app
from citybrain.cli.state import state
from citybrain.cli.topic import topic_app
from citybrain.cli.ui import console, err_console
from citybrain.cli.user import user_app
from citybrain.cli.workspace import workspace_app
from citybrain.core import UserError, configure_logging

app = typer.Typer(
    name="citybrain",
    help=(
        "citybrain — a city digital brain (城市数字大脑).\n\n"
        "Example: citybrain workspace init ./gaoxin"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"citybrain {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    log_json: Annotated[
        bool, typer.Option("--log-json", help="Log one JSON object per line.")
    ] = False,
    workspace: Annotated[
        Path,
        typer.Option("--workspace", "-w", envvar="CITYBRAIN_WORKSPACE", help="Workspace folder."),
    ] = Path(),
) -> None:
    state.debug = debug
    state.log_json = log_json
    state.workspace = workspace
    configure_logging("DEBUG" if debug else "INFO", json_format=log_json)


app.add_typer(workspace_app, name="workspace")
app.add_typer(topic_app, name="topic")
app.add_typer(sim_app, name="sim")
app.add_typer(address_app, name="address")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(cases_app, name="cases")
app.add_typer(source_app, name="source")
app.command("ingest")(ingest_command)
app.command("catalog")(catalog_command)
app.command("quality")(quality_command)
app.command("run")(run_command)
app.command("serve")(serve_command)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, turning user errors into one line and a non-zero exit."""
    try:
        # Outside standalone mode Click returns a command's `typer.Exit(code)` instead of exiting.
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except UserError as exc:
        if state.debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("[yellow]aborted[/]")
        sys.exit(130)
    except typer.TyperException as exc:
        # Usage errors: one line naming the bad option, and where to get help.
        err_console.print(
            f"[bold red]error:[/] {exc.format_message()} (see --help)", highlight=False
        )
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(130)
    except Exception as exc:
        if state.debug:
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc} "
            "(run again with --debug for the traceback, and please report it)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
