"""``citybrain serve``: the API and the web app on one port."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from citybrain.cli.state import state
from citybrain.cli.stream import MAX_BATCH_ROWS
from citybrain.cli.ui import console
from citybrain.core import UserError, Workspace


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    with_stream: Annotated[
        bool,
        typer.Option(
            "--with-stream",
            help="Also consume the live sources (as `citybrain stream`) until the server stops.",
        ),
    ] = False,
    max_batch_rows: Annotated[
        int,
        typer.Option(
            min=0,
            help="With --with-stream: a micro-batch grows to take the messages already waiting, "
            "up to this many (as `citybrain stream --max-batch-rows`); 0: exactly the batch rows.",
        ),
    ] = MAX_BATCH_ROWS,
) -> None:
    """Serve the API and the web app for a workspace.

    Example: citybrain -w ./gaoxin serve --port 8000 --with-stream
    """
    from citybrain.api.server import run

    workspace = Workspace.open(state.workspace)
    consumer = _start_stream(workspace, max_batch_rows or None) if with_stream else None
    console.print(f"citybrain is serving {workspace.config.name} at [bold]http://{host}:{port}[/]")
    try:
        run(workspace, host=host, port=port)
    except OSError as exc:  # port in use, permission denied
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    finally:
        if consumer is not None:  # the server stopped: land the open batches, then stop
            stop, thread = consumer
            stop.set()
            thread.join()


def _start_stream(
    workspace: Workspace, max_batch_rows: int | None = MAX_BATCH_ROWS
) -> tuple[threading.Event, threading.Thread] | None:
    """``citybrain stream`` in a thread of the server's process (its events reach the API through
    the ops database, as from a separate process), its batches growing to ``max_batch_rows``."""
    from citybrain.cli.stream import maybe_runner, run_with_status

    runner = maybe_runner(workspace, [], None, None, [], max_batch_rows)
    if runner is None:
        console.print("note: no live sources (MQTT or push) in this workspace: nothing to stream")
        return None
    stop = threading.Event()
    thread = threading.Thread(
        target=run_with_status, args=(runner, stop, True), name="citybrain-stream", daemon=True
    )
    thread.start()
    return stop, thread
