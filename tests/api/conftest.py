"""An API under test: a fresh workspace, a frozen clock, and helpers to make users and tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from citybrain.api import create_app
from citybrain.api.deps import Security
from citybrain.api.security import accounts, tokens
from citybrain.api.settings import ApiSettings
from citybrain.core import Workspace
from citybrain.core.opsdb import session, upgrade

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@dataclass
class FrozenClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Harness:
    app: FastAPI
    client: TestClient
    clock: FrozenClock
    workspace: Workspace
    _count: int = field(default=0)

    @property
    def security(self) -> Security:
        security: Security = self.app.state.security
        return security

    def user(
        self,
        role: str,
        *,
        scope: list[str] | None = None,
        department: str | None = None,
        password: str | None = None,
        username: str | None = None,
    ) -> str:
        self._count += 1
        name = username or f"{role}-{self._count}"
        with session(self.security.ops_engine) as db:
            accounts.create_user(
                db, name, role=role, password=password, department=department, scope=scope
            )
        return name

    def token(self, username: str) -> str:
        with session(self.security.ops_engine) as db:
            user_id = accounts.get_user(db, username).id
        return tokens.issue_access_token(
            self.security.signing_key, user_id, self.clock(), timedelta(minutes=15)
        )

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def as_role(self, role: str, scope: list[str] | None = None) -> dict[str, str]:
        return self.headers(self.user(role, scope=scope))


def make_harness(
    tmp_path: Path, ops_db_url: str | None = None, **settings: object
) -> Iterator[Harness]:
    workspace = Workspace.init(tmp_path / "ws", name="示例高新区")
    if ops_db_url is not None:
        config = workspace.root / "citybrain.toml"
        text = config.read_text(encoding="utf-8")
        config.write_text(
            text.replace('url = "sqlite:///{workspace}/ops.sqlite"', f'url = "{ops_db_url}"'),
            encoding="utf-8",
        )
        workspace = Workspace.open(workspace.root)
    upgrade(workspace.ops_db_url)
    # No rate limit, no sign-in cache, indexes checked on every request, reads waiting for their
    # audit row: tests change users and data between requests and read the audit log right after
    # a request; test_auth, test_limits and test_audit_writer switch each back where they test it.
    defaults: dict[str, object] = {
        "rate_limit_enabled": False, "auth_cache_seconds": 0, "index_check_seconds": 0,
        "audit_wait_reads": True,
    }  # fmt: skip
    app = create_app(workspace, ApiSettings(**(defaults | settings)))  # type: ignore[arg-type]
    clock = FrozenClock()
    app.state.security.clock = clock
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Harness(app=app, client=client, clock=clock, workspace=workspace)
    app.state.security.ops_engine.dispose()


# Harnesses a test module opens while it is collected (schemathesis reads the schema then). They are
# closed when the session ends even where none of the module's tests ran — `--collect-only`, or an
# xdist worker given none of them: left to the garbage collector at interpreter exit, leaving the
# TestClient block would wait forever on its portal thread, already gone by then.
OPENED_AT_COLLECTION: list[Iterator[Harness]] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    while OPENED_AT_COLLECTION:
        OPENED_AT_COLLECTION.pop().close()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Harness]:
    yield from make_harness(tmp_path)


@pytest.fixture
def api_any_db(tmp_path: Path, ops_db_url: str) -> Iterator[Harness]:
    """The same API on SQLite and on PostgreSQL (marked ``postgres``)."""
    yield from make_harness(tmp_path, ops_db_url)


def add_router(app: FastAPI, router: object, prefix: str = "/api/v1") -> None:
    """Include a test-only router before the web app's catch-all mount at "/"."""
    from fastapi import APIRouter
    from starlette.routing import Mount

    assert isinstance(router, APIRouter)
    app.include_router(router, prefix=prefix)
    routes = app.router.routes
    mounts = [r for r in routes if isinstance(r, Mount) and r.path == ""]
    for mount in mounts:
        routes.remove(mount)
        routes.append(mount)
    app.openapi_schema = None
