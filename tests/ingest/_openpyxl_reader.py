"""The Excel reader citybrain had before calamine (openpyxl, read-only, a Python XML parse per
cell), kept verbatim as the oracle: the calamine reader must give the same chunks and rejects.
Used by tests/ingest/test_xlsx.py and benchmarks/xlsx_read.py; not part of citybrain."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa

from citybrain.ingest.connectors.base import (
    DEFAULT_CHUNK_ROWS,
    Chunk,
    Reject,
    SourceUnreadable,
    header_names,
    python_text,
    with_positions,
)
from citybrain.ingest.connectors.xlsx import HEADER_SCAN_ROWS, _find_header
from citybrain.ingest.contract import XlsxConnector


class OpenpyxlReader:
    fixed_columns = True
    encoding = None

    def __init__(
        self,
        path: Path,
        options: XlsxConnector,
        expected: Sequence[str] = (),
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        from openpyxl import load_workbook

        self.path = path
        self.chunk_rows = max(chunk_rows, 1)
        try:
            self._book = load_workbook(path, read_only=True, data_only=True)
        except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise SourceUnreadable(
                f"{path}: not a readable .xlsx workbook ({exc})",
                hint="re-save it as .xlsx (Excel 2007+) or fix connector.kind in the contract",
            ) from None
        names = self._book.sheetnames
        sheet = options.sheet
        if isinstance(sheet, int):
            if sheet >= len(names):
                raise SourceUnreadable(
                    f"{path}: has no sheet number {sheet}", hint=f"sheets: {names}"
                )
            sheet = names[sheet]
        elif sheet not in names:
            raise SourceUnreadable(f"{path}: has no sheet {sheet!r}", hint=f"sheets: {names}")
        self._sheet = self._book[sheet]
        head = [list(r) for r in self._sheet.iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True)]
        if options.header_row == "auto":
            self._header_index = _find_header(head, expected)
        else:
            self._header_index = options.header_row - 1
        if self._header_index >= len(head):
            raise SourceUnreadable(
                f"{path}: sheet {sheet!r} has no header row", hint="check header_row"
            )
        cells = [python_text(c) for c in head[self._header_index]]
        while cells and not cells[-1]:
            cells.pop()
        self.columns = header_names(cells)

    def chunks(self) -> Iterator[Chunk]:
        width = len(self.columns)
        first = self._header_index + 2  # 1-based sheet row of the first data row
        values: list[list[str | None]] = [[] for _ in range(width)]
        rows: list[int] = []
        lines: list[int] = []
        rejects: list[Reject] = []
        ordinal = 1
        try:
            for sheet_row, row in enumerate(
                self._sheet.iter_rows(min_row=first, values_only=True), first
            ):
                cells = [python_text(c) for c in row]
                if not any(c not in (None, "") for c in cells):
                    continue
                extra = [c for c in cells[width:] if c not in (None, "")]
                if extra:
                    raw = "\t".join("" if c is None else c for c in cells)
                    rejects.append(
                        Reject(ordinal, sheet_row, f"bad_field_count:{len(cells)}/{width}", raw)
                    )
                else:
                    for i in range(width):
                        values[i].append(cells[i] if i < len(cells) else None)
                    rows.append(ordinal)
                    lines.append(sheet_row)
                ordinal += 1
                if len(rows) + len(rejects) >= self.chunk_rows:
                    yield self._chunk(values, rows, lines, rejects)
                    values, rows, lines, rejects = [[] for _ in range(width)], [], [], []
        except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
            raise SourceUnreadable(
                f"{self.path}: the workbook is damaged ({exc})", hint="re-export it"
            ) from None
        finally:
            self._book.close()
        if rows or rejects:
            yield self._chunk(values, rows, lines, rejects)

    def _chunk(
        self,
        values: list[list[str | None]],
        rows: list[int],
        lines: list[int],
        rejects: list[Reject],
    ) -> Chunk:
        table = pa.table(
            {
                name: pa.array(col, pa.string())
                for name, col in zip(self.columns, values, strict=True)
            }
        )
        table = with_positions(table, pa.array(rows, pa.int64()), pa.array(lines, pa.int64()))
        return Chunk(table, list(rejects))
