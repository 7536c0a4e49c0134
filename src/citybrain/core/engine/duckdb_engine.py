"""DuckDB: the embedded default engine, and every DuckDB quirk citybrain relies on."""

from __future__ import annotations

import contextlib
import uuid
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import unquote

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa

from citybrain.core.config import DuckDBConfig
from citybrain.core.engine.base import Engine
from citybrain.core.errors import UserError


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Hive's escaping as Spark reads and writes it: these ASCII characters become %XX, nothing else.
_HIVE_ESCAPED = frozenset([chr(c) for c in range(1, 0x20)] + list("\"#%'*/:=?\\\x7f{[]^"))


def _hive_escape(value: str) -> str:
    return "".join(f"%{ord(ch):02X}" if ch in _HIVE_ESCAPED else ch for ch in value)


def _respell_partition_folders(folder: Path, depth: int) -> None:
    """Rename DuckDB's partition folders to Spark's spelling, which both engines read back.

    DuckDB percent-encodes non-ASCII values as UTF-8 bytes (``street=%E9%AB%98``); Spark decodes
    each ``%XX`` as one character and would read mojibake. Spark keeps such characters as they are.
    """
    if depth == 0:
        return
    for child in folder.iterdir():
        if not child.is_dir():
            continue
        key, sep, value = child.name.partition("=")
        respelled = child.with_name(f"{key}{sep}{_hive_escape(unquote(value))}")
        if respelled != child:
            child.rename(respelled)
        _respell_partition_folders(respelled, depth - 1)


class DuckDBEngine(Engine):
    name: ClassVar[Literal["duckdb", "spark"]] = "duckdb"
    sql_dialect: ClassVar[str] = "duckdb"

    def __init__(self, lake_root: Path, database: Path | str, config: DuckDBConfig) -> None:
        settings: dict[str, Any] = {
            # No network at run time: never try to fetch an extension.
            "autoinstall_known_extensions": False,
        }
        if config.threads is not None:
            settings["threads"] = config.threads
        if config.memory_limit is not None:
            settings["memory_limit"] = config.memory_limit
        if config.temp_directory is not None:
            settings["temp_directory"] = config.temp_directory
        if config.max_temp_directory_size is not None:
            settings["max_temp_directory_size"] = config.max_temp_directory_size
        if str(database) != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        try:
            backend = ibis.duckdb.connect(database=database, **settings)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            raise UserError(
                f"the DuckDB database {database} is in use by another process",
                hint="wait for the other citybrain run to finish, or stop it",
            ) from None
        # Ibis sets the session time zone to UTC, which the timestamp policy depends on.
        super().__init__(lake_root, backend)
        self._con: duckdb.DuckDBPyConnection = backend.con
        # Keep each Parquet file's footer once read: DuckDB splits a scan of one big file into
        # many (the city's bike positions, one 7.9 GB file of 5,134 row groups, into ~54 by the
        # filters' ranges) and otherwise parses the footer again for each. A file rewritten in
        # place is read afresh (the cache checks it); the lake never rewrites one anyway.
        self._con.execute("SET parquet_metadata_cache = true")

    def _read_parquet(self, table_dir: Path, view: str) -> ir.Table:
        pattern = _literal(f"{table_dir}/**/*.parquet")
        self._con.execute(
            f"CREATE OR REPLACE TEMP VIEW {_ident(view)} AS SELECT * FROM read_parquet("
            f"{pattern}, hive_partitioning = true, hive_types_autocast = false, "
            "union_by_name = true)"
        )
        return self._table(view)

    def _write_parquet(
        self, table: ir.Table, dest: Path, partition_by: Sequence[str], ordered: bool = True
    ) -> None:
        options: dict[str, Any] = {"compression": "zstd"}
        with self._insertion_order(ordered):
            if partition_by:
                options["partition_by"] = tuple(partition_by)
                options["filename_pattern"] = "part-{uuid}"
                self._backend.to_parquet(table, dest, **options)
                _respell_partition_folders(dest, len(partition_by))
            else:
                dest.mkdir()
                part = dest / f"part-{uuid.uuid4().hex}.parquet"
                self._backend.to_parquet(table, part, **options)

    @contextlib.contextmanager
    def _insertion_order(self, ordered: bool) -> Iterator[None]:
        """DuckDB's ``preserve_insertion_order`` off for one statement when order is not needed."""
        if ordered:
            yield
            return
        before = self._con.execute("SELECT current_setting('preserve_insertion_order')")
        kept = bool(before.fetchall()[0][0])
        self._con.execute("SET preserve_insertion_order = false")
        try:
            yield
        finally:
            self._con.execute(f"SET preserve_insertion_order = {str(kept).lower()}")

    def _table(self, view: str) -> ir.Table:
        # Ibis 12 reads a view's schema with a cursor method DuckDB 2 deprecates; nothing to act on.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "fetch_arrow_table", DeprecationWarning)
            return self._backend.table(view)

    def _register_arrow(self, view: str, data: pa.Table) -> ir.Table:
        # register() refuses to shadow a view, e.g. a lake table that was read before it emptied.
        self._con.execute(f"DROP VIEW IF EXISTS {_ident(view)}")
        self._con.register(view, data)
        return self._table(view)

    def _drop_view(self, view: str) -> None:
        self._con.unregister(view)

    def _collect_arrow(self, table: ir.Table) -> pa.Table:
        return self._backend.to_pyarrow(table)

    def _query_schema(self, query: str) -> ibis.Schema:
        # Ibis 12 asks DuckDB >= 2 for a removed cursor method here; a relation still has its types.
        relation = self._con.sql(query)
        from_string = self._backend.compiler.type_mapper.from_string
        return ibis.schema(
            {
                col: from_string(str(typ))
                for col, typ in zip(relation.columns, relation.types, strict=True)
            }
        )

    def splink_api(self) -> Any:
        from splink import DuckDBAPI

        return DuckDBAPI(connection=self._con)

    def close(self) -> None:
        self._backend.disconnect()
