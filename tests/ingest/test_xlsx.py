"""The calamine Excel reader gives the chunks and rejects openpyxl's reader gave, cell for cell."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from citybrain.ingest import load_contract
from citybrain.ingest.connectors import xlsx
from citybrain.ingest.connectors.base import Chunk, SourceUnreadable
from citybrain.ingest.connectors.xlsx import XlsxReader
from citybrain.ingest.contract import XlsxConnector
from citybrain.ingest.simsources import SIM_CONTRACTS
from fixtures.tinycity import SEED, tiny_city
from ingest._openpyxl_reader import OpenpyxlReader

HEADER = ["编号", "姓名", "数值", "日期", "备注"]

# every kind of cell a department's workbook holds, under one header column each row
CELLS: list[object] = [
    1, 1.0, 12.5, -0.0, 0.1 + 0.2, 1e20, 1.5e-7, 13800138000, 110101199001011234, 2**53 + 1,
    True, False, "", "007", "0001234", " 前后空格 ", "两行\n文字", "a\r\nb", "1.50", "TRUE",
    datetime(2024, 1, 5), datetime(2024, 1, 5, 13, 45, 10),
    datetime(2024, 1, 5, 13, 45, 10, 123456),
    date(2024, 2, 29), time(13, 5), time(0, 0), timedelta(hours=30, minutes=5),
    datetime(1900, 1, 1), datetime(1900, 2, 28), datetime(1900, 3, 1), datetime(1899, 12, 31),
    "=1/0", "=NA()", "=A5&\"x\"", "#N/A", "#DIV/0!", "#VALUE!",
]  # fmt: skip
DATE_FORMATS = [
    "yyyy-mm-dd", "yyyy/m/d;@", 'yyyy"年"m"月"d"日"', "[$-F800]dddd, mmmm dd, yyyy",
    "[DBNum1][$-804]yyyy\"年\"m\"月\"d\"日\"", "m/d/yy h:mm", "hh:mm:ss", "[h]:mm:ss", "mm:ss.0",
    "0.00%", "@", "General", "#,##0.00",
]  # fmt: skip

Build = Callable[[Path], None]


def _cells_book(path: Path) -> None:
    """Title rows (one merged), a blank row, the header with an empty trailing column, every
    kind of cell, blank rows between, a row wider than the header, and a formatted empty column."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "明细"
    sheet.append(["高新区测试明细表"])
    sheet.merge_cells("A1:E1")
    sheet.append(["制表单位：市数据局", None, "制表日期：2024-03-01"])
    sheet.append([])
    sheet.append([*HEADER, None])
    for i, value in enumerate(CELLS):
        sheet.append([f"N{i:03d}", f"住户{i}", value, datetime(2024, 1, 1 + i % 28), None])
        if i % 9 == 4:
            sheet.append([None, "", None])  # blank: skipped
    for i, fmt in enumerate(DATE_FORMATS):
        sheet.append([f"F{i:03d}", fmt, 45296.5 + i, 45296 + i, 0.25])
        for col in (3, 4, 5):
            sheet.cell(sheet.max_row, col).number_format = fmt
    sheet.append(["W1", "多一格", 1, None, None, None, "多出来的一格"])
    sheet.append(["W2", "只有表头宽", 2])
    sheet.cell(7, 9).number_format = "0.00"  # a formatted, empty cell widens the sheet
    other = book.create_sheet("第二页")
    other.append(["编号", "值"])
    other.append(["S1", 7])
    book.save(path)


def _leading_gaps_book(path: Path) -> None:
    """Data starting at C4: calamine's range starts there, openpyxl's rows at A1."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["C2"] = "标题"
    sheet.merge_cells("C2:F2")
    rows: list[Sequence[object]] = [HEADER[:4], ["A1", "张三", 3, "x"], ["A2", None, None, "y"]]
    for r, row in enumerate(rows, 4):
        for c, value in enumerate(row, 3):
            sheet.cell(r, c, value)
    sheet.cell(9, 4, "跳过空行后的一行")
    sheet.cell(12, 9, "#REF!")  # an error cell wider than the header: a reject
    book.save(path)


def _mac_book(path: Path) -> None:
    """A workbook on the 1904 date system."""
    book = Workbook()
    book.epoch = CALENDAR_MAC_1904
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER[:3])
    sheet.append(["M1", datetime(2024, 1, 5, 8, 30), date(1904, 1, 2)])
    sheet.append(["M2", time(6, 0), 1])
    book.save(path)


def _tall_title_book(path: Path) -> None:
    """More title rows than the header scan reads, and a sheet with nothing on it."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for i in range(35):
        sheet.append([f"说明第{i}行"])
    sheet.append(HEADER[:2])
    sheet.append(["T1", "值"])
    book.create_sheet("空表")
    book.save(path)


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


