"""``citybrain user …``: accounts and API keys of the service API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from citybrain.cli.opsdb import workspace_ops_engine
from citybrain.cli.state import state
from citybrain.cli.ui import console
from citybrain.core import UserError, Workspace

user_app = typer.Typer(help="Users and API keys of the service API.", no_args_is_help=True)
key_app = typer.Typer(help="API keys for system-to-system use.", no_args_is_help=True)
user_app.add_typer(key_app, name="key")


@contextmanager
def _db() -> Iterator[Session]:
    from citybrain.core.opsdb import session

    with workspace_ops_engine() as (_, ops_engine), session(ops_engine) as db:
        yield db


@user_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ -).")],
    role: Annotated[
        str,
        typer.Option(help="admin, data_steward, analyst, clerk, leader, auditor or public."),
    ],
    department: Annotated[str | None, typer.Option(help="Department, e.g. 石羊街道办.")] = None,
    scope: Annotated[
        str | None, typer.Option(help="Area scope, e.g. street:S1,grid:G2 (none: city-wide).")
    ] = None,
    password_env: Annotated[
        str | None,
        typer.Option(help="Read the password from this environment variable instead of a prompt."),
    ] = None,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="A system user that signs in with API keys only.")
    ] = False,
) -> None:
    """Create a user; the password is prompted for unless --password-env names a variable.

    Example: citybrain user create wang --role clerk --department 石羊街道办 --scope street:S01
    """
    from citybrain.api.security import accounts

    password: str | None = None
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise UserError(f"--password-env names {password_env}, which is not set")
    elif not no_password:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _db() as db:
        info = accounts.create_user(
            db, name, role=role, password=password, department=department, scope=scope
        )
    where = ", ".join(info.scope) or "city-wide"
    console.print(f"[green]created[/] {info.username} ({info.role.value}; {where})")


@user_app.command("list")
def list_(
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List users with role, department, scope and state.

    Example: citybrain user list --json
    """
    import json

    from citybrain.api.security import accounts

    with _db() as db:
        users = accounts.list_users(db)
    if json_out:
        rows = [
            {
                "username": u.username,
                "role": u.role.value,
                "department": u.department,
                "scope": u.scope,
                "disabled": u.disabled,
            }
            for u in users
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("user", "role", "department", "scope", "state")
    for u in users:
        state_text = "disabled" if u.disabled else ("locked" if u.locked_until else "active")
        table.add_row(u.username, u.role.value, u.department or "", ",".join(u.scope), state_text)
    console.print(table)


@user_app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Disable a user: sign-in refused, API keys and refresh tokens revoked.

    Example: citybrain user disable wang
    """
    from citybrain.api.security import accounts
    from citybrain.core.opsdb import utcnow

    with _db() as db:
        accounts.disable_user(db, name, utcnow())
    console.print(f"[yellow]disabled[/] {name}")


@key_app.command("create")
def key_create(
    name: Annotated[str, typer.Argument(help="The user the key acts as.")],
    label: Annotated[str, typer.Option(help="What the key is for.")] = "",
) -> None:
    """Create an API key for a user and print it once; only its hash is kept.

    Example: citybrain user key create hotline-12345 --label "12345 hotline sync"
    """
    from citybrain.api.security import accounts

    with _db() as db:
        created = accounts.create_key(db, name, label)
    console.print(f"API key for {created.username} (prefix {created.prefix}); store it now:")
    typer.echo(created.key)


def _first_street(workspace: Workspace) -> tuple[str, str] | None:
    """Code and name of the first street in the workspace's address register, once loaded."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    areas = workspace.zone("std") / "admin_area"
    if not areas.is_dir():
        return None
    table = ds.dataset(areas, format="parquet", partitioning="hive").to_table(
        columns=["level", "code", "name"]
    )
    streets = table.filter(pc.equal(table.column("level"), "street")).sort_by("code")
    if streets.num_rows == 0:
        return None
    return str(streets["code"][0].as_py()), str(streets["name"][0].as_py() or streets["code"][0])


@user_app.command("demo")
def demo(
    street: Annotated[
        str | None, typer.Option(help="Street office of the demo clerk (default: the first).")
    ] = None,
) -> None:
    """Create the demo accounts (admin, street clerk, leader, auditor) and print their logins.

    Never use these on a real deployment: the passwords are published.

    Example: citybrain -w ./gaoxin user demo
    """
    from citybrain.api.security import accounts

    first = _first_street(Workspace.open(state.workspace))
    if street is None:
        street, name = first or ("S01", "S01")
    else:
        name = street if first is None or first[0] != street else first[1]
    with _db() as db:
        # The group-rental topic routes to "{street}办事处"; the demo clerk works in that office.
        logins = accounts.create_demo_users(db, street=street, department=f"{name}办事处")
    for login in logins:
        scope = ",".join(login.scope) or "whole city"
        typer.echo(f"demo login: {login.username} / {login.password}  ({login.role}, {scope})")
