"""A profile's department systems as the other city hands them over: the default generator's
exports read back and written again with the other city's column names, code lists, file formats
and encodings, and its place names in every text.

Reading back the default files (not ingest's job: ``sim`` never imports ``ingest``) keeps every
system module unchanged; the profile only says, per system, what its folder holds and how the other
city's department writes it. Work is column-wise (Arrow compute, dictionary look-ups over distinct
values); only the spreadsheet writer goes cell by cell, as it does for the default city.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from citybrain.sim.formats import Sheet, write_csv, write_jsonl, write_parquet, write_xlsx

SourceKind = Literal["csv", "parquet", "jsonl", "xlsx", "sqlite"]
TargetKind = Literal["csv", "parquet", "jsonl", "xlsx"]
Transform = Callable[[pa.Table], pa.Table]


@dataclass(frozen=True)
class Export:
    """One file set of a system: where the default city puts it and how the other city writes it.

    ``target`` names the new file; ``{stem}`` is the default file's stem with ``stem_from``
    replaced by ``stem_to`` (YS_202301 → 用水抄表_202301). ``codes`` recodes values per
    (new) column; values not listed stay as they are. ``transform`` runs last, on the renamed
    table."""

    system: str
    source: str  # glob under the city root
    kind: SourceKind
    target: str
    target_kind: TargetKind
    columns: Mapping[str, str]
    encoding: str = "utf-8"  # of a csv source
    delimiter: str = ","
    target_encoding: Literal["utf-8", "gbk", "gb18030", "utf-8-sig"] = "utf-8"
    sheet: str = "Sheet1"
    title: str | None = None  # a title row above an xlsx header
    codes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    stem_from: str = ""
    stem_to: str = ""
    transform: Transform | None = None


def read_source(path: Path, export: Export) -> pa.Table:
    """A default export read back with every column as it was written (CSV cells as text)."""
    if export.kind == "parquet":
        return pq.read_table(path)
    if export.kind == "csv":
        raw = path.read_bytes()
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        # a file cut off in transfer or with bytes invalid in its encoding is read as far as it
        # goes; the cut row is lost here, as it was in transfer
        text = raw.decode(export.encoding.replace("-sig", ""), errors="replace")
        names = text.split("\n", 1)[0].split(export.delimiter)
        return pacsv.read_csv(
            pa.py_buffer(text.encode("utf-8")),
            parse_options=pacsv.ParseOptions(
                delimiter=export.delimiter, invalid_row_handler=lambda row: "skip"
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n.strip('"'): pa.string() for n in names},
                strings_can_be_null=True,
            ),
        )
    if export.kind == "jsonl":
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
        return pa.Table.from_pylist(rows)
    if export.kind == "sqlite":
        return _read_sqlite(path)
    return _read_xlsx(path)


def _read_sqlite(path: Path) -> pa.Table:
    con = sqlite3.connect(path)
    try:
        (table,) = con.execute(
            "select name from sqlite_master where type='table' order by name"
        ).fetchone()
        cur = con.execute(f'select * from "{table}" order by rowid')
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    finally:
        con.close()
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pa.table(
        {
            n: pa.array([None if v is None else str(v) for v in c], pa.string())
            for n, c in zip(names, cols, strict=True)
        }
    )


def _read_xlsx(path: Path) -> pa.Table:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    tables = []
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        if not rows:
            continue
        # title rows hold one value, footers too: the header is the first row as wide as the table
        width = max(sum(v is not None for v in r) for r in rows[:5])
        start = next(i for i, r in enumerate(rows) if sum(v is not None for v in r) == width)
        header = [str(h) for h in rows[start]]
        body = [r for r in rows[start + 1 :] if sum(v is not None for v in r) > 1]
        cols = list(zip(*body, strict=True)) if body else [()] * len(header)
        tables.append(
            pa.table(
                {
                    h: pa.array([None if v is None else str(v) for v in c], pa.string())
                    for h, c in zip(header, cols, strict=True)
                }
            )
        )
    wb.close()
    return pa.concat_tables(tables)


def recode(values: pa.ChunkedArray | pa.Array, mapping: Mapping[str, str]) -> pa.Array:
    """Each value listed in ``mapping`` replaced by its new code; others (and nulls) kept."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    arr = pc.cast(arr, pa.string())
    keys = pa.array(list(mapping), pa.string())
    index = pc.index_in(arr, value_set=keys)
    new = pc.take(pa.array(list(mapping.values()), pa.string()), index)
    return pc.if_else(pc.is_valid(index), new, arr)


def replace_texts(table: pa.Table, pairs: Sequence[tuple[str, str]]) -> pa.Table:
    """Every string column with each (old, new) substring replaced, in order."""
    for i, f in enumerate(table.schema):
        if not pa.types.is_string(f.type) and not pa.types.is_large_string(f.type):
            continue
        col = table.column(i)
        for old, new in pairs:
            col = pc.replace_substring(col, old, new)
        table = table.set_column(i, f.name, col)
    return table


def reexport(city: Path, export: Export, texts: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Rewrite every file of ``export`` in ``city``: rows per new file (originals removed)."""
    written: dict[str, int] = {}
    for path in sorted(city.glob(export.source)):
        table = replace_texts(read_source(path, export), texts)
        missing = sorted(set(export.columns) - set(table.column_names))
        extra = sorted(set(table.column_names) - set(export.columns))
        if extra:  # a column the profile does not place would vanish silently
            raise ValueError(
                f"{path}: columns {extra} have no name in profile export {export.system}"
            )
        table = table.rename_columns([export.columns[c] for c in table.column_names])
        for column, mapping in export.codes.items():
            if column in table.column_names:
                i = table.schema.get_field_index(column)
                table = table.set_column(i, column, recode(table.column(i), mapping))
        if export.transform is not None:
            table = export.transform(table)
        stem = (
            path.stem.replace(export.stem_from, export.stem_to) if export.stem_from else path.stem
        )
        target = path.parent / export.target.format(stem=stem)
        rows = _write(target, table, export)
        if target != path:
            path.unlink()
        written[str(target.relative_to(city))] = rows
        _ = missing
    return written


def _write(target: Path, table: pa.Table, export: Export) -> int:
    if export.target_kind == "csv":
        return write_csv(target, table, encoding=export.target_encoding, errors="replace")
    if export.target_kind == "jsonl":
        return write_jsonl(target, table)
    if export.target_kind == "parquet":
        return write_parquet(target, table)
    titles = [export.title] if export.title else []
    return write_xlsx(target, [Sheet(export.sheet, table, title_rows=titles)])


def strip_pattern(column: str, pattern: str, replacement: str) -> Transform:
    """A transform replacing ``pattern`` (RE2) in one column."""

    def run(table: pa.Table) -> pa.Table:
        i = table.schema.get_field_index(column)
        return table.set_column(
            i, column, pc.replace_substring_regex(table.column(i), pattern, replacement)
        )

    _ = re
    return run
