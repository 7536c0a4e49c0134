"""A table in a SQLite database file."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from citybrain.sim.formats.batches import Batches, aside, iter_batches
from citybrain.sim.formats.dates import format_dates, strftime


def _sqlite_type(t: pa.DataType) -> str:
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return "INTEGER"
    if pa.types.is_floating(t):
        return "REAL"
    return "TEXT"


def write_sqlite(
    path: Path,
    table: str,
    data: Batches,
    *,
    date_formats: Mapping[str, str] | None = None,
    replace_file: bool = True,
) -> int:
    """Write one table into a SQLite database file (timestamps as "YYYY-MM-DD HH:MM:SS" text).

    With `replace_file` the database is built aside and renamed into place; without it the table is
    added to (or replaces a table of the same name in) an existing file, for multi-table systems.
    """
    if not replace_file:
        path.parent.mkdir(parents=True, exist_ok=True)
        return _fill_sqlite(path, table, data, date_formats or {})
    with aside(path) as tmp:
        tmp.unlink(missing_ok=True)
        return _fill_sqlite(tmp, table, data, date_formats or {})


_SLICE_ROWS = 50_000


def _sqlite_column(col: pa.Array) -> pa.Array:
    if pa.types.is_timestamp(col.type):
        return strftime(col, "%Y-%m-%d %H:%M:%S")
    return col.cast(pa.string()) if pa.types.is_temporal(col.type) else col


def _fill_sqlite(path: Path, table: str, data: Batches, date_formats: Mapping[str, str]) -> int:
    rows = 0
    created = False
    con = sqlite3.connect(path)
    try:
        for batch in iter_batches(data):
            batch = format_dates(batch, date_formats)
            names = ", ".join(f'"{n}"' for n in batch.schema.names)
            if not created:
                decl = ", ".join(f'"{f.name}" {_sqlite_type(f.type)}' for f in batch.schema)
                con.execute(f'DROP TABLE IF EXISTS "{table}"')
                con.execute(f'CREATE TABLE "{table}" ({decl})')
                created = True
            marks = ", ".join("?" * batch.num_columns)
            # sqlite3 binds Python values row by row (in C); only this and XLSX walk rows. A slice
            # at a time: a whole table as Python lists took gigabytes at city size.
            for start in range(0, batch.num_rows, _SLICE_ROWS):
                part = batch.slice(start, _SLICE_ROWS)
                columns = [_sqlite_column(c).to_pylist() for c in part.columns]
                values = zip(*columns, strict=True)
                con.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', values)
            rows += batch.num_rows
        con.commit()
    finally:
        con.close()
    return rows