# rows of cells as other programs write them (row 6 holds only empty strings: a blank row)
SHEET_ROWS = [
    [_inline("A1", "身份证号"), _inline("B1", "结果"), _inline("C1", "文本数字"),
     _inline("D1", "小数"), _inline("E1", "空串")],
    ['<c r="A2"><v>110101199001011234</v></c>', '<c r="B2" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
     '<c r="C2" t="str"><f>"0"&amp;"12345678901234567"</f><v>012345678901234567</v></c>',
     '<c r="D2"><v>1.2345678901234567E+17</v></c>', _inline("E2", "")],
    ['<c r="A3" t="n"><v>-99999999999999999</v></c>', '<c r="B3" t="e"><v>#N/A</v></c>',
     '<c r="C3" t="s"><v>0</v></c>', '<c r="D3"><v>3</v></c>', '<c r="E3" t="s"><v>1</v></c>'],
    ['<c r="A4"><v>12</v></c>', '<c r="B4" t="e"/>',
     '<c r="C4" t="str"><f>A2&amp;""</f><v>0110101199001011234</v></c>',
     '<c r="D4" t="b"><v>1</v></c>', '<c r="E4" t="str"><f>""</f><v></v></c>'],
    ['<c r="A5" t="inlineStr"><is><t xml:space="preserve"></t></is></c>',
     '<c r="B5" t="s"><v>2</v></c>', '<c r="C5" t="inlineStr"><is><t/></is></c>',
     '<c s="0" t="e" r="D5"><v>#NAME?</v></c>', '<c r="E5" t="s"><v>1</v></c>'],
    [_inline("A6", ""), '<c r="B6" t="s"><v>1</v></c>', '<c r="C6"/>'],
    [_inline("A7", "末行"), '<c r="E7"><v>0012</v></c>'],
]  # fmt: skip
SHEET_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<dimension ref="A1:F7"/><sheetData>'
    + "".join(f'<row r="{r}">{"".join(cells)}</row>' for r, cells in enumerate(SHEET_ROWS, 1))
    + "</sheetData></worksheet>"
)
SHARED_STRINGS = '<si><t>00420</t></si><si><t/></si><si><t xml:space="preserve"></t></si>'


def _hand_written_book(path: Path) -> None:
    """XML as other programs write it: integer literals past 2**53, error cells with and
    without a formula, a formula's text result made of digits, a shared string."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org'
            '/package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/data.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName='
            '"/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument'
            '.spreadsheetml.sharedStrings+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
            f'{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">'
            '<sheets><sheet name="导出" sheetId="1" r:id="rId7"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId7" Type="{rel}'
            '/worksheet" Target="worksheets/data.xml"/><Relationship Id="rId8" Type="'
            f'{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/sharedStrings.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{main}" count="3" uniqueCount="3">'
            f"{SHARED_STRINGS}</sst>"
        ),
        "xl/worksheets/data.xml": SHEET_XML,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)


BOOKS: dict[str, Build] = {
    "cells": _cells_book,
    "leading_gaps": _leading_gaps_book,
    "mac_1904": _mac_book,
    "tall_title": _tall_title_book,
    "hand_written": _hand_written_book,
}

CASES = [
    ("cells", {}, HEADER, 7),
    ("cells", {}, (), 1000),
    ("cells", {"header_row": 4}, (), 5),
    ("cells", {"header_row": 1}, (), 1000),
    ("cells", {"sheet": "第二页"}, (), 1000),
    ("cells", {"sheet": 1}, (), 1),
    ("leading_gaps", {}, (), 2),
    ("leading_gaps", {}, ["姓名"], 1000),
    ("mac_1904", {}, (), 1000),
    ("tall_title", {}, (), 1000),
    ("hand_written", {}, (), 1000),
]


def _read(
    reader: type[XlsxReader] | type[OpenpyxlReader],
    path: Path,
    options: XlsxConnector,
    expected: Sequence[str],
    chunk_rows: int,
) -> tuple[list[str], list[Chunk]]:
    opened = reader(path, options, expected, chunk_rows)
    return opened.columns, list(opened.chunks())


def _assert_same(path: Path, options: XlsxConnector, expected: Sequence[str], rows: int) -> int:
    """Both readers' columns, chunks and rejects are equal; returns the records read."""
    old_columns, old = _read(OpenpyxlReader, path, options, expected, rows)
    new_columns, new = _read(XlsxReader, path, options, expected, rows)
    assert new_columns == old_columns
    assert [c.table.num_rows for c in new] == [c.table.num_rows for c in old]
    for old_chunk, new_chunk in zip(old, new, strict=True):
        assert new_chunk.table.to_pylist() == old_chunk.table.to_pylist()
        assert new_chunk.table.equals(old_chunk.table)
        assert new_chunk.rejects == old_chunk.rejects
    return sum(c.records for c in new)


