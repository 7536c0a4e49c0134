"""``citybrain workspace …``: create and inspect city workspaces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from citybrain.cli.ui import console
from citybrain.core import ZONES, Workspace

workspace_app = typer.Typer(help="Create and inspect city workspaces.", no_args_is_help=True)


@workspace_app.command("init")
def init(
    directory: Annotated[Path, typer.Argument(help="Folder of the new workspace.")],
    name: Annotated[str, typer.Option(help="Name of the city or district.")] = "示例高新区",
    force: Annotated[bool, typer.Option(help="Re-initialise an existing workspace.")] = False,
    sim: Annotated[
        Path | None,
        typer.Option(help="A synthetic city (from `citybrain sim`): write its sources."),
    ] = None,
    sim_api: Annotated[
        str, typer.Option(help="Base URL of `citybrain sim serve` for HTTP sources.")
    ] = "http://127.0.0.1:8808",
    mqtt: Annotated[str, typer.Option(help="MQTT broker HOST:PORT for streamed sources.")] = (
        "127.0.0.1:1883"
    ),
) -> None:
    """Create a workspace: citybrain.toml, the lake zones and the ops database.

    Example: citybrain workspace init ./gaoxin --sim ./tiny-city
    """
    from citybrain.core.opsdb import upgrade
    from citybrain.ingest.simsources import check_sim_options, write_sim_sources

    if sim is not None:  # a wrong option must not leave a half-made workspace behind
        check_sim_options(sim, sim_api, mqtt)
    ws = Workspace.init(directory, name=name, exist_ok=force)
    upgrade(ws.ops_db_url)
    (ws.root / "sources").mkdir(exist_ok=True)  # contracts go here, with or without --sim
    console.print(f"[green]workspace ready[/] {ws.root}")
    console.print(f"  zones: {', '.join(ZONES)}  ·  ops db: {ws.config.ops_db.url}")
    if sim is not None:
        written = write_sim_sources(
            ws.root / "sources", sim, sim_api=sim_api, mqtt=mqtt, overwrite=force
        )
        console.print(f"  sources: {len(written.files)} contracts → {ws.root / 'sources'}")
        for hint in written.hints:
            console.print(f"  before ingest: {hint}", highlight=False)
    else:
        console.print(
            f"  sources: none yet; draft one: citybrain -w {ws.root} source new NAME --from FILE",
            highlight=False,
        )


@workspace_app.command("show")
def show(
    directory: Annotated[Path, typer.Argument(help="Workspace folder.")] = Path(),
) -> None:
    """Print a workspace's effective configuration.

    Example: citybrain workspace show ./gaoxin
    """
    ws = Workspace.open(directory)
    console.print_json(ws.config.model_dump_json(by_alias=True))
