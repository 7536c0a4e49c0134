"""Read any generated system file back into Arrow, the way a test needs it (not ingest's job)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

DATA_SUFFIXES = {".csv", ".parquet", ".jsonl", ".xlsx", ".db"}


def encoding_of(path: Path) -> str:
    raw = path.read_bytes()[:200_000]
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def read_csv(path: Path) -> pa.Table:
    text = path.read_bytes().decode(encoding_of(path)).encode("utf-8")
    delimiter = "|" if text.split(b"\n", 1)[0].count(b"|") else ","
    return pacsv.read_csv(
        pa.py_buffer(text),
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(column_types={}, strings_can_be_null=True),
    )


def read_xlsx(path: Path) -> pa.Table:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    tables = []
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        # title rows hold one value; the header is the first row as wide as the table
        width = max(sum(v is not None for v in r) for r in rows[:5])
        start = next(i for i, r in enumerate(rows) if sum(v is not None for v in r) == width)
        header = [str(h) for h in rows[start]]
        cols = (
            list(zip(*rows[start + 1 :], strict=True)) if rows[start + 1 :] else [()] * len(header)
        )
        tables.append(
            pa.table(
                {
                    h: pa.array([None if v is None else str(v) for v in c], pa.string())
                    for h, c in zip(header, cols, strict=True)
                }
            )
        )
    return pa.concat_tables(tables)


def read_sqlite(path: Path) -> pa.Table:
    con = sqlite3.connect(path)
    try:
        (table,) = con.execute("select name from sqlite_master where type='table'").fetchone()
        cur = con.execute(f'select * from "{table}"')
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    finally:
        con.close()
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pa.table({n: pa.array(list(c)) for n, c in zip(names, cols, strict=True)})


def read_jsonl(path: Path) -> pa.Table:
    return pa.Table.from_pylist([json.loads(line) for line in path.read_text("utf-8").splitlines()])


def read_any(path: Path) -> pa.Table:
    return {
        ".csv": read_csv,
        ".parquet": pq.read_table,
        ".jsonl": read_jsonl,
        ".xlsx": read_xlsx,
        ".db": read_sqlite,
    }[path.suffix](path)


def system_files(root: Path, system: str) -> list[Path]:
    return sorted(p for p in (root / system).rglob("*") if p.suffix in DATA_SUFFIXES)


def column_values(root: Path, system: str, column: str, skip: set[str] = frozenset()) -> set[str]:
    """Every value of ``column`` over all data files of a system that have it."""
    out: set[str] = set()
    for path in system_files(root, system):
        if str(path) in skip:
            continue
        t = read_any(path)
        if column in t.column_names:
            out.update(str(v) for v in t[column].to_pylist() if v is not None)
    return out