@pytest.mark.parametrize(("book", "options", "expected", "chunk_rows"), CASES)
def test_calamine_reads_what_openpyxl_read(
    tmp_path: Path,
    book: str,
    options: dict[str, object],
    expected: Sequence[str],
    chunk_rows: int,
) -> None:
    path = tmp_path / f"{book}.xlsx"
    BOOKS[book](path)
    connector = XlsxConnector.model_validate({"path": path.name, **options})
    _assert_same(path, connector, expected, chunk_rows)


@pytest.mark.parametrize("chunk_rows", [7, 1000])
def test_rows_turned_to_text_in_small_batches_read_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_rows: int
) -> None:
    monkeypatch.setattr(xlsx, "TEXT_BATCH_ROWS", 3)  # batch ends inside chunks, and on their ends
    path = tmp_path / "cells.xlsx"
    _cells_book(path)
    assert _assert_same(path, XlsxConnector(path="cells.xlsx"), HEADER, chunk_rows) > 40


def _whole_ms(value: datetime | time) -> datetime | time:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


# what people and Excel write: dates and times to the millisecond at most (a serial carrying
# sub-millisecond digits may round 1 ms apart: calamine rounds the whole serial, openpyxl its
# fraction), numbers, text; tried in random mixes against the oracle
CELL_VALUES = st.one_of(
    st.datetimes(datetime(1900, 3, 1), datetime(9999, 12, 31)).map(_whole_ms),
    st.times().map(_whole_ms),
    st.dates(date(1900, 3, 1)),
    st.integers(-(10**15), 10**15),
    st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8),
    st.none(),
)


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.lists(CELL_VALUES, min_size=1, max_size=6), min_size=1, max_size=30))
def test_random_cells_read_as_openpyxl_read_them(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[object]]
) -> None:
    path = tmp_path_factory.mktemp("random") / "random.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["a", "b", "c", "d", "e", "f"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    _assert_same(path, XlsxConnector(path="random.xlsx"), (), 10)


def test_every_cell_kind_reads_as_its_text(tmp_path: Path) -> None:
    """Spot values the oracle comparison would accept if both readers were wrong together."""
    path = tmp_path / "cells.xlsx"
    _cells_book(path)
    reader = XlsxReader(path, XlsxConnector(path="cells.xlsx"), HEADER, 1000)
    assert reader.columns == HEADER
    (chunk,) = reader.chunks()
    values = dict(
        zip(
            chunk.table.column("编号").to_pylist(),
            chunk.table.column("数值").to_pylist(),
            strict=True,
        )
    )
    texts = [values[f"N{i:03d}"] for i in range(len(CELLS))]
    # openpyxl writes a float with 16 significant digits (0.1 + 0.2 as 0.3), so an integer past
    # 2**53 is already a float in its file
    assert texts[:10] == ["1", "1", "12.5", "0", "0.3", "100000000000000000000", "1.5e-07",
                          "13800138000", "110101199001011200", "9007199254740992"]  # fmt: skip
    assert texts[10:14] == ["true", "false", None, "007"]
    assert texts[20:27] == ["2024-01-05", "2024-01-05 13:45:10", "2024-01-05 13:45:10.123000",
                            "2024-02-29", "13:05:00", "00:00:00", "1 day, 6:05:00"]  # fmt: skip
    assert texts[-3:] == ["#N/A", "#DIV/0!", "#VALUE!"]
    assert [r.reason for r in chunk.rejects] == ["bad_field_count:9/5"]
    assert chunk.rejects[0].raw.startswith("W1\t多一格\t1\t\t\t\t多出来的一格")


