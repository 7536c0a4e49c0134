"""``citybrain sim …``: generate the synthetic city (示例高新区), serve its HTTP systems,
publish its sensor stream.

Example: citybrain sim --scale small --seed 7 --out ./city
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from citybrain.cli.ui import console, progress
from citybrain.core import UserError
from citybrain.sim import PROFILES, SCALES, estimate_records, generate, resolve_scale

sim_app = typer.Typer(
    help=(
        "Generate the synthetic city with its department systems and ground truth.\n\n"
        "Example: citybrain sim --scale small --seed 7 --out ./city"
    ),
    invoke_without_command=True,
)


@sim_app.callback()
def sim(
    ctx: typer.Context,
    scale: Annotated[
        str, typer.Option("--scale", help=f"City size: {', '.join(SCALES)}.")
    ] = "small",
    records: Annotated[
        int | None, typer.Option("--records", help="Resize to about this many source rows.")
    ] = None,
    months: Annotated[
        int | None,
        typer.Option("--months", min=1, help="Months of history instead of the scale's."),
    ] = None,
    planting: Annotated[
        float | None,
        typer.Option(
            "--planting",
            min=0.01,
            help="Plant this many times the group rentals, distressed firms and credit"
            " commitments (a small city that still holds enough to score those topics on).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 7,
    out: Annotated[Path, typer.Option("--out", help="Output folder (replaced).")] = Path("city"),
    systems: Annotated[
        str | None, typer.Option("--systems", help="Comma-separated subset of systems.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Processes (default: the CPUs available).")
    ] = None,
    profile: Annotated[
        str,
        typer.Option(
            "--profile",
            help="District: "
            + "; ".join(f"{p.name} ({p.description})" for p in PROFILES.values())
            + ".",
        ),
    ] = "default",
) -> None:
    """Generate the city into OUT: one folder per department system and truth/ beside them.

    Example: citybrain sim --scale tiny --seed 1 --out ./tiny-city
    """
    if ctx.invoked_subcommand is not None:
        return
    try:
        sc = resolve_scale(scale, records, months=months, planting=planting)
    except ValueError as exc:
        raise UserError(str(exc), hint="e.g. --scale small") from None
    chosen = [s.strip() for s in systems.split(",")] if systems else None
    with progress() as bar:
        task = bar.add_task(f"sim {sc.name}", total=estimate_records(sc))

        def advance(system: str, rows: int) -> None:
            bar.update(task, advance=rows, description=f"sim {sc.name}: {system}")

        try:
            result = generate(
                sc,
                seed,
                out,
                systems=chosen,
                on_progress=advance,
                workers=workers,
                profile=profile,
            )
        except ValueError as exc:
            raise UserError(str(exc)) from None
        bar.update(
            task, total=result.total_rows, completed=result.total_rows, description=f"sim {sc.name}"
        )
    console.print(
        f"{result.total_rows:,} rows in {len(result.rows)} systems → {out} "
        f"(truth in {out / 'truth'})"
    )
    if PROFILES[profile].contracts is not None:
        console.print(f"its source contracts: {out / 'contracts'} (paths relative to {out})")


@sim_app.command("serve")
def serve(
    root: Annotated[Path, typer.Argument(help="A generated city folder.")],
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8808,
) -> None:
    """Serve the city's HTTP systems (arrivals, parking) as a paged JSON API.

    Example: citybrain sim serve ./city --port 8808
    """
    from citybrain.sim.serve import serve as run_server

    run_server(root, host=host, port=port)


@sim_app.command("publish")
def publish(
    system_dir: Annotated[Path, typer.Argument(help="An MQTT system folder of a generated city.")],
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 1883,
    rate: Annotated[float | None, typer.Option("--rate", help="Messages per second.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Stop after N messages.")] = None,
    last_hours: Annotated[
        float | None,
        typer.Option("--last-hours", min=0, help="Only the readings of the newest N hours."),
    ] = None,
    history_out: Annotated[
        Path | None,
        typer.Option(help="With --last-hours: write the older readings here as Parquet files."),
    ] = None,
) -> None:
    """Publish a generated sensor stream to an MQTT broker.

    Example: citybrain sim publish ./city/air_quality_sensors --host localhost --limit 1000
    """
    from citybrain.sim.mqtt import replay, write_history

    if history_out is not None:
        if last_hours is None:
            raise UserError("--history-out needs --last-hours: the hours to stream")
        kept = write_history(system_dir, last_hours, history_out)
        console.print(f"handed over {kept:,} earlier readings as files in {history_out}")
    sent = replay(system_dir, host, port, rate=rate, limit=limit, last_hours=last_hours)
    console.print(f"published {sent:,} messages")
