"""Excel workbooks read with calamine (Rust); title rows above the header are skipped.

calamine parses a sheet whole into Rust memory (an .xlsx sheet holds at most 1,048,576 rows) and
hands it to Python a row at a time: about a sixth of the CPU time of openpyxl's read-only mode,
which this reader replaced (benchmarks/xlsx_read.py). Cells read as the same text as openpyxl read
them; where calamine loses what openpyxl kept (error cells such as ``#N/A`` and empty strings read
as blank, integers past 2**53 as floats, the width a sheet declares in its ``<dimension>``),
:func:`_sheet_xml_facts` takes it from the sheet's XML.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

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
from citybrain.ingest.contract import XlsxConnector

HEADER_SCAN_ROWS = 30
# rows turned into text columns at a time: calamine's row lists are let go as they are converted,
# so Python's garbage collector does not walk a whole chunk of them again and again (8% of the
# read in benchmarks/xlsx_read.py)
TEXT_BATCH_ROWS = 4096

Row = list[Any]


class XlsxReader:
    fixed_columns = True
    encoding = None

    def __init__(
        self,
        path: Path,
        options: XlsxConnector,
        expected: Sequence[str] = (),
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        from python_calamine import CalamineError, CalamineWorkbook

        self.path = path
        self.chunk_rows = max(chunk_rows, 1)
        try:
            book = CalamineWorkbook.from_path(path)
        except (CalamineError, OSError, ValueError) as exc:
            raise SourceUnreadable(
                f"{path}: not a readable .xlsx workbook ({exc})",
                hint="re-save it as .xlsx (Excel 2007+) or fix connector.kind in the contract",
            ) from None
        names = book.sheet_names
        sheet = options.sheet
        if isinstance(sheet, int):
            if sheet >= len(names):
                book.close()
                raise SourceUnreadable(
                    f"{path}: has no sheet number {sheet}", hint=f"sheets: {names}"
                )
            sheet = names[sheet]
        elif sheet not in names:
            book.close()
            raise SourceUnreadable(f"{path}: has no sheet {sheet!r}", hint=f"sheets: {names}")
        try:
            data = book.get_sheet_by_name(sheet)
        except (CalamineError, ValueError) as exc:
            raise SourceUnreadable(
                f"{path}: the workbook is damaged ({exc})", hint="re-export it"
            ) from None
        finally:
            book.close()  # the sheet keeps its own copy of the cells
        facts = _sheet_xml_facts(path, names.index(sheet))
        # iter_rows starts at the sheet's first row but at the range's first column
        left = data.start[1] if data.start else 0
        self._rows = _sheet_rows(data.iter_rows(), left, data.width, facts)
        self._head = list(islice(self._rows, HEADER_SCAN_ROWS))
        head = [row for _, row in self._head]
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
        kept: list[Row] = []
        texts: list[pa.RecordBatch] = []
        rows: list[int] = []
        lines: list[int] = []
        rejects: list[Reject] = []
        ordinal = 1
        for sheet_row, row in chain(self._head, self._rows):
            if sheet_row < first or row.count("") == len(row):
                continue  # the header, the title rows above it, and blank rows
            if len(row) > width and row[width:].count("") < len(row) - width:
                raw = "\t".join(python_text(c) or "" for c in row)
                rejects.append(
                    Reject(ordinal, sheet_row, f"bad_field_count:{len(row)}/{width}", raw)
                )
            else:
                kept.append(row)
                rows.append(ordinal)
                lines.append(sheet_row)
                if len(kept) == TEXT_BATCH_ROWS:
                    texts.append(self._texts(kept))
                    kept = []
            ordinal += 1
            if len(rows) + len(rejects) >= self.chunk_rows:
                yield self._chunk([*texts, self._texts(kept)], rows, lines, rejects)
                kept, texts, rows, lines, rejects = [], [], [], [], []
        if rows or rejects:
            yield self._chunk([*texts, self._texts(kept)], rows, lines, rejects)
        self._head, self._rows = [], iter(())  # calamine's copy of the sheet can go

    def _texts(self, kept: list[Row]) -> pa.RecordBatch:
        """Rows as text columns, converted a column at a time (one comprehension per column)."""
        width = len(self.columns)
        columns = list(zip(*kept, strict=True))[:width] if kept else [()] * width
        return pa.record_batch(
            [
                pa.array([(v or None) if v.__class__ is str else _text(v) for v in c], pa.string())
                for c in columns
            ],
            names=self.columns,
        )

    def _chunk(
        self, texts: list[pa.RecordBatch], rows: list[int], lines: list[int], rejects: list[Reject]
    ) -> Chunk:
        table = pa.Table.from_batches(texts).combine_chunks()
        table = with_positions(table, pa.array(rows, pa.int64()), pa.array(lines, pa.int64()))
        return Chunk(table, list(rejects))


def _text(value: Any) -> str | None:
    """A calamine cell as :func:`python_text` gives openpyxl's: a blank cell reads as ``""``."""
    if value.__class__ is str:
        return value or None
    if value.__class__ is float:  # the commonest after text: python_text's float case, inline
        return str(int(value)) if value.is_integer() else str(value)
    if value is EMPTY_TEXT:
        return ""
    return python_text(value)


