"""Delimited text files of any size, read in chunks cut at line ends.

A gzip, bz2 or single-file zip export is decompressed on the fly (``sniff.Delivered``).
Each chunk of bytes is transcoded when needed (GBK/GB18030 bytes never contain a newline or a quote,
so cutting at ``\\n`` is safe) and parsed by ``pyarrow.csv`` with every column as text. A record
with the wrong number of fields is rejected with its line; a chunk with undecodable bytes is decoded
with replacement characters and its affected rows are marked ``undecodable_bytes``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from citybrain.ingest.connectors.base import (
    DEFAULT_CHUNK_BYTES,
    Chunk,
    Reject,
    SourceUnreadable,
    header_names,
    with_positions,
)
from citybrain.ingest.connectors.sniff import (
    DECOMPRESS_ERRORS,
    SAMPLE_BYTES,
    Delivered,
    detect_delimiter,
    detect_encoding,
    find_header,
    normalise_encoding,
    read_sample,
    split_line,
)
from citybrain.ingest.contract import CsvConnector

REPLACEMENT = "\ufffd"
MAX_BLOCK_FACTOR = 8


class CsvReader:
    fixed_columns = True

    def __init__(
        self,
        path: Path,
        options: CsvConnector,
        expected: Sequence[str] = (),
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        self.path = path
        self.options = options
        self.chunk_bytes = max(chunk_bytes, 1024)
        try:
            sample = read_sample(path)
        except OSError as exc:
            raise SourceUnreadable(
                f"{path}: cannot open: {exc.strerror or exc}",
                hint="check the path and its permissions",
            ) from None
        except DECOMPRESS_ERRORS as exc:
            raise SourceUnreadable(
                f"{path}: cannot decompress: {exc}", hint="ask the department to re-deliver it"
            ) from None
        if b"\x00" in sample[:4096]:
            raise SourceUnreadable(
                f"{path}: looks binary or UTF-16, not delimited text",
                hint="export it as UTF-8 or GBK CSV, or fix connector.kind in the contract",
            )
        try:
            self.encoding = (
                detect_encoding(sample)
                if options.encoding == "auto"
                else normalise_encoding(options.encoding)
            )
        except LookupError:
            raise SourceUnreadable(
                f"{path}: unknown encoding {options.encoding!r} in the contract",
                hint="use utf-8, gbk or gb18030",
            ) from None
        self._bom = len(b"\xef\xbb\xbf") if self.encoding == "utf-8-sig" else 0
        text = sample[self._bom :].decode(self._codec, "replace")
        lines = text.splitlines()[:-1] if len(sample) == SAMPLE_BYTES else text.splitlines()
        lines = lines[options.skip_rows :]
        if not any(line.strip() for line in lines):
            raise SourceUnreadable(
                f"{path}: the file is empty", hint="ask the department to re-deliver it"
            )
        self.delimiter = (
            detect_delimiter(lines[:200], options.quote)
            if options.delimiter == "auto"
            else options.delimiter.replace("\\t", "\t")
        )
        rows = [split_line(line, self.delimiter, options.quote) for line in lines[:20]]
        if options.header == "auto":
            header_at = find_header(rows, expected, lines)
        else:
            header_at = 0 if options.header else None
        if header_at is None:
            width = len(rows[0])
            names = options.column_names or (list(expected) if len(expected) == width else [])
            self.columns = names or [f"column_{i + 1}" for i in range(width)]
            skip_lines = options.skip_rows
        else:
            self.columns = header_names(list(rows[header_at]))
            skip_lines = options.skip_rows + header_at + 1
        self._first_line = skip_lines + 1
        self._data_offset = self._bom + _offset_after_lines(sample[self._bom :], skip_lines)

    @property
    def _codec(self) -> str:
        return "utf-8" if self.encoding == "utf-8-sig" else self.encoding

    def _blocks(self, handle: BinaryIO) -> Iterator[bytes]:
        """Blocks of about ``chunk_bytes`` ending at a line end outside quotes.

        The read is completed to its line end with ``readline`` rather than cut and carried over,
        so each block is copied once; the file is scanned for quotes only once."""
        quote = self.options.quote.encode()
        handle.seek(self._data_offset)
        while True:
            data = handle.read(self.chunk_bytes)
            if not data:
                return
            parts = [data]
            if not data.endswith(b"\n"):
                parts.append(handle.readline())
            size = sum(len(p) for p in parts)
            quotes = sum(p.count(quote) for p in parts)
            # the cut is inside a quoted field: read on (a stray quote: not forever)
            while quotes % 2 and size < MAX_BLOCK_FACTOR * self.chunk_bytes:
                more = handle.read(self.chunk_bytes)
                if not more:
                    break
                if not more.endswith(b"\n"):
                    more += handle.readline()
                parts.append(more)
                size += len(more)
                quotes += more.count(quote)
            block = parts[0] if len(parts) == 1 else b"".join(parts)
            if not block.endswith(b"\n"):  # the file's last line has no line end
                tail = block[block.rfind(b"\n") + 1 :]
                block = block[: len(block) - len(tail)] if not tail.strip() else block + b"\n"
                if not block:
                    return
            yield block

    def chunks(self) -> Iterator[Chunk]:
        """Chunks of records; ``bytes_read`` counts bytes of the file on disk (compressed or not),
        so progress is measured against the file's size."""
        row, line = 1, self._first_line
        try:
            with Delivered(self.path) as delivered:
                on_disk = 0
                for block in self._blocks(delivered.stream):
                    newlines = block.count(b"\n")
                    chunk = self._parse(block, row, line, newlines)
                    if delivered.compression is not None:
                        chunk.bytes_read, on_disk = (
                            delivered.consumed() - on_disk,
                            delivered.consumed(),
                        )
                    row += chunk.records
                    line += newlines
                    yield chunk
        except OSError as exc:
            raise SourceUnreadable(
                f"{self.path}: read failed: {exc.strerror or exc}",
                hint="check the disk and re-run; a compressed file may be cut short",
            ) from None
        except DECOMPRESS_ERRORS as exc:
            raise SourceUnreadable(
                f"{self.path}: cannot decompress: {exc}",
                hint="the compressed file is damaged or cut short; ask for it again",
            ) from None

    def _parse(self, block: bytes, first_row: int, first_line: int, newlines: int) -> Chunk:
        replaced = False
        data = block
        if self._codec != "utf-8":
            try:
                data = block.decode(self._codec).encode("utf-8")
            except UnicodeDecodeError:
                data, replaced = block.decode(self._codec, "replace").encode("utf-8"), True
        invalid: list[pacsv.InvalidRow] = []
        try:
            table = self._arrow(data, invalid)
        except pa.ArrowInvalid as exc:
            if "utf8" in str(exc).lower():
                data, replaced = block.decode("utf-8", "replace").encode("utf-8"), True
            try:
                invalid = []
                table = self._arrow(data, invalid)
            except pa.ArrowInvalid:  # e.g. an unterminated quote in a truncated file
                return self._python(data, first_row, first_line, replaced, len(block))
        records = table.num_rows + len(invalid)
        reasons = _undecodable(table) if replaced else None
        if not invalid and newlines == records:
            rows = pa.array(np.arange(first_row, first_row + records))
            lines = pa.array(np.arange(first_line, first_line + records))
            return Chunk(with_positions(table, rows, lines, reasons), [], len(block))
        return self._locate(data, table, invalid, first_row, first_line, reasons, len(block))

    def _arrow(self, data: bytes, invalid: list[pacsv.InvalidRow]) -> pa.Table:
        def on_invalid(row: pacsv.InvalidRow) -> str:
            invalid.append(row)
            return "skip"

        with _undecodable_rows.quiet(on_invalid):
            return self._read_arrow(data, on_invalid)

    def _read_arrow(self, data: bytes, on_invalid: Callable[[pacsv.InvalidRow], str]) -> pa.Table:
        return pacsv.read_csv(
            pa.BufferReader(data),
            # one thread per chunk: the load runs chunks in parallel itself, and Arrow's own
            # threads on top cost more CPU than they save (measured: 0.5-1.0 s vs 0.3 s per 170 MB)
            read_options=pacsv.ReadOptions(
                column_names=self.columns, block_size=8 << 20, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=self.delimiter,
                quote_char=self.options.quote,
                # a line end inside a value needs quotes around it: a chunk without the quote
                # character has none, and Arrow's faster parse of it gives the same rows
                newlines_in_values=self.options.quote.encode() in data,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(self.columns, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    def _width_reason(self, raw: str, found: int, width: int) -> str:
        if raw.count(self.options.quote) % 2:
            return "unterminated_quote"
        return f"bad_field_count:{found}/{width}"

    def _python(
        self, data: bytes, first_row: int, first_line: int, replaced: bool, nbytes: int
    ) -> Chunk:
        """Slowest path, for a chunk Arrow cannot parse at all: the csv module, record by record."""
        values: list[list[str]] = [[] for _ in self.columns]
        rows, lines, rejects = self._walk(
            data.decode("utf-8", "replace"), first_row, first_line, values
        )
        table = pa.table(
            {n: pa.array(v, pa.string()) for n, v in zip(self.columns, values, strict=True)}
        )
        reasons = _undecodable(table) if replaced else None
        positions = with_positions(
            table, pa.array(rows, pa.int64()), pa.array(lines, pa.int64()), reasons
        )
        return Chunk(positions, rejects, nbytes)

    def _locate(
        self,
        data: bytes,
        table: pa.Table,
        invalid: list[pacsv.InvalidRow],
        first_row: int,
        first_line: int,
        reasons: pa.Array | None,
        nbytes: int,
    ) -> Chunk:
        """Slow path for a chunk with bad or multi-line records: number them with the csv module."""
        rows, lines, rejects = self._walk(data.decode("utf-8"), first_row, first_line)
        if len(rows) != table.num_rows:  # the csv module disagrees: keep Arrow's rows
            n = table.num_rows
            width = len(self.columns)
            rejects = [
                Reject(None, None, self._width_reason(r.text, r.actual_columns, width), r.text)
                for r in invalid
            ]
            arrow_rows = pa.array(np.arange(first_row, first_row + n))
            return Chunk(with_positions(table, arrow_rows, None, reasons), rejects, nbytes)
        positions = with_positions(
            table, pa.array(rows, pa.int64()), pa.array(lines, pa.int64()), reasons
        )
        return Chunk(positions, rejects, nbytes)

    def _walk(
        self, text: str, first_row: int, first_line: int, values: list[list[str]] | None = None
    ) -> tuple[list[int], list[int], list[Reject]]:
        """The csv module over ``text``, record by record: the record number and first line of
        each record of the right width (its fields appended to ``values`` when given), and the
        others rejected with their raw lines and why."""
        reader = csv.reader(
            io.StringIO(text), delimiter=self.delimiter, quotechar=self.options.quote
        )
        raw_lines = text.split("\n")
        width = len(self.columns)
        rows: list[int] = []
        lines: list[int] = []
        rejects: list[Reject] = []
        ordinal, start = first_row, first_line
        for fields in reader:
            end = reader.line_num
            if fields:
                if len(fields) == width:
                    if values is not None:
                        for column, value in zip(values, fields, strict=True):
                            column.append(value)
                    rows.append(ordinal)
                    lines.append(start)
                else:
                    raw = "\n".join(raw_lines[start - first_line : end]).rstrip("\r")
                    reason = self._width_reason(raw, len(fields), width)
                    rejects.append(Reject(ordinal, start, reason, raw))
                ordinal += 1
            start = first_line + end
        return rows, lines, rejects


def _undecodable(table: pa.Table) -> pa.Array:
    """``undecodable_bytes`` for rows holding a replacement character, else null."""
    bad = None
    for column in table.columns:
        hit = pc.match_substring(column, REPLACEMENT)
        bad = hit if bad is None else pc.or_kleene(bad, hit)
    if bad is None:
        return pa.nulls(table.num_rows, pa.string())
    none = pa.scalar(None, pa.string())
    return pc.if_else(bad, pa.scalar("undecodable_bytes"), none).combine_chunks()


def _offset_after_lines(data: bytes, n: int) -> int:
    offset = 0
    for _ in range(n):
        nl = data.find(b"\n", offset)
        if nl < 0:
            return len(data)
        offset = nl + 1
    return offset


class _UndecodableRowFilter:
    """Silence Arrow's report of a row it cannot even decode for the invalid-row handler.

    Arrow decodes a bad row's bytes before calling the handler; a row cut mid-character fails
    there and Arrow prints "Exception ignored … UnicodeDecodeError" to stderr, then fails the
    read. The chunk then takes the Python path, which quarantines the row with its reason, so
    the message is noise to the user, not a lost row.

    ``sys.unraisablehook`` is process-wide, and ``ingest --workers`` reads sources in threads: a
    plain swap-and-restore per read let two overlapping reads restore each other's hook out of
    order and leave one installed for good. So one filter is installed while any read is active
    (under a lock, first in installs, last out restores), and it drops only a
    ``UnicodeDecodeError`` raised for one of the active reads' own handlers; every other report
    goes to the hook that was there before.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: set[object] = set()
        self._below: Callable[[Any], object] = sys.__unraisablehook__

    def __call__(self, unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, UnicodeDecodeError) and (
            unraisable.object in self._handlers
        ):
            return
        self._below(unraisable)

    @contextlib.contextmanager
    def quiet(self, handler: object) -> Iterator[None]:
        """While the block runs, undecodable rows reported for ``handler`` are not printed."""
        with self._lock:
            if not self._handlers:
                self._below = sys.unraisablehook
                sys.unraisablehook = self
            self._handlers.add(handler)
        try:
            yield
        finally:
            with self._lock:
                self._handlers.discard(handler)
                # Someone who replaced the hook meanwhile owns it now: leave theirs in place.
                if not self._handlers and sys.unraisablehook is self:
                    sys.unraisablehook = self._below


_undecodable_rows = _UndecodableRowFilter()
