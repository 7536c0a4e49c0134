"""``citybrain stream``: the live consumer — every MQTT and push source, in micro-batches, into the
raw zone, the detectors and the live feed, until stopped (SIGTERM or Ctrl-C)."""

from __future__ import annotations

import os
import signal
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from citybrain.cli.state import state
from citybrain.cli.ui import console, err_console
from citybrain.core import UserError, Workspace

if TYPE_CHECKING:
    from citybrain.stream.runner import StreamRunner, StreamStatus

QUIET_STATUS_SECONDS = 10.0  # without a terminal, one status line this often
MAX_BATCH_ROWS = 50_000  # a batch grows to take what waits, up to this (see --max-batch-rows)


def stream_command(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Live sources to consume (system ids); none: every MQTT and push source."
        ),
    ] = None,
    batch_rows: Annotated[
        int | None,
        typer.Option(min=1, help="Messages per micro-batch (default: each contract's batch_rows)."),
    ] = None,
    max_wait: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            help="Seconds a micro-batch waits for more after its first message "
            "(default: each contract's batch_seconds).",
        ),
    ] = None,
    detector: Annotated[
        list[str] | None,
        typer.Option(help="A detector as module:Class, besides the registered ones (repeatable)."),
    ] = None,
    max_batch_rows: Annotated[
        int,
        typer.Option(
            min=0,
            help="A micro-batch grows past its batch rows to take every message already waiting "
            "(they came while the last batch landed), up to this many: fewer, larger batches "
            "while the stream is fast. 0: batches of exactly the batch rows.",
        ),
    ] = MAX_BATCH_ROWS,
) -> None:
    """Consume the live sources until stopped: land each micro-batch in the raw zone (reconciled,
    acknowledged to the broker only after it is landed and the detectors have it), run the
    incremental detectors on it and put its events on the live feed (/api/v1/events). A detector's
    alerts (e.g. a muck truck driving outside its hours) are stored as live findings and open or
    update cases through the routing, as batch findings do. A batch the broker sends again after a
    crash is recognised and not landed twice.

    SIGTERM or Ctrl-C lands the open batches and stops; a second one stops at once, leaving what
    was not landed unacknowledged, so the broker delivers it again.

    A consumer that stands still (no batch taken in for a minute while received messages wait,
    or not connected to its broker) is logged, marked on the status line and raised as a quality
    alert for the source's owner.

    Example: citybrain -w ./gaoxin stream --batch-rows 5000 --max-wait 1
    """
    workspace = Workspace.open(state.workspace)
    runner = build_runner(
        workspace, sources or [], batch_rows, max_wait, detector or [], max_batch_rows or None
    )
    stop = threading.Event()
    _on_signals(stop)
    names = ", ".join(c.id for c in runner.contracts)
    detectors = ", ".join(d.name for d in runner.detectors[1:]) or "none"
    console.print(f"stream: consuming {names}; detectors: {detectors}", highlight=False)
    final = run_with_status(runner, stop)
    console.print(final.line(), highlight=False)
    if final.errors:
        raise typer.Exit(1)


def build_runner(
    workspace: Workspace,
    names: list[str],
    batch_rows: int | None,
    max_wait: float | None,
    specs: list[str],
    max_batch_rows: int | None = None,
) -> StreamRunner:
    """The consumer of the named live sources (all of them without names) and their detectors;
    with ``max_batch_rows`` its batches grow to take a backlog, up to that many."""
    runner = maybe_runner(workspace, names, batch_rows, max_wait, specs, max_batch_rows)
    if runner is None:
        raise UserError(
            f"{workspace.root / 'sources'}: no live sources (MQTT or push)",
            hint="write an MQTT or push contract there; `citybrain ingest` lands the others",
        )
    return runner


def maybe_runner(
    workspace: Workspace,
    names: list[str],
    batch_rows: int | None,
    max_wait: float | None,
    specs: list[str],
    max_batch_rows: int | None = None,
) -> StreamRunner | None:
    """As :func:`build_runner`; None when no names are given and the workspace has no live
    source."""
    from citybrain.cli.ingest import select_sources
    from citybrain.core.opsdb import connect, upgrade
    from citybrain.ingest import discover_sources, recorder_for
    from citybrain.ingest.check import ContractError, check_contract
    from citybrain.stream.detector import discover_detectors, load_detector
    from citybrain.stream.findings import LiveFindings
    from citybrain.stream.runner import StreamRunner, is_live, with_batching
    from citybrain.stream.store import StreamStore

    if names:
        chosen = select_sources(workspace, names, all_sources=False)
        checks = [s.check for s in chosen]
    else:
        checks = [check_contract(p) for p in discover_sources(workspace)]
        checks = [c for c in checks if c.contract is None or is_live(c.contract)]
        if not checks:
            return None
    contracts = []
    for check in checks:
        if check.contract is None:
            raise ContractError(check)
        contracts.append(with_batching(check.contract, batch_rows, max_wait))
    ids = {c.id for c in contracts}
    detectors = [load_detector(spec) for spec in specs]
    for found in discover_detectors().values():
        if all(s in ids for s in found.sources) and found.name not in {d.name for d in detectors}:
            detectors.append(found)
    ops_engine = connect(workspace.ops_db_url)
    upgrade(ops_engine)  # a no-op at head; brings an older workspace's ops database up to date
    return StreamRunner(
        workspace,
        contracts,
        detectors,
        store=StreamStore(ops_engine),
        recorder=recorder_for(workspace),
        findings=LiveFindings.for_workspace(workspace, ops_engine),
        max_batch_rows=max_batch_rows,
    )


def run_with_status(
    runner: StreamRunner, stop: threading.Event, quiet: bool = False
) -> StreamStatus:
    """Run until ``stop``, showing the status line: redrawn in a terminal, else (or ``quiet``,
    beside a server's log) printed every few seconds."""
    import time

    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    said_ready = False
    last_line = 0.0

    def ready(status: StreamStatus, out: Console = console) -> None:
        nonlocal said_ready
        if not said_ready and status.ready:
            said_ready = True
            out.print("stream: subscribed; the brokers keep what is published from now on")

    if err_console.is_terminal and not quiet:
        with Live(Text("stream: starting"), console=err_console, refresh_per_second=2) as live:

            def show(status: StreamStatus) -> None:
                ready(status, live.console)  # above the status line, not through it
                live.update(Text(status.line()))

            return runner.run(stop, show)

    def log_line(status: StreamStatus) -> None:
        nonlocal last_line
        ready(status)
        if time.monotonic() - last_line >= QUIET_STATUS_SECONDS:
            last_line = time.monotonic()
            console.print(status.line(), highlight=False)

    return runner.run(stop, log_line)


def _on_signals(stop: threading.Event) -> None:
    def handle(signum: int, _frame: Any) -> None:
        if stop.is_set():  # the second signal: leave now; the broker delivers the rest again
            os._exit(128 + signum)
        stop.set()
        err_console.print(
            "stream: stopping after the open batches land (signal again to abandon them)"
        )

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
