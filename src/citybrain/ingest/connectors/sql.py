"""SQL databases by SQLAlchemy URL: a table or a query, full or incremental by a watermark column.

Rows are streamed (``stream_results`` + ``yield_per``: a server-side cursor where the driver has
one) and each batch becomes one Arrow chunk, typed from the table's reflected column types (a
query's types are inferred by Arrow per batch). Incremental loads read only rows whose watermark
column is greater than the watermark of the last committed load, which the raw zone's manifests
record, in watermark order; a full load whose rows equal the last load's (same checksum) lands
nothing.
The password comes from the environment variable ``password_env``, never from the contract.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from citybrain.ingest.connectors.base import (
    Chunk,
    SourceUnreadable,
    python_text,
    source_watermark_column,
    with_positions,
)
from citybrain.ingest.contract import SourceContract, SqlConnector


def source_url(contract: SourceContract) -> URL:
    """The contract's URL with the password from its environment variable."""
    connector = _connector(contract)
    try:
        url = make_url(connector.url)
    except ArgumentError as exc:
        raise SourceUnreadable(
            f"source {contract.id}: {connector.url!r} is not a SQLAlchemy URL ({exc})",
            hint="write it like postgresql+psycopg://user@host:5432/db or sqlite:///path.db",
        ) from None
    if url.password is not None:
        raise SourceUnreadable(
            f"source {contract.id}: the URL holds a password",
            hint="remove it from the contract and name an environment variable in password_env",
        )
    if connector.password_env:
        password = os.environ.get(connector.password_env)
        if password is None:
            raise SourceUnreadable(
                f"source {contract.id}: environment variable {connector.password_env} is not set",
                hint="set it to the database password",
            )
        url = url.set(password=password)
    database = url.database or ":memory:"
    relative = database != ":memory:" and not Path(database).is_absolute()
    if url.get_backend_name() == "sqlite" and relative:
        # A relative SQLite file is relative to the contract, like a file connector's path.
        url = url.set(database=str(contract.base_dir() / database))
    return url


def _connector(contract: SourceContract) -> SqlConnector:
    if not isinstance(contract.connector, SqlConnector):
        raise TypeError(f"{contract.id} is not a SQL source")
    return contract.connector


class SqlReader:
    """One streamed read of a table or query."""

    fixed_columns = True

    def __init__(self, contract: SourceContract, *, since: str | None = None) -> None:
        self.contract = contract
        self.options = _connector(contract)
        if (self.options.table is None) == (self.options.query is None):
            raise SourceUnreadable(
                f"source {contract.id}: give exactly one of connector.table and connector.query"
            )
        self.url = source_url(contract)
        self.since = since
        self.mark_column = source_watermark_column(contract)
        self._top: Any = None
        # A checksum of what was read (as Arrow IPC), so an unchanged full snapshot is not landed
        # again; it only matches when the database returns the rows in the same order.
        self._hash = hashlib.sha256()
        self._rows = 0
        what = self.options.table or "query"
        self.source = f"{self.url.render_as_string(hide_password=True)}#{what}"

    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest() if self._rows else ""

    def watermark(self) -> str | None:
        return None if self._top is None else _as_text(self._top)

    def notes(self) -> list[str]:
        return []

    def chunks(self) -> Iterator[Chunk]:
        try:
            source_engine = sa.create_engine(self.url)
        except (ArgumentError, NoSuchModuleError) as exc:
            raise self._unreadable(exc) from None
        try:
            yield from self._stream(source_engine)
        except SQLAlchemyError as exc:
            raise self._unreadable(exc) from None
        finally:
            source_engine.dispose()

    def _unreadable(self, exc: BaseException) -> SourceUnreadable:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return SourceUnreadable(
            f"source {self.contract.id}: cannot read {self.source}: {detail}",
            hint="check connector.url, table/query and password_env in the contract",
        )

    def _statement(self, source_engine: SqlEngine) -> tuple[sa.Select[Any], dict[str, pa.DataType]]:
        types: dict[str, pa.DataType] = {}
        mark: Any = None
        if self.options.table is not None:
            schema, _, name = self.options.table.rpartition(".")
            table = sa.Table(
                name, sa.MetaData(), schema=schema or None, autoload_with=source_engine
            )
            types = {c.name: _arrow_type(c.type) for c in table.columns}
            stmt = sa.select(table)
            if self.mark_column is not None:
                if self.mark_column not in table.c:
                    raise SourceUnreadable(
                        f"source {self.contract.id}: table {self.options.table} has no "
                        f"watermark column {self.mark_column!r}",
                        hint="fix refresh.watermark (or its mapping) in the contract",
                    )
                mark = table.c[self.mark_column]
        else:
            query = sa.text(self.options.query or "").columns().subquery("q")
            stmt = sa.select(sa.text("*")).select_from(query)
            if self.mark_column is not None:
                mark = sa.column(self.mark_column)
        if mark is not None:
            if self.since is not None:
                stmt = stmt.where(mark > sa.bindparam("since", _typed(self.since)))
            stmt = stmt.order_by(mark)
        return stmt, types

    def _stream(self, source_engine: SqlEngine) -> Iterator[Chunk]:
        row = 1
        with source_engine.connect() as connection:
            stmt, types = self._statement(source_engine)
            result = connection.execution_options(
                stream_results=True, yield_per=self.options.batch_rows
            ).execute(stmt)
            names = list(result.keys())
            for rows in result.partitions():
                table = _to_arrow(names, rows, types)
                self._track(table)
                for batch in table.to_batches():
                    self._hash.update(batch.serialize())
                self._rows += table.num_rows
                n = table.num_rows
                yield Chunk(with_positions(table, pa.array(np.arange(row, row + n)), None))
                row += n

    def _track(self, table: pa.Table) -> None:
        if self.mark_column is None or self.mark_column not in table.column_names:
            return
        top = pc.max(table.column(self.mark_column)).as_py()
        if top is not None and (self._top is None or top > self._top):
            self._top = top


