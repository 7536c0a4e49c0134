"""Deterministic, streaming file writers for the synthetic city's department systems.

Every writer takes a `Batches` value — one Arrow table or record batch, or an iterator of them — and
streams it to disk chunk by chunk, so memory stays flat at any scale. The same input always gives a
byte-identical file: nothing time-dependent (creation dates, zip timestamps, random ids) is
embedded. Files are written aside and renamed into place, so a killed run never leaves a
half-written file.

Writers return the number of data rows written. Helpers at the end damage a written file on purpose
(truncation, a wrong row width, bytes that are invalid in the declared encoding) so ingest's
broken-file handling has something to catch; each returns a `BrokenFile` record for the truth.
"""

from __future__ import annotations

import json
import re
import sqlite3
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

Batches: TypeAlias = pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch | pa.Table]
"""What every writer accepts: one table or batch, or an iterator of them (all with one schema)."""

CsvEncoding = Literal["utf-8", "utf-8-sig", "gbk", "gb18030"]
Quoting = Literal["needed", "all", "none"]
ConnectionKind = Literal["http", "mqtt", "sqlite"]

CONNECTION_FILE = "connection.json"
FIXED_TIME = datetime(2020, 1, 1)  # stamped into XLSX core properties instead of "now"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry


def iter_batches(data: Batches) -> Iterator[pa.RecordBatch]:
    """Yield record batches from a table, a batch, or an iterator of either."""
    if isinstance(data, pa.RecordBatch):
        yield data
        return
    if isinstance(data, pa.Table):
        yield from data.to_batches()
        return
    for item in data:
        if isinstance(item, pa.Table):
            yield from item.to_batches()
        else:
            yield item


