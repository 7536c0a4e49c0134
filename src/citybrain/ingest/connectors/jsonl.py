"""JSON Lines (streamed in chunks) and JSON documents holding a list of records.

gzip, bz2 and single-file zip exports are decompressed on the fly (``sniff.Delivered``).

A chunk of lines is parsed by ``pyarrow.json`` at once; only a chunk that fails is re-read line by
line to find the malformed lines, which are rejected with their line numbers.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.json as pajson

from citybrain.ingest.connectors.base import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CHUNK_ROWS,
    Chunk,
    Reject,
    SourceUnreadable,
    records_table,
    text_table,
    with_positions,
)
from citybrain.ingest.connectors.memory import records_chunk
from citybrain.ingest.connectors.sniff import DECOMPRESS_ERRORS, Delivered
from citybrain.ingest.contract import JsonConnector


class JsonLinesReader:
    fixed_columns = False
    encoding = "utf-8"

    def __init__(self, path: Path, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
        self.path = path
        self.chunk_bytes = max(chunk_bytes, 1024)
        self.columns: list[str] = []
        if not path.is_file():
            raise SourceUnreadable(
                f"{path}: no such file", hint="check connector.path in the contract"
            )

    def _blocks(self) -> Iterator[bytes]:
        carry = b""
        try:
            with Delivered(self.path) as delivered:
                while data := delivered.stream.read(self.chunk_bytes):
                    carry += data
                    cut = carry.rfind(b"\n") + 1
                    if cut:
                        yield carry[:cut]
                        carry = carry[cut:]
        except DECOMPRESS_ERRORS as exc:
            raise SourceUnreadable(
                f"{self.path}: cannot decompress: {exc}",
                hint="the compressed file is damaged or cut short; ask for it again",
            ) from None
        if carry.strip():
            yield carry + b"\n"

    def chunks(self) -> Iterator[Chunk]:
        row, line = 1, 1
        for index, block in enumerate(self._blocks()):
            if index == 0 and block.startswith(b"\xef\xbb\xbf"):
                block = block[3:]
            chunk = self._fast(block, row, line) or self._slow(block, row, line)
            row += chunk.records
            line += block.count(b"\n")
            for name in chunk.table.column_names:
                if name not in self.columns and not name.startswith("__cb_"):
                    self.columns.append(name)
            yield chunk

    def _fast(self, block: bytes, row: int, line: int) -> Chunk | None:
        if b"\n\n" in block or block.startswith(b"\n") or b"\r" in block:
            return None
        try:
            table = pajson.read_json(io.BytesIO(block))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        n = table.num_rows
        if n != block.count(b"\n"):
            return None
        ordinals = pa.array(np.arange(row, row + n))
        lines = pa.array(np.arange(line, line + n))
        return Chunk(with_positions(text_table(table), ordinals, lines), [], len(block))

    def _slow(self, block: bytes, row: int, line: int) -> Chunk:
        numbered = (
            (number, raw.decode("utf-8", "replace").rstrip("\r"))
            for number, raw in enumerate(block.split(b"\n")[:-1], line)
            if raw.strip()
        )
        return lines_chunk(numbered, row, len(block))


class JsonDocumentReader:
    """A whole JSON document (read at once; for streams use JSON Lines)."""

    fixed_columns = False
    encoding = "utf-8"

    def __init__(
        self, path: Path, options: JsonConnector, chunk_rows: int = DEFAULT_CHUNK_ROWS
    ) -> None:
        self.path = path
        self.chunk_rows = max(chunk_rows, 1)
        try:
            with Delivered(path) as delivered:
                document = json.loads(delivered.stream.read().decode("utf-8-sig"))
        except DECOMPRESS_ERRORS as exc:
            raise SourceUnreadable(
                f"{path}: cannot decompress: {exc}", hint="ask the department to re-deliver it"
            ) from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise SourceUnreadable(
                f"{path}: not a readable JSON document ({exc})",
                hint="check the export, or use kind: jsonl",
            ) from None
        records = document
        for part in (options.records_path or "").split("."):
            if part and isinstance(records, dict):
                records = records.get(part)
        if not isinstance(records, list):
            raise SourceUnreadable(
                f"{path}: found no list of records at {options.records_path or 'the top level'}",
                hint="set connector.records_path in the contract, e.g. data.items",
            )
        self._records: list[Any] = records
        self.columns: list[str] = []

    def chunks(self) -> Iterator[Chunk]:
        for start in range(0, len(self._records), self.chunk_rows):
            chunk = records_chunk(
                self._records[start : start + self.chunk_rows], first_row=start + 1
            )
            self.columns.extend(
                c
                for c in chunk.table.column_names
                if c not in self.columns and not c.startswith("__cb_")
            )
            yield chunk


def lines_chunk(numbered: Iterable[tuple[int, str]], first_row: int, size: int = 0) -> Chunk:
    """JSON Lines as one chunk: ``numbered`` holds (line number, text) of the lines that are not
    blank, one record each from ``first_row``; a line that is not a JSON object is rejected with
    its line (``bad_json:…``, ``not_an_object``)."""
    records: list[dict[str, Any]] = []
    rows: list[int] = []
    lines: list[int] = []
    rejects: list[Reject] = []
    for row, (number, text) in enumerate(numbered, first_row):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            rejects.append(Reject(row, number, f"bad_json:{exc.msg}", text))
            continue
        if isinstance(value, dict):
            records.append(value)
            rows.append(row)
            lines.append(number)
        else:
            rejects.append(Reject(row, number, "not_an_object", text))
    table = records_table(records)
    table = with_positions(table, pa.array(rows, pa.int64()), pa.array(lines, pa.int64()))
    return Chunk(table, rejects, size)
