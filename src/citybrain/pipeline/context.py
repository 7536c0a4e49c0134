"""`RunContext`: what every step of one run shares, opened once — workspace, lake engine, catalog,
ops database and run id.

The lake engine is started on first use (a run of ``--only migrate`` never starts DuckDB or
Spark) and closed with the context; the catalog and the ops database share one connection pool.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from citybrain.core.errors import UserError

if TYPE_CHECKING:
    from sqlalchemy import Engine as SqlEngine

    from citybrain.core.catalog import Catalog
    from citybrain.core.engine import Engine
    from citybrain.core.workspace import Workspace

#: Held by the run in progress; a run recorded as running whose lock is free was killed.
LOCK_FILE = ".citybrain-run.lock"


@dataclass
class RunContext:
    """One run's shared handles. Steps read ``engine`` (the lake's), ``catalog`` and ``ops_engine``
    (the ops database's) from here."""

    workspace: Workspace
    catalog: Catalog
    run_id: str = ""
    #: what the running step recorded (``StepResult.parts``) the last time it did its work, or
    #: ``None``; set by the runner before each step
    previous: dict[str, str] | None = None
    #: a plain run (no ``--from`` / ``--only``): a step may redo only what changed
    incremental: bool = True
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def ops_engine(self) -> SqlEngine:
        """The ops database's SQLAlchemy engine, the same pool the catalog uses."""
        return self.catalog.ops_engine

    @property
    def engine(self) -> Engine:
        """The lake engine of the workspace (DuckDB or Spark), started on first use."""
        if self._engine is None:
            self._engine = self.workspace.engine()
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self.catalog.close()


@contextmanager
def open_context(workspace: Workspace) -> Iterator[RunContext]:
    """The context of a run on ``workspace``; the ops schema is brought up to date by the
    ``migrate`` step (or by the runner when a run leaves that step out)."""
    from citybrain.core.catalog import Catalog

    context = RunContext(workspace, Catalog.open(workspace.ops_db_url, migrate=False))
    try:
        yield context
    finally:
        context.close()


@contextmanager
def run_lock(root: Path) -> Iterator[None]:
    """One pipeline run per workspace at a time; held until the run ends (or its process dies)."""
    path = root / LOCK_FILE
    handle: IO[str] = path.open("a")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"another `citybrain run` is working on {root}",
                hint="wait for it to finish; `citybrain runs` shows its progress",
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()