@contextmanager
def _aside(path: Path) -> Iterator[Path]:
    """Write to a sibling temporary path and rename it over `path` only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


def format_dates(batch: pa.RecordBatch, date_formats: Mapping[str, str]) -> pa.RecordBatch:
    """Render the named date/timestamp columns as text with strftime patterns ("%Y年%m月%d日")."""
    if not date_formats:
        return batch
    columns = list(batch.columns)
    for name, fmt in date_formats.items():
        i = batch.schema.get_field_index(name)
        if i < 0:
            raise KeyError(f"date_formats names column {name!r}, which the data does not have")
        columns[i] = strftime(columns[i], fmt)
    fields = [pa.field(f.name, pa.string()) if f.name in date_formats else f for f in batch.schema]
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))


_TOKEN = re.compile(r"%(-?)([A-Za-z%])")
# Where each directive sits in Arrow's own text form of a timestamp, "2024-05-09 07:04:05".
_SLICES = {"Y": (0, 4), "y": (2, 4), "m": (5, 7), "d": (8, 10), "H": (11, 13), "M": (14, 16)}
_SLICES["S"] = (17, 19)


def strftime(col: pa.Array, fmt: str) -> pa.Array:
    """Format dates or timestamps with a strftime pattern; `%-m`, `%-d`, `%-H` drop the zero pad.

    %Y %y %m %d %H %M %S are cut out of Arrow's cast to text ("2024-05-09 07:04:05") on a NumPy
    byte matrix, some 50 times faster than Arrow's strftime; any other directive falls back to
    Arrow's strftime. An aware timestamp is written in its own zone's local time.
    """
    tokens = list(_TOKEN.finditer(fmt))
    if any(m.group(2) not in _SLICES for m in tokens):
        if pa.types.is_date(col.type):
            col = col.cast(pa.timestamp("s"))
        return pc.strftime(col, format=fmt.replace("%-", "%"))
    tz = getattr(col.type, "tz", None)
    col = col.cast(pa.timestamp("s", tz=tz), safe=False)
    if tz:  # Arrow's text form of an aware timestamp is UTC
        col = pc.local_timestamp(col)
    text = pc.fill_null(col, pa.scalar(0, col.type)).cast(pa.string())
    if any(m.group(1) for m in tokens):
        out = _strftime_pieces(text, fmt, tokens)
    else:
        out = _strftime_matrix(text, fmt, tokens)
    if col.null_count:
        out = pc.if_else(pc.is_valid(col), out, pa.scalar(None, pa.string()))
    return out


def _strftime_matrix(text: pa.Array, fmt: str, tokens: list[re.Match[str]]) -> pa.Array:
    """Every value is 19 bytes, so the output is a fixed-width byte matrix built by indexing."""
    n = len(text)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset : text.offset + n + 1]
    if n == 0 or offsets[-1] - offsets[0] != 19 * n:  # a year outside 1000–9999
        return _strftime_pieces(text, fmt, tokens)
    source = np.frombuffer(text.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    source = source.reshape(n, 19)
    # One template over the output columns: a source column to copy, or a literal byte to write.
    picks: list[int] = []
    literal: list[int] = []
    at = 0
    for m in [*tokens, None]:
        text_part = fmt[at : m.start() if m else len(fmt)].encode()
        picks += [-1] * len(text_part)
        literal += list(text_part)
        if m:
            start, stop = _SLICES[m.group(2)]
            picks += range(start, stop)
            literal += [0] * (stop - start)
            at = m.end()
    width = len(picks)
    pick = np.array(picks, dtype=np.int64)
    data = source[:, np.maximum(pick, 0)]
    data[:, pick < 0] = np.array(literal, dtype=np.uint8)[pick < 0]
    out_offsets = (np.arange(n + 1, dtype=np.int64) * width).astype(np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(out_offsets), pa.py_buffer(data.tobytes())]
    )


def _strftime_pieces(text: pa.Array, fmt: str, tokens: list[re.Match[str]]) -> pa.Array:
    pieces: list[Any] = []
    at = 0
    for m in tokens:
        pieces.append(fmt[at : m.start()])
        start, stop = _SLICES[m.group(2)]
        part = pc.utf8_slice_codeunits(text, start, stop)
        if m.group(1):  # "05" → "5", but "00" → "0"
            part = pc.replace_substring_regex(part, r"^0(\d)$", r"\1")
        pieces.append(part)
        at = m.end()
    pieces.append(fmt[at:])
    pieces = [p for p in pieces if not isinstance(p, str) or p]
    if not any(isinstance(p, pa.Array) for p in pieces):
        return pa.repeat(pa.scalar(fmt), len(text))
    return pc.binary_join_element_wise(*pieces, "")


# --- CSV ---------------------------------------------------------------------------------------


def write_csv(
    path: Path,
    data: Batches,
    *,
    encoding: CsvEncoding = "utf-8",
    delimiter: str = ",",
    quoting: Quoting = "needed",
    header: bool = True,
    date_formats: Mapping[str, str] | None = None,
    eol: str = "\n",
    null: str = "",
    errors: Literal["strict", "replace"] = "strict",
) -> int:
    """Write CSV with Arrow's writer; non-UTF-8 encodings re-encode whole chunks, never rows.

    `errors="replace"` writes "?" for a character the encoding lacks (as many export tools do);
    with "strict" such a character raises UnicodeEncodeError.
    """
    style = {"needed": "needed", "all": "all_valid", "none": "none"}[quoting]
    rows = 0
    first = True
    with _aside(path) as tmp, tmp.open("wb") as out:
        if encoding == "utf-8-sig":
            out.write(b"\xef\xbb\xbf")
        for batch in iter_batches(data):
            batch = format_dates(batch, date_formats or {})
            opts = pacsv.WriteOptions(
                include_header=header and first,
                delimiter=delimiter,
                quoting_style=style,
                eol=eol,
                null_string=null,
            )
            sink = pa.BufferOutputStream()
            pacsv.write_csv(batch, sink, write_options=opts)
            chunk = sink.getvalue().to_pybytes()
            if encoding in ("gbk", "gb18030"):
                chunk = chunk.decode("utf-8").encode(encoding, errors=errors)
            out.write(chunk)
            rows += batch.num_rows
            first = False
    return rows


# --- Parquet -----------------------------------------------------------------------------------


def write_parquet(
    path: Path,
    data: Batches,
    *,
    compression: str = "zstd",
    row_group_size: int = 1 << 20,
    compression_level: int | None = 1,
    use_dictionary: bool | Sequence[str] = True,
    column_encoding: Mapping[str, str] | None = None,
) -> int:
    """Write Parquet with a chunked writer; the footer carries no time or host, so bytes repeat.

    Small batches are gathered into row groups of `row_group_size` rows (a write per batch would
    make one tiny row group each), so memory holds at most one row group. For bulk tables name
    the low-cardinality columns in `use_dictionary`: trying a dictionary on unique keys and
    coordinates costs about as much as generating them. `column_encoding` sets an encoding per
    column (e.g. ``DELTA_BINARY_PACKED`` for keys that count up).
    """
    rows = 0
    writer: pq.ParquetWriter | None = None
    pending: list[pa.RecordBatch] = []
    pending_rows = 0

    def flush(final: bool) -> None:
        # Write whole row groups only (all of it at the end), keeping the remainder pending.
        nonlocal pending, pending_rows
        if writer is None or not pending:
            return
        table = pa.Table.from_batches(pending)
        cut = table.num_rows if final else table.num_rows // row_group_size * row_group_size
        writer.write_table(table.slice(0, cut), row_group_size=row_group_size)
        pending = table.slice(cut).to_batches()
        pending_rows = table.num_rows - cut

    with _aside(path) as tmp:
        try:
            for batch in iter_batches(data):
                if writer is None:
                    writer = pq.ParquetWriter(
                        tmp,
                        batch.schema,
                        compression=compression,
                        compression_level=compression_level,
                        use_dictionary=use_dictionary,
                        column_encoding=dict(column_encoding) if column_encoding else None,
                    )
                pending.append(batch)
                pending_rows += batch.num_rows
                rows += batch.num_rows
                if pending_rows >= row_group_size:
                    flush(final=False)
            if writer is None:
                raise ValueError(f"{path}: no batches to write (Parquet needs a schema)")
            flush(final=True)
        finally:
            if writer is not None:
                writer.close()
    return rows


# --- JSON Lines --------------------------------------------------------------------------------


_SPECIAL = np.zeros(256, dtype=np.bool_)
_SPECIAL[[0x5C, 0x22, 0x0A, 0x0D, 0x09]] = True  # \\ " newline, carriage return, tab


def _escape_json(text: pa.Array) -> pa.Array:
    """Escape backslash (first), quote and the control characters that occur in real text.

    Most columns hold none of them, which one pass over the data buffer shows; otherwise the
    escaping runs on the distinct values when there are few enough, and is taken back onto rows.
    """
    data = text.buffers()[2]
    if data is None or not _SPECIAL[np.frombuffer(data, dtype=np.uint8)].any():
        return text
    encoded = pc.dictionary_encode(text)
    few = len(encoded.dictionary) * 2 < len(text)
    work = encoded.dictionary if few else text
    for raw, esc in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        work = pc.replace_substring(work, raw, esc)
    return work.take(encoded.indices) if few else work


def _json_strings(col: pa.Array) -> pa.Array:
    """Encode a column's values as JSON text, vectorised; nulls (and NaN) become `null`."""
    t = col.type
    if pa.types.is_dictionary(t):  # encode each distinct value once
        return pc.fill_null(_json_strings(col.dictionary).take(col.indices), "null")
    if pa.types.is_boolean(t):
        out = pc.if_else(col, "true", "false")
    elif pa.types.is_integer(t) or pa.types.is_decimal(t):
        out = col.cast(pa.string())
    elif pa.types.is_floating(t):
        finite = pc.is_finite(col)
        out = pc.if_else(finite, col.cast(pa.string()), pa.scalar(None, pa.string()))
    else:
        if pa.types.is_timestamp(t):
            # ISO 8601 to the second; an aware timestamp in its own zone's local time.
            text = strftime(col, "%Y-%m-%dT%H:%M:%S")
        elif pa.types.is_temporal(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
            text = col.cast(pa.string())
        else:
            raise TypeError(f"JSON Lines writer does not handle column type {t}")
        text = _escape_json(text)
        out = pc.binary_join_element_wise('"', text, '"', "")
    return pc.fill_null(out, "null")


def json_objects(batch: pa.RecordBatch, date_formats: Mapping[str, str] | None = None) -> pa.Array:
    """Each row as one compact JSON object string (keys in schema order, non-ASCII kept),
    built column-wise with Arrow compute; dates and timestamps become ISO text."""
    batch = format_dates(batch, date_formats or {})
    parts: list[Any] = []
    for i, name in enumerate(batch.schema.names):
        key = json.dumps(name, ensure_ascii=False) + ":"
        parts += [("{" if i == 0 else ",") + key, _json_strings(batch.column(i))]
    if not parts:
        return pa.repeat(pa.scalar("{}"), batch.num_rows)
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


def joined_bytes(lines: pa.Array) -> bytes:
    """All strings of a (null-free) string array back to back, straight from its data buffer."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    data = lines.buffers()[2]
    return b"" if data is None else data.to_pybytes()[start:end]


def write_jsonl(
    path: Path,
    data: Batches,
    *,
    date_formats: Mapping[str, str] | None = None,
    encoding: Literal["utf-8", "gbk", "gb18030"] = "utf-8",
) -> int:
    """Write one JSON object per line, built vectorised and written a chunk at a time."""
    rows = 0
    with _aside(path) as tmp, tmp.open("wb") as out:
        for batch in iter_batches(data):
            if batch.num_rows == 0:
                continue
            lines = pc.binary_join_element_wise(json_objects(batch, date_formats), "\n", "")
            chunk = joined_bytes(lines)
            if encoding != "utf-8":
                chunk = chunk.decode("utf-8").encode(encoding)
            out.write(chunk)
            rows += batch.num_rows
    return rows


# --- XLSX --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    """One worksheet as government exports lay it out: title rows above the header and footer rows
    below the data ("制表单位：…  制表日期：…"), each merged across the table's width."""

    name: str
    data: Batches
    title_rows: Sequence[str] = ()
    footer_rows: Sequence[str] = ()
    date_formats: Mapping[str, str] | None = None
    header: bool = True


def _excel_values(col: pa.Array) -> list[Any]:
    # Excel has no time zones: an aware timestamp is written as its local wall time.
    if pa.types.is_timestamp(col.type) and col.type.tz:
        col = pc.local_timestamp(col)
    values: list[Any] = col.to_pylist()
    return values


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> int:
    """Write an XLSX workbook in openpyxl write-only mode; returns data rows over all sheets.

    openpyxl walks cells in Python, so this is for the small systems that departments hand over as
    spreadsheets (Excel stops at 1,048,576 rows anyway), not for bulk tables.
    """
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.creator = "citybrain sim"
    merges: dict[int, list[str]] = {}
    rows = 0
    for index, sheet in enumerate(sheets):
        merges[index] = []
        rows += _write_sheet(wb.create_sheet(sheet.name), sheet, merges[index])
    with _aside(path) as tmp:
        raw = tmp.with_name(tmp.name + ".raw")
        try:
            wb.save(raw)
            _normalise_xlsx(raw, tmp, merges)
        finally:
            raw.unlink(missing_ok=True)
    return rows


def _write_sheet(ws: Any, sheet: Sheet, merges: list[str]) -> int:
    """Append one sheet's rows; the ranges of merged title and footer rows go to `merges`."""
    width, line, rows = 0, 0, 0

    def merged(text: str) -> None:
        nonlocal line
        ws.append([text])
        line += 1
        merges.append(f"A{line}:{_col_letter(max(width, 1))}{line}")

    for batch in iter_batches(sheet.data):
        batch = format_dates(batch, sheet.date_formats or {})
        if width == 0:
            width = batch.num_columns
            for title in sheet.title_rows:
                merged(title)
            if sheet.header:
                ws.append(batch.schema.names)
                line += 1
        for row in zip(*(_excel_values(c) for c in batch.columns), strict=True):
            ws.append(list(row))
        line += batch.num_rows
        rows += batch.num_rows
    for footer in sheet.footer_rows:
        merged(footer)
    return rows


def _col_letter(n: int) -> str:
    letters = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


_CORE_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def _normalise_xlsx(src: Path, dst: Path, merges: Mapping[int, list[str]]) -> None:
    """Rewrite the zip with fixed entry times and core-property dates, adding merged title cells
    (write-only worksheets cannot merge, so the <mergeCells> element is spliced in here)."""
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            out_info = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            out_info.compress_type = zipfile.ZIP_DEFLATED
            m = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", info.filename)
            refs = merges.get(int(m.group(1)) - 1, []) if m else []
            with zin.open(info) as fin, zout.open(out_info, "w") as fout:
                if info.filename == "docProps/core.xml":
                    fout.write(_CORE_TIMES.sub(rb"\g<1>" + stamp + rb"\g<3>", fin.read()))
                elif refs:
                    cells = "".join(f'<mergeCell ref="{r}"/>' for r in refs)
                    extra = f'</sheetData><mergeCells count="{len(refs)}">{cells}</mergeCells>'
                    _stream_replace(fin, fout, b"</sheetData>", extra.encode())
                else:
                    while chunk := fin.read(1 << 20):
                        fout.write(chunk)


def _stream_replace(fin: Any, fout: Any, marker: bytes, replacement: bytes) -> None:
    """Copy a stream, replacing the first `marker`, holding back only a marker-sized tail."""
    carry, done = b"", False
    while chunk := fin.read(1 << 20):
        buf = carry + chunk
        if not done and (i := buf.find(marker)) >= 0:
            buf, done = buf[:i] + replacement + buf[i + len(marker) :], True
        keep = 0 if done else len(marker) - 1
        fout.write(buf[: len(buf) - keep])
        carry = buf[len(buf) - keep :]
    fout.write(carry)


# --- SQLite ------------------------------------------------------------------------------------


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
    with _aside(path) as tmp:
        tmp.unlink(missing_ok=True)
        return _fill_sqlite(tmp, table, data, date_formats or {})


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
            # sqlite3 binds Python values row by row (in C); only this and XLSX walk rows.
            columns = [_sqlite_column(c).to_pylist() for c in batch.columns]
            values = zip(*columns, strict=True)
            con.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', values)
            rows += batch.num_rows
        con.commit()
    finally:
        con.close()
    return rows


# --- connection files --------------------------------------------------------------------------


def write_connection_file(system_dir: Path, kind: ConnectionKind, **options: Any) -> Path:
    """Write `<system_dir>/connection.json` describing a system that is not delivered as files.

    Conventions shared with `sim.serve` and `sim.mqtt`: kind "http" systems keep their rows in
    `<system_dir>/data/*.parquet` (served by `citybrain sim serve`); kind "mqtt" likewise (published
    by `sim.mqtt.replay`); kind "sqlite" names its database with a path relative to `system_dir`.
    Keys are sorted so the file is byte-stable.
    """
    path = system_dir / CONNECTION_FILE
    body = json.dumps({"kind": kind, **options}, ensure_ascii=False, sort_keys=True, indent=2)
    with _aside(path) as tmp:
        tmp.write_text(body + "\n", encoding="utf-8")
    return path


def read_connection_file(system_dir: Path) -> dict[str, Any] | None:
    """The parsed `connection.json` of a system folder, or None when it has none."""
    path = system_dir / CONNECTION_FILE
    if not path.is_file():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


# --- deliberately broken files -----------------------------------------------------------------


@dataclass(frozen=True)
class BrokenFile:
    """What was broken in a file, for the truth: 1-based physical line numbers affected."""

    path: str
    kind: Literal["truncated", "bad_row_width", "invalid_bytes"]
    lines: tuple[int, ...]
    detail: str


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def truncate_file(path: Path, *, keep_fraction: float = 0.6) -> BrokenFile:
    """Cut the file part-way through a row, as an interrupted export or transfer leaves it."""
    size = path.stat().st_size
    cut = max(1, int(size * keep_fraction))
    with path.open("rb") as f:
        f.seek(cut - 1)
        # Cutting right after a newline would leave a clean (if short) file: move into the row.
        if f.read(1) == b"\n" and cut > 1:
            cut -= 1
    with path.open("r+b") as f:
        f.truncate(cut)
    last = _count_lines(path) + 1
    return BrokenFile(str(path), "truncated", (last,), f"cut at byte {cut} of {size}")


def _pick_data_lines(path: Path, rng: np.random.Generator, rows: int, header: bool) -> list[int]:
    first = 2 if header else 1
    total = _count_lines(path)
    if total < first:
        raise ValueError(f"{path}: no data rows to break")
    count = min(rows, total - first + 1)
    picked = rng.choice(np.arange(first, total + 1), size=count, replace=False)
    return sorted(int(x) for x in picked)


def _rewrite_lines(path: Path, lines: Sequence[int], edit: Any) -> None:
    """Stream the file through, passing the chosen lines (1-based) through `edit`."""
    wanted = set(lines)
    with _aside(path) as tmp, path.open("rb") as fin, tmp.open("wb") as fout:
        for number, line in enumerate(fin, start=1):
            fout.write(edit(line) if number in wanted else line)


def _split_eol(line: bytes) -> tuple[bytes, bytes]:
    body = line.rstrip(b"\r\n")
    return body, line[len(body) :]


def break_row_width(
    path: Path,
    rng: np.random.Generator,
    *,
    rows: int = 1,
    delimiter: str = ",",
    header: bool = True,
) -> BrokenFile:
    """Give some data rows one field too many (a stray delimiter in an unquoted value)."""
    chosen = _pick_data_lines(path, rng, rows, header)
    sep = delimiter.encode("ascii")

    def edit(line: bytes) -> bytes:
        body, eol = _split_eol(line)
        return body + sep + b"?" + eol

    _rewrite_lines(path, chosen, edit)
    return BrokenFile(str(path), "bad_row_width", tuple(chosen), "one extra field")


def inject_invalid_bytes(
    path: Path,
    rng: np.random.Generator,
    *,
    rows: int = 1,
    delimiter: str = ",",
    header: bool = True,
) -> BrokenFile:
    """Put a 0xFF byte at the start of a field in some rows.

    0xFF is invalid in UTF-8, GBK and GB18030 alike (it is never a lead byte, nor a GBK trail byte),
    so the file fails to decode in whichever of those encodings it declares.
    """
    chosen = _pick_data_lines(path, rng, rows, header)
    sep = delimiter.encode("ascii")

    def edit(line: bytes) -> bytes:
        i = line.find(sep)
        return line[: i + 1] + b"\xff" + line[i + 1 :] if i >= 0 else b"\xff" + line

    _rewrite_lines(path, chosen, edit)
    return BrokenFile(str(path), "invalid_bytes", tuple(chosen), "0xFF byte inserted")
