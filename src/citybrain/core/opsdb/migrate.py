"""Alembic, driven from code: the migrations ship inside the package and need no alembic.ini."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, text
from sqlalchemy import Engine as SqlEngine

from citybrain.core.opsdb.connection import connect, reach

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
HEAD = "head"
# Any fixed number will do; it names the lock PostgreSQL holds while one process migrates.
MIGRATION_LOCK_KEY = int.from_bytes(b"citybrn", "big")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations, optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    config.set_main_option("path_separator", "os")
    # Files are named v0001_slug.py: ids that sort, so the history reads in order, and a
    # leading letter keeps the file name a valid module name for ruff and mypy.
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _ops_engine_for(url_or_ops_engine: str | URL | SqlEngine) -> Iterator[SqlEngine]:
    if isinstance(url_or_ops_engine, SqlEngine):
        yield url_or_ops_engine
        return
    ops_engine = connect(url_or_ops_engine)
    try:
        yield ops_engine
    finally:
        ops_engine.dispose()


def upgrade(url_or_ops_engine: str | URL | SqlEngine, revision: str = HEAD) -> None:
    """Bring the ops database up to ``revision`` (the newest by default); a no-op if it is."""
    with (
        _ops_engine_for(url_or_ops_engine) as ops_engine,
        reach(ops_engine) as connection,
        connection.begin(),
    ):
        _serialise(connection)
        at = MigrationContext.configure(connection).get_current_revision()
        if revision == HEAD and at is not None and at == head_revision():
            return  # at the newest already: Alembic's env (which imports every model) need not run
        command.upgrade(alembic_config(connection), revision)


def _serialise(connection: Connection) -> None:
    # Several processes may open the ops database at once (parallel ingest workers, the web app);
    # on PostgreSQL only one may migrate, and the others then find it done. SQLite gets the same
    # from BEGIN IMMEDIATE (see connection.py).
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def downgrade(url_or_ops_engine: str | URL | SqlEngine, revision: str) -> None:
    """Step the ops database back to ``revision`` (``base`` empties it); for development."""
    with (
        _ops_engine_for(url_or_ops_engine) as ops_engine,
        reach(ops_engine) as connection,
        connection.begin(),
    ):
        command.downgrade(alembic_config(connection), revision)


def current_revision(url_or_ops_engine: str | URL | SqlEngine) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    with _ops_engine_for(url_or_ops_engine) as ops_engine, reach(ops_engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with this version of citybrain."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # only possible if the versions folder is empty, i.e. a broken install
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def next_revision_id() -> str:
    """The id the next migration gets: one more than the highest numbered revision."""
    script = ScriptDirectory.from_config(alembic_config())
    numbers = [int(r.revision) for r in script.walk_revisions() if re.fullmatch(r"\d+", r.revision)]
    return f"{max(numbers, default=0) + 1:04d}"


def make_revision(message: str, *, autogenerate: bool = True) -> Path:
    """Write a new migration file for the models' current state and return its path.

    Autogenerate diffs the models against a scratch SQLite database upgraded to head, so the new
    file holds exactly what the models added. Read it before committing: Alembic cannot see renames.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        ops_engine = connect(f"sqlite:///{scratch}/scratch.sqlite")
        try:
            upgrade(ops_engine)
            with ops_engine.begin() as connection:
                script = command.revision(
                    alembic_config(connection),
                    message=message,
                    autogenerate=autogenerate,
                    rev_id=next_revision_id(),
                )
        finally:
            ops_engine.dispose()
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic wrote no single revision file")
    return Path(script.path)
