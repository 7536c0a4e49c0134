"""``citybrain user …`` and the demo accounts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.conftest import Harness
from citybrain.api.security import accounts
from citybrain.cli.state import state
from citybrain.cli.user import user_app
from citybrain.core.opsdb import session


@pytest.fixture
def cli(api: Harness, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(state, "workspace", Path(api.workspace.root))
    return CliRunner()


def test_create_list_key_disable(
    api: Harness, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANG_PASSWORD", "s3cret-password")
    created = cli.invoke(
        user_app,
        ["create", "wang", "--role", "clerk", "--department", "石羊街道办",
         "--scope", "street:S01,grid:G0101", "--password-env", "WANG_PASSWORD"],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    listed = cli.invoke(user_app, ["list", "--json"])
    assert json.loads(listed.output) == [
        {
            "username": "wang",
            "role": "clerk",
            "department": "石羊街道办",
            "scope": ["street:S01", "grid:G0101"],
            "disabled": False,
        }
    ]
    token = api.client.post(
        "/api/v1/auth/token", data={"username": "wang", "password": "s3cret-password"}
    )
    assert token.status_code == 200

    key_out = cli.invoke(user_app, ["key", "create", "wang", "--label", "hotline sync"])
    assert key_out.exit_code == 0
    key = key_out.output.strip().splitlines()[-1]
    assert api.client.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 200

    assert cli.invoke(user_app, ["disable", "wang"]).exit_code == 0
    assert api.client.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 401


def test_prompted_password(api: Harness, cli: CliRunner) -> None:
    result = cli.invoke(
        user_app, ["create", "li", "--role", "leader"], input="long-password\nlong-password\n"
    )
    assert result.exit_code == 0, result.output
    with session(api.security.ops_engine) as db:
        assert accounts.get_user(db, "li").password_hash is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "x", "--role", "emperor", "--no-password"], "unknown role"),
        (["create", "../x", "--role", "clerk", "--no-password"], "not allowed"),
        (["create", "x", "--role", "clerk", "--scope", "city:all", "--no-password"], "scope item"),
        (["create", "x", "--role", "clerk", "--password-env", "NOPE_UNSET"], "not set"),
    ],
)
def test_user_errors_are_one_line(cli: CliRunner, args: list[str], message: str) -> None:
    result = cli.invoke(user_app, args)
    assert result.exit_code != 0
    assert message in str(result.exception)


def test_demo_users_can_sign_in_and_are_idempotent(api: Harness) -> None:
    with session(api.security.ops_engine) as db:
        logins = accounts.create_demo_users(db, street="S01")
    with session(api.security.ops_engine) as db:
        assert accounts.create_demo_users(db, street="S01") == logins
    assert {login.role for login in logins} == {"admin", "clerk", "leader", "auditor"}
    for login in logins:
        response = api.client.post(
            "/api/v1/auth/token", data={"username": login.username, "password": login.password}
        )
        assert response.status_code == 200, login.username
    clerk = next(login for login in logins if login.role == "clerk")
    assert clerk.scope == ["street:S01"]
