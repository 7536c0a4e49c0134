"""XLSX workbooks with title rows and merged cells, made byte-identical per input."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.formats.batches import Batches, aside, iter_batches
from citybrain.sim.formats.dates import format_dates

FIXED_TIME = datetime(2020, 1, 1)  # stamped into XLSX core properties instead of "now"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry


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
    with aside(path) as tmp:
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