def _typed(text: str) -> Any:
    """A recorded watermark (text in the manifest) as a value the database compares correctly."""
    for parse in (int, Decimal, datetime.fromisoformat):
        try:
            value = parse(text)
        except (ValueError, ArithmeticError):
            continue
        if isinstance(value, datetime) and len(text) == 10:
            return value.date()
        return value
    return text


def _as_text(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value)


def _arrow_type(kind: Any) -> pa.DataType:
    """Arrow type for a reflected SQLAlchemy column type (text when unsure: mapping casts it)."""
    if isinstance(kind, sa.Boolean):
        return pa.bool_()
    if isinstance(kind, sa.Integer):
        return pa.int64()
    if isinstance(kind, sa.Float):
        return pa.float64()
    if isinstance(kind, sa.Numeric):
        precision, scale = kind.precision, kind.scale
        if precision is not None and scale is not None and precision <= 38:
            return pa.decimal128(precision, scale)
        return pa.float64()
    if isinstance(kind, sa.DateTime):
        return pa.timestamp("us", tz="UTC" if kind.timezone else None)
    if isinstance(kind, sa.Date):
        return pa.date32()
    if isinstance(kind, sa.LargeBinary):
        return pa.binary()
    return pa.string()


def _to_arrow(names: list[str], rows: Sequence[Any], types: dict[str, pa.DataType]) -> pa.Table:
    """One batch of rows as Arrow. A query's column types are inferred from its first batch with
    values and then kept (added to ``types``), so all batches of a load share one schema."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    arrays = {}
    for name, values in zip(names, columns, strict=True):
        array = _array(list(values), types.get(name))
        if name not in types and not pa.types.is_null(array.type):
            if pa.types.is_decimal(array.type):
                # Inference picks the precision of this batch's values; leave room for the rest.
                array = array.cast(pa.decimal128(38, array.type.scale))
            types[name] = array.type
        arrays[name] = array
    return pa.table(arrays)


def _array(values: list[Any], kind: pa.DataType | None) -> pa.Array:
    if kind is not None:
        try:
            return pa.array(values, kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass  # e.g. SQLite stores text in an INTEGER column: land as text, mapping decides
    else:
        try:
            return pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    return pa.array([python_text(v) for v in values], pa.string())