def test_hand_written_xml_keeps_big_integers_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    _hand_written_book(path)
    (chunk,) = XlsxReader(path, XlsxConnector(path="export.xlsx"), (), 1000).chunks()
    assert chunk.table.drop_columns(["__cb_row", "__cb_reason"]).to_pylist() == [
        {"身份证号": "110101199001011234", "结果": "#DIV/0!", "文本数字": "012345678901234567",
         "小数": "123456789012345664", "空串": "", "__cb_line": 2},
        {"身份证号": "-99999999999999999", "结果": "#N/A", "文本数字": "00420", "小数": "3",
         "空串": "", "__cb_line": 3},
        {"身份证号": "12", "结果": None, "文本数字": "0110101199001011234", "小数": "true",
         "空串": None,
         "__cb_line": 4},
        {"身份证号": "", "结果": "", "文本数字": "", "小数": "#NAME?", "空串": "", "__cb_line": 5},
        {"身份证号": "末行", "结果": None, "文本数字": None, "小数": None, "空串": "12",
         "__cb_line": 7},
    ]  # fmt: skip


def test_sim_city_workbooks_read_as_before(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The synthetic city's hotline and screening workbooks, with their shipped contracts."""
    city = tiny_city(tmp_path_factory, SEED)
    records = 0
    for system in ("hotline_12345", "household_screening"):
        contract = load_contract(SIM_CONTRACTS / f"{system}.yaml")
        assert isinstance(contract.connector, XlsxConnector)
        expected = [c.source for c in contract.mapping.columns]
        books = sorted((city / system).glob("*.xlsx"))
        assert books
        for path in books:
            records += _assert_same(path, contract.connector, expected, 1000)
    assert records > 0


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (b"PK\x03\x04 this is not a workbook", {}, "not a readable .xlsx workbook"),
        ("编号,姓名\n1,张三\n".encode(), {}, "not a readable .xlsx workbook"),
        (_mac_book, {"sheet": "没有这页"}, "has no sheet '没有这页'"),
        (_mac_book, {"sheet": 5}, "has no sheet number 5"),
        (_mac_book, {"header_row": 40}, "has no header row"),
        (_tall_title_book, {"sheet": "空表"}, "sheet '空表' has no header row"),
    ],
)
def test_unreadable_workbooks_say_what_and_where(
    tmp_path: Path, content: bytes | Build, options: dict[str, object], message: str
) -> None:
    path = tmp_path / "bad.xlsx"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        content(path)
    connector = XlsxConnector.model_validate({"path": path.name, **options})
    with pytest.raises(SourceUnreadable) as new:
        XlsxReader(path, connector)
    with pytest.raises(SourceUnreadable) as old:
        OpenpyxlReader(path, connector)
    assert str(path) in str(new.value) and message in str(new.value)
    assert message in str(old.value)
    assert new.value.hint == old.value.hint


def test_a_damaged_sheet_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "damaged.xlsx"
    _hand_written_book(path)
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith("data.xml"):
                data = data[: len(data) // 2]  # cut mid-row
            target.writestr(item, data)
    with pytest.raises(SourceUnreadable, match="damaged"):
        reader = XlsxReader(broken, XlsxConnector(path="broken.xlsx"))
        list(reader.chunks())


def test_table_types_are_text(tmp_path: Path) -> None:
    path = tmp_path / "cells.xlsx"
    _cells_book(path)
    (chunk,) = XlsxReader(path, XlsxConnector(path="cells.xlsx"), HEADER, 1000).chunks()
    assert all(f.type == pa.string() for f in chunk.table.schema if not f.name.startswith("__"))
