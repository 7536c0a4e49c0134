"""``citybrain ingest``: load a workspace's sources into the raw zone; a broken source fails alone.

Sources that need a server (an HTTP API, an MQTT broker) are probed first: when nothing answers,
the source fails with one line saying what to start, instead of waiting out retries and timeouts.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer
from rich.markup import escape
from rich.progress import Progress, TaskID
from rich.table import Table

from citybrain.cli.state import state
from citybrain.cli.ui import console, err_console, progress
from citybrain.core import UserError, Workspace
from citybrain.ingest import (
    CheckResult,
    IngestSummary,
    LoadOptions,
    ProgressEvent,
    SourceContract,
    SourceResult,
    check_contract,
    discover_sources,
    ingest_sources,
    recorder_for,
)
from citybrain.ingest.contract import HttpConnector, MqttConnector, NgsiLdConnector

SIM_TAG = "sim"  # set on the contracts `workspace init --sim` writes
PROBE_SECONDS = 2.0


@dataclass(frozen=True)
class Selected:
    """A source picked for this run: its contract file and, when it validates, the contract."""

    path: Path
    check: CheckResult

    @property
    def label(self) -> str:
        return self.check.contract.id if self.check.contract is not None else self.path.stem


def select_sources(workspace: Workspace, names: Sequence[str], all_sources: bool) -> list[Selected]:
    """The sources named (system ids or contract files), or every source with ``--all``."""
    found = [Selected(p, check_contract(p)) for p in discover_sources(workspace)]
    if all_sources:
        if names:
            raise UserError("give source names or --all, not both")
        if not found:
            raise UserError(
                f"{workspace.root / 'sources'}: no source contracts",
                hint="write one there, or create a workspace with `workspace init WS --sim DIR`",
            )
        return found
    if not names:
        raise UserError("name the sources to ingest, or use --all", hint="see `source list`")
    by_label = {s.label: s for s in found} | {s.path.stem: s for s in found}
    chosen: list[Selected] = []
    for name in names:
        path = Path(name)
        if name in by_label:
            chosen.append(by_label[name])
        elif path.suffix in (".yaml", ".yml") and path.is_file():
            chosen.append(Selected(path, check_contract(path)))
        else:
            known = ", ".join(sorted({s.label for s in found})) or "none"
            raise UserError(f"no source {name!r} in {workspace.root / 'sources'}; known: {known}")
    return chosen


def _endpoint(contract: SourceContract) -> tuple[str, int, str] | None:
    """(host, port, what) of the server a source needs, or None for files and databases."""
    connector = contract.connector
    if isinstance(connector, MqttConnector):
        return connector.host, connector.port, f"MQTT broker {connector.host}:{connector.port}"
    url = connector.url if isinstance(connector, (HttpConnector, NgsiLdConnector)) else None
    if url is None:
        return None
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.hostname or "localhost", parts.port or default, f"HTTP API {url}"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=PROBE_SECONDS):
            return True
    except OSError:
        return False


def preflight(contract: SourceContract) -> str | None:
    """Why a source cannot run now (a server not answering, a secret not set), or None."""
    connector = contract.connector
    for name in ("auth_header_env", "password_env", "username_env", "token_env"):
        env = getattr(connector, name, None)
        if env and env not in os.environ:
            return f"environment variable {env} is not set (the contract reads its secret there)"
    endpoint = _endpoint(contract)
    if endpoint is None:
        return None
    host, port, what = endpoint
    if _reachable(host, port):
        return None
    if SIM_TAG in contract.tags and isinstance(connector, MqttConnector):
        return (
            f"no {what} answers: start a broker (mosquitto -p {port}) and publish the city's "
            "stream with `citybrain sim publish DIR/air_quality_sensors`"
        )
    if SIM_TAG in contract.tags:
        return f"nothing answers at the {what}: start it with `citybrain sim serve DIR`"
    return f"nothing answers at the {what}: is the server running and reachable?"


class _Bars:
    """One progress bar per source, in bytes where the connector knows them."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.tasks: dict[str, TaskID] = {}
        self.done: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        with self.lock:
            task = self.tasks.get(event.system)
            if task is None:
                task = self.bar.add_task(event.system, total=0)
                self.tasks[event.system] = task
                self.done[event.system] = 0
            base = self.done[event.system]
            if event.phase in ("start", "skipped"):
                total = self.bar.tasks[task].total or 0
                self.bar.update(task, total=total + event.bytes_total)
            if event.phase == "chunk":
                self.bar.update(task, completed=base + event.bytes_read)
            elif event.phase in ("done", "skipped", "failed"):
                self.done[event.system] = base + event.bytes_total
                self.bar.update(task, completed=base + event.bytes_total)
            suffix = " [red]failed[/]" if event.phase == "failed" else ""
            self.bar.update(task, description=f"{event.system} {event.rows_read:,} rows{suffix}")


