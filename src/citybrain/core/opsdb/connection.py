"""Connecting to the ops database: SQLite by default, PostgreSQL in production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, create_engine, event, make_url
from sqlalchemy import Engine as SqlEngine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from citybrain.core.errors import EnvironmentProblem, UserError

# How long a SQLite writer waits for another writer before giving up (ms). Parallel ingest workers
# share one file, so a short queue is normal and must not be an error.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_url(url: str | URL) -> URL:
    """Parse a URL and pick the driver we ship (psycopg 3) when a PostgreSQL URL names none."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def connect(url: str | URL, *, echo: bool = False) -> SqlEngine:
    """The SQLAlchemy engine of the ops database at ``url`` (called ``ops_engine`` by callers).

    SQLite gets WAL, foreign keys and a busy timeout; a bare ``postgresql://`` gets psycopg 3.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_folder(parsed)
        ops_engine = create_engine(parsed, echo=echo)
        _configure_sqlite(ops_engine)
        return ops_engine
    # pre_ping: a long-lived web process outlives server restarts and idle-connection reaping.
    return create_engine(parsed, echo=echo, pool_pre_ping=True)


def _check_sqlite_folder(url: URL) -> None:
    # sqlite3 says only "unable to open database file"; name the folder instead.
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).parent
        if not folder.is_dir():
            raise UserError(
                f"ops database folder {folder} does not exist",
                hint="create it, or fix ops_db.url in citybrain.toml",
            )


@contextmanager
def reach(ops_engine: SqlEngine) -> Iterator[Connection]:
    """A connection, or one clear line saying the database cannot be reached and where it is."""
    try:
        connection = ops_engine.connect()
    except OperationalError as exc:
        where = ops_engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise EnvironmentProblem(
            f"cannot reach the ops database {where}: {reason}",
            hint="is the server running, and is ops_db.url in citybrain.toml right?",
        ) from exc
    with connection:
        yield connection


def _configure_sqlite(ops_engine: SqlEngine) -> None:
    @event.listens_for(ops_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module: its implicit BEGIN skips DDL, which
        # would make migrations non-transactional.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, and much faster
        finally:
            cursor.close()

    @event.listens_for(ops_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front. A deferred transaction that reads and then writes
        # fails at once with "database is locked" when another writer got in between, and the busy
        # timeout cannot help; waiting at BEGIN can.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def session(ops_engine: SqlEngine) -> Iterator[Session]:
    """A unit of work: commits when the block ends, rolls back if it raises.

    Objects stay readable after the commit (``expire_on_commit=False``) so a caller can copy them
    out into plain values without another round trip.
    """
    with Session(ops_engine, expire_on_commit=False) as db, db.begin():
        yield db
