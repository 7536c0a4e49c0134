"""The `Engine` interface: a few abstract methods per engine, everything shared written once here.

An engine implements a handful of primitives (read Parquet, write Parquet, register Arrow, drop a
view, collect Arrow, hand Splink its connection, close). Lake layout, atomic writes, the type
policy and SQL transpilation live above them, so DuckDB and Spark cannot drift apart.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeAlias

import ibis
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

from citybrain.core import lake
from citybrain.core.engine import arrow
from citybrain.core.errors import UserError
from citybrain.core.lake import ZONES

Writable: TypeAlias = ir.Table | pa.Table | pd.DataFrame


@dataclass(frozen=True)
class TableInfo:
    """What a write produced. ``rows`` counts the rows of this write (for append: the new part)."""

    zone: str
    name: str
    path: Path
    rows: int
    schema: sch.Schema
    partition_by: tuple[str, ...]


class Engine(ABC):
    """A lake of Parquet tables and an Ibis backend to compute over them."""

    name: ClassVar[Literal["duckdb", "spark"]]
    #: SQLGlot dialect that `sql` transpiles to.
    sql_dialect: ClassVar[str]

    def __init__(self, lake_root: Path, backend: Any) -> None:
        self.lake_root = Path(lake_root)
        self._backend = backend
        self._read_views: set[tuple[str, str]] = set()
        # View names carry the engine's id: Spark engines share one session's temp views.
        self._id = uuid.uuid4().hex[:8]

    # -- the primitives each engine implements -------------------------------------------------

    @abstractmethod
    def _read_parquet(self, table_dir: Path, view: str) -> ir.Table:
        """Expose every Parquet part under ``table_dir`` as view ``view``.

        Hive partition columns come back as strings; the base class casts them.
        """

    @abstractmethod
    def _write_parquet(
        self, table: ir.Table, dest: Path, partition_by: Sequence[str], ordered: bool = True
    ) -> None:
        """Write ``table`` as Parquet parts into the new folder ``dest``, hive-partitioned if asked.

        Part names must be unique (a UUID in each), because append renames them into a folder
        that may hold parts of earlier writes. Without ``ordered`` the rows may be written in
        any order (an explicit sort of ``table`` is still kept).
        """

    @abstractmethod
    def _register_arrow(self, view: str, data: pa.Table) -> ir.Table:
        """Expose in-memory Arrow data as view ``view``, replacing any view of that name."""

    @abstractmethod
    def _drop_view(self, view: str) -> None: ...

    @abstractmethod
    def _collect_arrow(self, table: ir.Table) -> pa.Table:
        """Run ``table`` and return its rows as Arrow, in whatever types the engine produces."""

    @abstractmethod
    def splink_api(self) -> Any:
        """A Splink database API on this engine's own connection, so linkage runs by the data."""

    @abstractmethod
    def close(self) -> None:
        """Release the engine's resources; the lake stays as it is."""

    # -- shared behaviour ------------------------------------------------------------------------

    @property
    def ibis(self) -> Any:
        """The Ibis backend, for building expressions that the engine has not wrapped."""
        return self._backend

    def table_dir(self, zone: str, name: str) -> Path:
        lake.check_location(zone, name)
        return self.lake_root / zone / name

    def exists(self, zone: str, name: str) -> bool:
        return self.table_dir(zone, name).is_dir()

    def list_tables(self, zone: str) -> list[str]:
        lake.check_zone(zone)
        return lake.list_tables(self.lake_root / zone)

    def table(self, zone: str, name: str) -> ir.Table:
        """A lake table as an Ibis expression, in the column types and order it was written with."""
        table_dir = self.table_dir(zone, name)
        lake.recover(table_dir)  # a writer killed between its two renames is finished here too
        if not table_dir.is_dir():
            known = ", ".join(self.list_tables(zone)) or "none"
            raise UserError(
                f"no table {name!r} in lake zone {zone!r} ({table_dir})",
                hint=f"tables in {zone}: {known}",
            )
        view = self._view_name(zone, name)
        sidecar = lake.read_sidecar(table_dir)
        if not lake.has_parquet(table_dir):
            # A partitioned write of zero rows leaves no parts; the sidecar still knows the schema.
            schema = ibis.schema(sidecar[0] if sidecar else {})
            empty = pa.Table.from_pylist([], schema=arrow_schema(schema))
            return self._register_arrow(view, empty)
        raw = self._read_parquet(table_dir, view)
        self._read_views.add((zone, name))
        if sidecar is None:
            return raw
        return conform(raw, ibis.schema(sidecar[0]))

    def _view_name(self, zone: str, name: str) -> str:
        return f"lake_{zone}_{name}_{self._id}"

    def _views(self) -> list[str]:
        """Views this engine created for lake tables."""
        return [self._view_name(zone, name) for zone, name in sorted(self._read_views)]

    def register(self, name: str, data: pa.Table | pd.DataFrame) -> ir.Table:
        """Expose in-memory data under ``name`` (usable in `sql`), in the shared type policy."""
        return self._register_arrow(name, arrow.normalise_input(data))

    def write(
        self,
        data: Writable,
        zone: str,
        name: str,
        *,
        mode: lake.WriteMode = "replace",
        partition_by: Sequence[str] | None = None,
        ordered: bool = True,
    ) -> TableInfo:
        """Write a table atomically: readers see the old table or the new one, never a mix.

        ``replace`` swaps the whole table; ``append`` adds new parts (a new partition folder
        appears whole). Appended data must have the table's columns; types are cast to the table's.
        ``ordered=False`` lets the engine write rows in any order: DuckDB keeps the input's order
        by buffering, which for a union of large tables spills gigabytes.
        """
        if mode not in ("replace", "append"):
            raise ValueError(f"mode must be 'replace' or 'append', not {mode!r}")
        table_dir = self.table_dir(zone, name)
        parts = list(partition_by or [])
        input_view = None
        if not isinstance(data, ir.Table):
            input_view = f"_cb_input_{uuid.uuid4().hex[:12]}"
            data = self.register(input_view, data)
        try:
            expr = self._prepare(data, table_dir, mode, parts)
            schema = arrow.canonical_schema(expr.schema())
            pending = lake.begin_write(table_dir)
            try:
                self._write_parquet(expr, pending.tmp, parts, ordered)
                pending.tmp.mkdir(exist_ok=True)  # zero rows may leave no folder at all
                columns = {col: str(dtype) for col, dtype in schema.items()}
                lake.write_sidecar(pending.tmp, columns, parts)
                rows = _count_rows(pending.tmp)
            except BaseException:
                lake.abort(pending)
                raise
            lake.commit(pending, mode)
        finally:
            if input_view is not None:
                self._drop_view(input_view)
        if (zone, name) in self._read_views:
            self.table(zone, name)  # re-list the parts behind an existing view of this table
        return TableInfo(zone, name, table_dir, rows, schema, tuple(parts))

    def _prepare(
        self, data: ir.Table, table_dir: Path, mode: lake.WriteMode, parts: list[str]
    ) -> ir.Table:
        missing = [col for col in parts if col not in data.columns]
        if missing:
            raise UserError(f"cannot partition {table_dir} by missing column(s) {missing}")
        sidecar = lake.read_sidecar(table_dir) if mode == "append" else None
        if sidecar is None:
            return conform(data, arrow.canonical_schema(data.schema()))
        columns, existing_parts = sidecar
        if set(columns) != set(data.columns) or existing_parts != parts:
            raise UserError(
                f"cannot append to {table_dir}: it has columns {list(columns)} partitioned by "
                f"{existing_parts}, the new data has {list(data.columns)} partitioned by {parts}",
                hint="write with mode='replace' to change a table's shape",
            )
        return conform(data, ibis.schema(columns))

    def sql(self, query: str, *, dialect: str = "duckdb") -> ir.Table:
        """Run hand-written SQL on this engine, transpiled from ``dialect`` with SQLGlot.

        ``zone.name`` (e.g. ``std.person``) refers to a lake table; a bare name to a registered one.
        """
        tree = sqlglot.parse_one(query, read=dialect)
        for ref in list(tree.find_all(exp.Table)):
            if ref.db in ZONES and not ref.catalog:
                compiled = self._backend.compile(self.table(ref.db, ref.name))
                subquery = sqlglot.parse_one(compiled, read=self.sql_dialect)
                assert isinstance(subquery, exp.Query)
                ref.replace(subquery.subquery(ref.alias_or_name))
        text = tree.sql(dialect=self.sql_dialect)
        return self._backend.sql(text, schema=self._query_schema(text))

    def _query_schema(self, query: str) -> sch.Schema | None:
        """The schema of a query in the engine's dialect; None lets Ibis find it."""
        return None

    @classmethod
    def transpile(cls, query: str, *, dialect: str = "duckdb") -> str:
        """``query`` in this engine's dialect, for reading and snapshot tests; needs no session."""
        return sqlglot.transpile(query, read=dialect, write=cls.sql_dialect)[0]

    def to_arrow(self, table: ir.Table) -> pa.Table:
        """Run an expression; the result follows the type policy in `engine.arrow`."""
        table = table.as_table()
        return arrow.normalise_result(self._collect_arrow(table), table.schema())

    def count(self, table: ir.Table) -> int:
        """How many rows ``table`` has."""
        return int(self.to_arrow(table.count().as_table()).column(0)[0].as_py())

    def to_pandas(self, table: ir.Table) -> pd.DataFrame:
        frame: pd.DataFrame = self.to_arrow(table).to_pandas()
        return frame

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} lake={self.lake_root}>"


def arrow_schema(schema: sch.Schema) -> pa.Schema:
    empty = pa.Table.from_pylist([], schema=schema.to_pyarrow())
    return arrow.normalise_input(empty).schema


def conform(table: ir.Table, schema: sch.Schema) -> ir.Table:
    """Cast and order ``table``'s columns as ``schema`` says, touching only those that differ."""
    current = table.schema()
    if [arrow.canonical(t) for t in current.types] == list(schema.types) and list(
        current.names
    ) == list(schema.names):
        return table
    return table.select(
        [
            table[col]
            if arrow.canonical(current[col]) == dtype
            else table[col].cast(dtype).name(col)
            for col, dtype in schema.items()
        ]
    )


def _count_rows(folder: Path) -> int:
    # Footers only: cheap even for large writes, and the same for both engines.
    return sum(pq.ParquetFile(part).metadata.num_rows for part in folder.rglob("*.parquet"))
