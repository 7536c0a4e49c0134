"""The lake engine: one `Engine` interface over the lake, on DuckDB or Spark.

"Engine" in citybrain means this one. The ops database's SQLAlchemy engine is another thing,
always called ``ops_engine`` (typed ``SqlEngine``, i.e. ``sqlalchemy.Engine``).

Pipeline code asks a workspace for its engine and writes Ibis expressions (or DuckDB-dialect SQL)
once::

    engine = workspace.engine()
    people = engine.table("std", "person")
    engine.write(people.group_by("street").agg(n=people.count()), "topic", "people_by_street")

- Tables live at ``<lake>/<zone>/<name>/`` as Parquet parts; writes are atomic (see
  `citybrain.core.lake`).
- Results follow one type policy on both engines (see `arrow`): e.g. timestamps are UTC
  ``timestamp[us]`` without a zone, strings are ``string``.
- One writer per table at a time. An expression read before this engine replaced the table sees
  the new table; one read through another engine must be read again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from citybrain.core.config import EngineConfig
from citybrain.core.engine.base import Engine, TableInfo
from citybrain.core.engine.spark_session import get_spark_session, stop_spark_session

__all__ = [
    "Engine",
    "TableInfo",
    "get_spark_session",
    "open_engine",
    "stop_spark_session",
]


def open_engine(
    kind: Literal["duckdb", "spark"],
    lake_root: Path,
    config: EngineConfig | None = None,
    *,
    database: Path | str | None = None,
) -> Engine:
    """An engine over the lake at ``lake_root``.

    For DuckDB, ``database`` is the database file (default: ``config.duckdb.database`` under
    ``lake_root``; ``":memory:"`` for none).
    """
    config = config or EngineConfig()
    if kind == "duckdb":
        from citybrain.core.engine.duckdb_engine import DuckDBEngine

        db = database if database is not None else lake_root / config.duckdb.database
        return DuckDBEngine(lake_root, db, config.duckdb)
    if kind == "spark":
        from citybrain.core.engine.spark_engine import SparkEngine

        return SparkEngine(lake_root, config.spark)
    raise ValueError(f"unknown engine kind {kind!r}")