def run_ingest(
    workspace: Workspace, selected: Sequence[Selected], *, workers: int = 1, force: bool = False
) -> IngestSummary:
    """Probe, then load; the summary keeps the order of ``selected``."""
    blocked: dict[int, SourceResult] = {}
    runnable: list[tuple[int, Path]] = []
    for i, source in enumerate(selected):
        contract = source.check.contract
        reason = preflight(contract) if contract is not None else None
        if contract is not None and reason is not None:
            blocked[i] = SourceResult(contract.id, contract.name, "failed", error=reason)
        else:
            runnable.append((i, source.path))
    with progress() as bar:
        summary = ingest_sources(
            workspace,
            [path for _, path in runnable],
            progress=_Bars(bar),
            recorder=recorder_for(workspace),
            options=LoadOptions(force=force),
            workers=workers,
        )
    loaded = dict(zip((i for i, _ in runnable), summary.results, strict=True))
    return IngestSummary([blocked.get(i) or loaded[i] for i in range(len(selected))])


def summary_table(summary: IngestSummary) -> Table:
    """Source, status, rows read / landed / quarantined, seconds; errors go below the table."""
    table = Table(title="ingest")
    table.add_column("source", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for name in ("read", "landed", "quarantined", "seconds"):
        table.add_column(name, justify="right")
    for r in summary.results:
        if r.status == "failed":
            status = "[red]failed[/]"
        elif r.skipped and not r.loads:
            status = "unchanged"  # every file's checksum matches a completed load
        else:
            status = "ok"
        table.add_row(
            r.system,
            status,
            f"{r.rows_read:,}",
            f"{r.rows_landed:,}",
            f"{r.rows_quarantined:,}",
            f"{r.seconds:.1f}",
        )
    return table


def ingest_command(
    sources: Annotated[
        list[str] | None, typer.Argument(help="System ids (see `source list`) or contract files.")
    ] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="Ingest every source.")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Sources loaded at once.")] = 1,
    force: Annotated[
        bool, typer.Option(help="Land files again even if a completed load has the same checksum.")
    ] = False,
) -> None:
    """Load sources into the raw zone: every row lands or is quarantined with its reason.

    Example: citybrain -w ./gaoxin ingest --all
    """
    workspace = Workspace.open(state.workspace)
    selected = select_sources(workspace, sources or [], all_sources)
    summary = run_ingest(workspace, selected, workers=workers, force=force)
    console.print(summary_table(summary))
    landed = sum(r.rows_landed for r in summary.results)
    quarantined = sum(r.rows_quarantined for r in summary.results)
    console.print(
        f"{len(summary.results) - len(summary.failed)} of {len(summary.results)} source(s) ok · "
        f"{landed:,} rows landed · {quarantined:,} quarantined"
    )
    for result in summary.results:  # a stream's loss at its broker is never silent
        missing = sum(m.rows_missing for m in result.manifests if m.status == "completed")
        if missing:
            err_console.print(
                f"[bold yellow]warning:[/] {result.system}: {missing:,} readings expected but "
                "not received (the broker lost them; see the load manifests and quality alerts)",
                highlight=False,
                soft_wrap=True,
            )
    for failed in summary.failed:
        message = (failed.error or "failed").removeprefix(f"source {failed.system}: ")
        err_console.print(  # the message verbatim: a pattern such as [a-z] is not markup
            f"[bold red]error:[/] {failed.system}: {escape(message)}",
            highlight=False,
            soft_wrap=True,
        )
    if not summary.ok:
        raise typer.Exit(summary.exit_code)
