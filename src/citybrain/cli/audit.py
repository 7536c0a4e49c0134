"""``citybrain audit …``: check and read the hash-chained audit log."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from citybrain.cli.state import state
from citybrain.cli.ui import console, err_console
from citybrain.core import Workspace

audit_app = typer.Typer(help="Check and read the audit log.", no_args_is_help=True)


@audit_app.command("verify")
def verify() -> None:
    """Recompute the audit log's hash chain; exit 1 and name the first bad row if it is broken.

    Example: citybrain -w ./gaoxin audit verify
    """
    from citybrain.api.security.audit import verify_audit
    from citybrain.core.opsdb import connect

    ops_engine = connect(Workspace.open(state.workspace).ops_db_url)
    try:
        result = verify_audit(ops_engine)
    finally:
        ops_engine.dispose()
    if result.passed:
        console.print(f"[green]ok[/] {result.message}")
        return
    err_console.print(f"[bold red]tampered:[/] {result.message}", highlight=False)
    raise typer.Exit(1)


@audit_app.command("tail")
def tail(
    lines: Annotated[int, typer.Option("-n", "--lines", min=1, max=10_000)] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """Show the newest audit rows, oldest first.

    Example: citybrain audit tail -n 50
    """
    import json

    from sqlalchemy import select

    from citybrain.api.opsdb_models import AuditLog
    from citybrain.core.opsdb import connect, session

    ops_engine = connect(Workspace.open(state.workspace).ops_db_url)
    try:
        with session(ops_engine) as db:
            rows = list(db.scalars(select(AuditLog).order_by(AuditLog.seq.desc()).limit(lines)))[
                ::-1
            ]
    finally:
        ops_engine.dispose()
    if json_out:
        for r in rows:
            typer.echo(
                json.dumps(
                    {
                        "seq": r.seq,
                        "at": r.at.isoformat(),
                        "actor": r.actor,
                        "role": r.role,
                        "action": r.action,
                        "endpoint": r.endpoint,
                        "subjects": r.subjects,
                        "purpose": r.purpose,
                    },
                    ensure_ascii=False,
                )
            )
        return
    table = Table("seq", "at (UTC)", "actor", "action", "endpoint", "subjects", "purpose")
    for r in rows:
        table.add_row(
            str(r.seq),
            f"{r.at:%Y-%m-%d %H:%M:%S}",
            r.actor,
            r.action,
            r.endpoint,
            ",".join(r.subjects[:5]) + (" …" if len(r.subjects) > 5 else ""),
            r.purpose or "",
        )
    console.print(table)
