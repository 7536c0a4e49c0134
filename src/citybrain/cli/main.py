"""Entry point of the ``citybrain`` command.

User errors (``UserError``) print one line and exit non-zero; anything else is a bug, shown as
one line too unless ``--debug`` asks for the traceback. Subcommands are imported only when they
run (:mod:`citybrain.cli.lazy`), so ``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from citybrain import __version__
from citybrain.cli.lazy import LazyCommand, lazy_group
from citybrain.cli.state import state

COMMANDS = {
    "workspace": LazyCommand("citybrain.cli.workspace", "workspace_app",
                             "Create and inspect city workspaces."),
    "topic": LazyCommand("citybrain.cli.topic", "topic_app",
                         "List, run and evaluate topics (专题)."),
    "sim": LazyCommand("citybrain.cli.sim", "sim_app",
                       "The synthetic city: generate it, serve its APIs and streams."),
    "address": LazyCommand("citybrain.cli.address", "address_app",
                           "Chinese addresses: parse and match."),
    "user": LazyCommand("citybrain.cli.user", "user_app",
                        "Users and API keys of the service API."),
    "audit": LazyCommand("citybrain.cli.audit", "audit_app", "Check and read the audit log."),
    "cases": LazyCommand("citybrain.cli.cases", "cases_app",
                         "Cases (一网统管): list, show and route them."),
    "source": LazyCommand("citybrain.cli.source", "source_app",
                          "Source contracts: draft them from a sample, check them, list them."),
    "ingest": LazyCommand("citybrain.cli.ingest", "ingest_command",
                          "Land the sources' data in the raw zone."),
    "catalog": LazyCommand("citybrain.cli.catalog", "catalog_command",
                           "List the lake's datasets: rows, owner, freshness."),
    "quality": LazyCommand("citybrain.cli.quality", "quality_command",
                           "Score each source's data quality and list the alerts."),
    "run": LazyCommand("citybrain.cli.run", "run_command",
                       "Run the pipeline, or continue the run that was stopped."),
    "runs": LazyCommand("citybrain.cli.runs", "runs_command",
                        "Pipeline runs: status and each step's rows, time and memory."),
    "serve": LazyCommand("citybrain.cli.serve", "serve_command",
                         "Serve the API and the web app."),
    "stream": LazyCommand("citybrain.cli.stream", "stream_command",
                          "Consume the live sources (MQTT, push) into the lake and detectors."),
    "credit": LazyCommand("citybrain.cli.credit", "credit_app",
                          "守信通 credit: 双随机 inspection draws and credit repair."),
    "report": LazyCommand("citybrain.cli.report", "report_app",
                          "Reports for leaders (大数据专报): the daily report as HTML and PDF."),
}  # fmt: skip
WORKSPACE_OPTIONS = ("-w", "--workspace")

app = typer.Typer(
    name="citybrain",
    cls=lazy_group(COMMANDS),
    help=(
        "citybrain — a city digital brain (城市数字大脑).\n\n"
        "Example: citybrain workspace init ./gaoxin"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # the command list in plain text: Rich's help renderer alone costs more than the 0.5 s a
    # `citybrain --help` may take on a busy 2-core machine; subcommands keep Rich's help
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"citybrain {__version__}")
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
        typer.Option(
            "--workspace",
            "-w",
            envvar="CITYBRAIN_WORKSPACE",
            help="Workspace folder (before or after the subcommand).",
        ),
    ] = Path(),
) -> None:
    from citybrain.core import configure_logging

    state.debug = debug
    state.log_json = log_json
    state.workspace = workspace
    configure_logging("DEBUG" if debug else "INFO", json_format=log_json)


def hoist_workspace(argv: Sequence[str]) -> list[str]:
    """``citybrain source list -w ws`` as ``citybrain -w ws source list``.

    ``-w`` belongs to the top-level command; people write it after the subcommand as often as
    before. No subcommand has a ``-w`` of its own, so moving it to the front changes no meaning.
    Arguments after ``--`` are left alone.
    """
    args = list(argv)
    command_at = next((i for i, a in enumerate(args) if a in COMMANDS), None)
    if command_at is None:
        return args
    head, tail, moved = args[:command_at], [], []
    i = command_at
    while i < len(args):
        arg = args[i]
        if arg == "--":
            tail.extend(args[i:])
            break
        if arg in WORKSPACE_OPTIONS and i + 1 < len(args):
            moved += [arg, args[i + 1]]
            i += 2
            continue
        if arg.startswith("--workspace=") or (arg.startswith("-w") and len(arg) > 2):
            moved.append(arg)
        else:
            tail.append(arg)
        i += 1
    return [*head, *moved, *tail]


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, turning user errors into one line and a non-zero exit.

    Run as the program (``argv`` not given), the garbage collector's objects are frozen before
    the process exits: the interpreter's last collections would otherwise walk every object the
    stages imported and made, about half a second at the end of every `citybrain run` (measured
    on the 10M city's nightly run: 0.57 s of teardown, 0.07 s frozen). The process ends anyway;
    what is still alive is freed as before, only cycles are left to the operating system.
    """
    try:
        _run(argv)
    finally:
        if argv is None:
            gc.freeze()


def _run(argv: list[str] | None) -> None:
    args = hoist_workspace(sys.argv[1:] if argv is None else argv)
    try:
        # Outside standalone mode Click returns a command's `typer.Exit(code)` instead of exiting.
        code = app(args=args, prog_name="citybrain", standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _error("[yellow]aborted[/]")
        sys.exit(130)
    except typer.TyperException as exc:
        # Usage errors: one line naming the bad option, and where to get help.
        _error(f"[bold red]error:[/] {_escape(exc.format_message())} (see --help)")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _error("[yellow]interrupted[/]")
        sys.exit(130)
    except Exception as exc:
        from citybrain.core.errors import UserError

        if state.debug:
            raise
        if isinstance(exc, UserError):
            _error(f"[bold red]error:[/] {_escape(str(exc))}")
            sys.exit(exc.exit_code)
        _error(
            f"[bold red]internal error:[/] {_escape(f'{type(exc).__name__}: {exc}')} "
            "(run again with --debug for the traceback, and please report it)"
        )
        sys.exit(1)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _error(markup: str) -> None:
    from citybrain.cli.ui import err_console

    err_console.print(markup, highlight=False, soft_wrap=True)
