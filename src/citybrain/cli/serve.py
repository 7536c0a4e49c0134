"""``citybrain serve``: the API and the web app on one port."""

from __future__ import annotations

from typing import Annotated

import typer

from citybrain.cli.state import state
from citybrain.cli.ui import console
from citybrain.core import UserError, Workspace


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
) -> None:
    """Serve the API and the web app for a workspace.

    Example: citybrain -w ./gaoxin serve --port 8000
    """
    from citybrain.api.server import run

    workspace = Workspace.open(state.workspace)
    console.print(f"citybrain is serving {workspace.config.name} at [bold]http://{host}:{port}[/]")
    try:
        run(workspace, host=host, port=port)
    except OSError as exc:  # port in use, permission denied
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
