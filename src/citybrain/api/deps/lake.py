"""Read-only access to the lake for request handlers.

One in-memory DuckDB engine per app over the workspace's lake (never the pipeline's database file,
which a running pipeline may hold), opened on first use and serialised by a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import pyarrow as pa
from fastapi import Depends, Request

from citybrain.core import Workspace
from citybrain.core.engine import Engine, open_engine
from citybrain.topics.runner import latest_findings


class Lake:
    """Read-only access to the lake for request handlers, serialised on one engine."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        with self._lock:
            if self._engine is None:
                config = self.workspace.config.engine
                self._engine = open_engine(
                    "duckdb", self.workspace.lake, config, database=":memory:"
                )
            yield self._engine

    def exists(self, zone: str, name: str) -> bool:
        return (self.workspace.lake / zone / name).is_dir()

    def stamp(self, *tables: str, zone: str = "std") -> tuple[tuple[str, int, int], ...]:
        """Path, size and modification time of every file of ``tables`` (absent ones give
        nothing): it changes whenever one of them is rewritten, so a cache built from them can
        tell it is stale without reading any data."""
        out: list[tuple[str, int, int]] = []
        for table in tables:
            folder = self.workspace.zone(zone) / table
            if folder.is_dir():
                for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                    stat = path.stat()
                    out.append((str(path), stat.st_size, stat.st_mtime_ns))
        return tuple(out)

    def read(self, zone: str, name: str) -> pa.Table | None:
        """A whole lake table as Arrow, or None when it is not there."""
        if not self.exists(zone, name):
            return None
        with self.engine() as engine:
            return engine.to_arrow(engine.table(zone, name))

    def findings(self, topic: str) -> pa.Table:
        """The latest run's findings of ``topic`` (empty with the schema when it never ran)."""
        with self.engine() as engine:
            return latest_findings(engine, topic)


# ``async``: FastAPI runs a plain ``def`` dependency in a worker thread, a hop that costs more
# than handing over an object ``create_app`` already made.
async def get_lake(request: Request) -> Lake:
    """The app's lake reader (``app.state.lake``, made by ``create_app``)."""
    lake: Lake = request.app.state.lake
    return lake


LakeDep = Annotated[Lake, Depends(get_lake)]