def _sheet_rows(
    rows: Iterator[Row], left: int, width: int, facts: _XmlFacts
) -> Iterator[tuple[int, Row]]:
    """(1-based sheet row, cells from column A) for each row calamine yields (it starts at the
    sheet's first row but at the range's first column): blank cells are ``""``, rows are as wide
    as the sheet's declared dimension, and the cells calamine reads otherwise than openpyxl hold
    their text from the XML. A sheet that needs none of that is calamine's rows as they come."""
    numbered = enumerate(rows, 1)
    if not left and not facts.cells and facts.width <= width:
        return numbered
    return _fixed_rows(numbered, left, facts)


def _fixed_rows(
    numbered: Iterator[tuple[int, Row]], left: int, facts: _XmlFacts
) -> Iterator[tuple[int, Row]]:
    pad = [""] * left
    patches: dict[int, list[tuple[int, str]]] = {}
    for (r, c), text in facts.cells.items():
        patches.setdefault(r, []).append((c, text))
    for sheet_row, row in numbered:
        if left:
            row = pad + row
        if len(row) < facts.width:
            row += [""] * (facts.width - len(row))
        for c, text in patches.get(sheet_row, ()):
            if c < len(row):
                row[c] = text
        yield sheet_row, row


def _find_header(head: list[list[Any]], expected: Sequence[str]) -> int:
    """The row naming most contract columns; else the first row as wide as the widest row."""
    texts = [[(python_text(c) or "").strip() for c in row] for row in head]
    wanted = set(expected)
    if wanted:
        hits = [len(wanted.intersection(row)) for row in texts]
        if hits and max(hits) > 0:
            return hits.index(max(hits))
    widths = [sum(1 for c in row if c) for row in texts]
    if not widths:
        return 0
    widest = max(widths)
    return next(i for i, w in enumerate(widths) if w == widest)


# What the sheet's XML says that calamine does not hand over -------------------------------------


class _EmptyText(str):
    """A cell holding an empty string, which openpyxl read as ``""`` and calamine as blank."""


EMPTY_TEXT = _EmptyText("")

_BLOCK = 256 * 1024  # inflated a block at a time, searched while it is in the CPU cache
_DIMENSION = re.compile(rb'<dimension\s+ref="(?:[A-Z]+\d+:)?([A-Z]+)\d+"')
_ERROR = re.compile(rb'\st="e"')
_BIG_INTEGER = re.compile(rb"<v>-?\d{16,}</v>")  # past 2**53 a float loses digits
_EMPTY_INLINE = re.compile(rb"<is><t(?:\s[^>]*)?(?:/>|></t>)</is>")
_EMPTY_SHARED = re.compile(rb"<si><t(?:\s[^>]*)?(?:/>|></t>)</si>")
_CELL_OPEN = re.compile(rb"<c\s([^>]*?)/?>")
_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_TYPE = re.compile(rb'\bt="(\w+)"')
_VALUE = re.compile(rb"<v>([^<]*)</v>")
_INTEGER = re.compile(rb"-?\d+")
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


@dataclass
class _XmlFacts:
    width: int = 0  # columns the sheet's <dimension> declares; openpyxl pads rows to it
    cells: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, 0-based col): text
    empty_shared: re.Pattern[bytes] | None = None  # shared-string cells holding ""


def _sheet_xml_facts(path: Path, index: int) -> _XmlFacts:
    """The declared width, error cells' text, exact big integers and empty-string cells of sheet
    ``index``, in one streaming pass over its XML: a second inflate of the sheet, about a sixth of
    this reader's CPU time on the synthetic city's hotline workbook (0.13 of 0.77 s).

    A workbook that is not a plain .xlsx zip (calamine reads .xls and .ods too) has none of these.
    """
    facts = _XmlFacts()
    try:
        with zipfile.ZipFile(path) as archive:
            sheet, shared = _members(archive, index)
            if shared is not None:
                facts.empty_shared = _empty_shared_strings(archive.read(shared))
            if sheet is not None:
                with archive.open(sheet) as xml:
                    _scan(xml, facts)
    except (zipfile.BadZipFile, KeyError, OSError, ElementTree.ParseError, EOFError):
        return _XmlFacts()
    return facts


def _members(archive: zipfile.ZipFile, index: int) -> tuple[str | None, str | None]:
    """The zip members of the ``index``-th sheet and of the shared strings, by the workbook's
    relationships."""
    book = "xl/workbook.xml"
    for rel in ElementTree.fromstring(archive.read("_rels/.rels")):
        if rel.get("Type", "").endswith("/officeDocument"):
            book = rel.get("Target", book).lstrip("/")
    folder, name = posixpath.split(book)
    rels = ElementTree.fromstring(archive.read(posixpath.join(folder, "_rels", name + ".rels")))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    shared = next(
        (rel.get("Target", "") for rel in rels if rel.get("Type", "").endswith("/sharedStrings")),
        "",
    )
    sheets = [
        s for s in ElementTree.fromstring(archive.read(book)).iter() if s.tag.endswith("}sheet")
    ]
    sheet = targets.get(sheets[index].get(_NS_REL)) if index < len(sheets) else None

    def member(target: str | None) -> str | None:
        if not target:
            return None
        if target.startswith("/"):
            return target.lstrip("/")
        return posixpath.normpath(posixpath.join(folder, target))

    return member(sheet), member(shared)


def _empty_shared_strings(table: bytes) -> re.Pattern[bytes] | None:
    """A pattern for the cells that point at an empty shared string; None when there is none."""
    if b"/></si>" not in table and b"></t></si>" not in table:
        return None
    indexes = [
        table.count(b"<si>", 0, m.start()) + table.count(b"<si ", 0, m.start())
        for m in _EMPTY_SHARED.finditer(table)
    ]
    if not indexes:
        return None
    numbers = b"|".join(str(i).encode() for i in indexes)
    return re.compile(rb'\st="s"[^>]*><v>(?:' + numbers + rb")</v>")


def _scan(xml: IO[bytes], facts: _XmlFacts) -> None:
    carry, first = b"", True
    while True:
        block = xml.read(_BLOCK)
        text = carry + block
        if first:  # <dimension> comes before the cells
            first = False
            dimension = _DIMENSION.search(text)
            if dimension:
                facts.width = _column_number(dimension.group(1))
        # cut before the last cell's start, so no cell is split between two blocks
        cut = max(text.rfind(b"<c "), 0) if block else len(text)
        _patch_cells(text[:cut], facts)
        carry = text[cut:]
        if not block:
            return


def _patch_cells(part: bytes, facts: _XmlFacts) -> None:
    """Record the cells of ``part`` that calamine reads otherwise than openpyxl. Each kind is
    searched for only when a cheap test finds it in the block, so a sheet without any costs one
    substring search per kind."""
    hits: list[tuple[int, bytes]] = []  # (where, the cell type that makes it a hit)
    if b' t="e"' in part:
        hits += [(m.start(), b"e") for m in _ERROR.finditer(part)]
    if _BIG_INTEGER.search(part):
        hits += [(m.start(), b"n") for m in _BIG_INTEGER.finditer(part)]
    if b"></t></is>" in part or b"/></is>" in part:
        hits += [(m.start(), b"inlineStr") for m in _EMPTY_INLINE.finditer(part)]
    if facts.empty_shared is not None:
        hits += [(m.start(), b"s") for m in facts.empty_shared.finditer(part)]
    for hit, wanted in hits:
        start = part.rfind(b"<c ", 0, hit + 1)
        cell = _CELL_OPEN.match(part, start) if start >= 0 else None
        if cell is None or cell.group(0).endswith(b"/>"):
            continue
        ref, kind = _REF.search(cell.group(1)), _TYPE.search(cell.group(1))
        if ref is None or (kind.group(1) if kind else b"n") != wanted:
            continue  # a cell without its reference, or the hit was not this cell's value
        key = (int(ref.group(2)), _column_number(ref.group(1)) - 1)
        if wanted in (b"inlineStr", b"s"):
            facts.cells[key] = EMPTY_TEXT
            continue
        end = part.find(b"</c>", cell.end())
        value = _VALUE.search(part, cell.end(), end if end >= 0 else len(part))
        if value is None:
            continue
        if wanted == b"e":
            facts.cells[key] = value.group(1).decode()  # openpyxl read an error cell as its text
        elif _INTEGER.fullmatch(value.group(1)):
            facts.cells[key] = str(int(value.group(1)))  # and an integer literal as an int


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number
