from __future__ import annotations

import codecs
import sys
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.csv as pacsv
import pytest

from citybrain.core.workspace import Workspace
from citybrain.ingest import LoadOptions, load_file
from citybrain.ingest.connectors import open_file
from citybrain.ingest.connectors.csv import CsvReader, _undecodable_rows
from citybrain.ingest.connectors.sniff import detect_encoding
from ingest._helpers import WATER_HEADER, MakeContract, water_rows, write_csv


def landed(workspace: Workspace, system: str = "water_billing") -> list[dict[str, object]]:
    glob = workspace.lake / "raw" / system / "load_id=*" / "*.parquet"
    return (
        duckdb.sql(f"SELECT * FROM read_parquet('{glob}') ORDER BY _row")
        .to_arrow_table()
        .to_pylist()
    )


def quarantined(workspace: Workspace, system: str = "water_billing") -> list[dict[str, object]]:
    glob = workspace.lake / "quarantine" / system / "load_id=*" / "*.parquet"
    sql = f"SELECT * FROM read_parquet('{glob}', union_by_name=true) ORDER BY _row"
    return duckdb.sql(sql).to_arrow_table().to_pylist()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_encodings_are_detected(
    encoding: str, workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    rows = [*water_rows(200), ["A999", "𠀀龘", "2024/01/01", "1", "1"]]
    if encoding == "gbk":
        rows.pop()  # 𠀀 is outside GBK
    path = write_csv(source_dir / "water.csv", rows, encoding=encoding)
    contract = make_contract("kind: csv\npath: water.csv")
    manifest = load_file(workspace.lake, contract, path)
    assert manifest.status == "completed", manifest.message
    assert manifest.rows_landed == len(rows) and manifest.rows_quarantined == 0
    expected = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gbk": "gb18030", "gb18030": "gb18030"}
    assert manifest.encoding == expected[encoding]
    names = [r["holder_name"] for r in landed(workspace)]
    assert names[0] == "住户1" and names[-1] == rows[-1][1]


def test_detect_encoding_on_short_gbk_sample() -> None:
    sample = "户号,户主姓名,地址\nA1,张三,高新区天府大道北段\n".encode("gbk")
    assert detect_encoding(sample) == "gb18030"
    assert detect_encoding(codecs.BOM_UTF8 + b"a,b\n") == "utf-8-sig"


def test_explicit_encoding_wins(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    path = write_csv(source_dir / "water.csv", water_rows(5), encoding="gbk")
    contract = make_contract("kind: csv\npath: water.csv\nencoding: gbk")
    manifest = load_file(workspace.lake, contract, path)
    assert manifest.encoding == "gb18030" and manifest.rows_landed == 5


@pytest.mark.parametrize("sep", [",", "\t", ";", "|"])
def test_delimiter_is_sniffed(sep: str, source_dir: Path, make_contract: MakeContract) -> None:
    path = write_csv(source_dir / "water.csv", water_rows(20), sep=sep)
    reader = open_file(make_contract("kind: csv\npath: water.csv"), path)
    assert reader.columns == WATER_HEADER
    assert sum(c.records for c in reader.chunks()) == 20


def test_header_title_rows_and_headerless(source_dir: Path, make_contract: MakeContract) -> None:
    contract = make_contract("kind: csv\npath: water.csv")
    titled = write_csv(
        source_dir / "water.csv", water_rows(3), title="高新区自来水收费明细（2024年）"
    )
    reader = open_file(contract, titled)
    assert reader.columns == WATER_HEADER
    table = next(iter(reader.chunks())).table
    assert table.column("__cb_line").to_pylist() == [3, 4, 5]
    bare = write_csv(source_dir / "bare.csv", water_rows(3), header=None)
    reader = open_file(contract, bare)
    assert reader.columns == WATER_HEADER  # the contract's order
    assert sum(c.records for c in reader.chunks()) == 3


def test_headerless_without_a_contract_uses_sniffer(
    source_dir: Path, make_contract: MakeContract
) -> None:
    contract = make_contract("kind: csv\npath: n.csv", mapping="")
    path = source_dir / "n.csv"
    path.write_text("1,2.5,3\n4,5.5,6\n7,8.5,9\n", encoding="utf-8")
    reader = open_file(contract, path)
    assert reader.columns == ["column_1", "column_2", "column_3"]


def test_bad_rows_go_to_quarantine_with_reason_and_position(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    rows = water_rows(6)
    rows[1][2] = "2024/13/45"  # bad date
    rows[2][3] = "十二"  # bad number
    rows[3] = rows[3][:4]  # wrong field count
    rows[4][4] = "7"  # unknown code
    rows[5][0] = " "  # missing key
    path = write_csv(source_dir / "water.csv", rows)
    manifest = load_file(workspace.lake, make_contract("kind: csv\npath: water.csv"), path)
    assert manifest.status == "completed"
    assert (manifest.rows_read, manifest.rows_landed, manifest.rows_quarantined) == (6, 1, 5)
    assert manifest.quarantined_by_reason == {
        "bad_date:收费日期": 1,
        "bad_number:用水量": 1,
        "bad_field_count:4/5": 1,
        "unknown_code:状态": 1,
        "missing_key:户号": 1,
    }
    bad = quarantined(workspace)
    assert [(r["_row"], r["_line"]) for r in bad] == [(2, 3), (3, 4), (4, 5), (5, 6), (6, 7)]
    assert bad[2]["_raw"] == ",".join(rows[3])
    assert bad[0]["收费日期"] == "2024/13/45" and bad[0]["_file"] == str(path)
    good = landed(workspace)
    assert (
        good[0]["charge_date__src"] == "2024/02/02" and str(good[0]["charge_date"]) == "2024-02-02"
    )


def test_undecodable_bytes_quarantine_the_row_only(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    path = write_csv(source_dir / "water.csv", water_rows(3), encoding="gbk")
    path.write_bytes(path.read_bytes() + b"A000009,\x81\x20bad,2024/01/01,1,1\n")
    manifest = load_file(workspace.lake, make_contract("kind: csv\npath: water.csv"), path)
    assert manifest.quarantined_by_reason == {"undecodable_bytes": 1}
    assert manifest.rows_landed == 3


def test_invalid_utf8_in_a_utf8_file(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    path = write_csv(source_dir / "water.csv", water_rows(300))
    path.write_bytes(path.read_bytes() + b"A000999,\xe4\xb8bad,2024/01/01,1,1\n")
    contract = make_contract("kind: csv\npath: water.csv\nencoding: utf-8")
    manifest = load_file(workspace.lake, contract, path)
    assert manifest.quarantined_by_reason == {"undecodable_bytes": 1}
    assert manifest.rows_landed == 300


def test_quoted_fields_and_multiline_values(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    path = source_dir / "water.csv"
    path.write_text(
        "户号,户主姓名,收费日期,用水量,状态\n"
        'A1,"张, 三",2024/01/01,1,1\n'
        'A2,"李\n四",2024/01/02,2,0\n'
        "A3,王五,2024/01/03,3,1\n",
        encoding="utf-8",
    )
    manifest = load_file(workspace.lake, make_contract("kind: csv\npath: water.csv"), path)
    assert manifest.rows_landed == 3
    rows = landed(workspace)
    assert rows[0]["holder_name"] == "张, 三" and rows[1]["holder_name"] == "李\n四"
    assert [r["_row"] for r in rows] == [1, 2, 3]


def test_a_quoted_line_end_at_the_edge_of_arrows_block_stays_in_its_value(
    source_dir: Path, make_contract: MakeContract
) -> None:
    """Arrow cuts a chunk into 8 MiB blocks; a line end in a quoted value just past an edge is
    read right only when the parser is told values may hold line ends (the contract's quote)."""
    path = source_dir / "water.csv"
    path.write_text("户号,户主姓名,收费日期,用水量,状态\nA0,x,2024/01/02,2,0\n", encoding="utf-8")
    reader = open_file(make_contract('kind: csv\npath: water.csv\nquote: "\'"'), path)
    assert isinstance(reader, CsvReader)
    row = b"A0,name,2024/01/02,2,0\n"
    n = ((8 << 20) - 100) // len(row)
    pad = (8 << 20) - n * len(row) - 2
    data = row * n + b"A1,'" + b"x" * pad + b"\n" + b"y" * 60 + b"',2024/01/02,2,0\n" + row
    invalid: list[pacsv.InvalidRow] = []
    table = reader._arrow(data, invalid)
    assert invalid == [] and table.num_rows == n + 2
    assert table.column("户主姓名")[n].as_py() == "x" * pad + "\n" + "y" * 60


def test_a_file_larger_than_the_chunk_size_stays_chunked(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    rows = water_rows(20_000)
    rows[12_345][2] = "not a date"
    path = write_csv(source_dir / "water.csv", rows, encoding="gbk")
    contract = make_contract("kind: csv\npath: water.csv")
    reader = open_file(contract, path, chunk_bytes=64 * 1024)
    sizes = [c.records for c in reader.chunks()]
    assert len(sizes) > 10 and max(sizes) < 3_000 and sum(sizes) == 20_000
    manifest = load_file(workspace.lake, contract, path, options=LoadOptions(chunk_bytes=64 * 1024))
    assert manifest.chunks == len(sizes)
    assert (manifest.rows_landed, manifest.rows_quarantined) == (19_999, 1)
    assert quarantined(workspace)[0]["_row"] == 12_346
    assert [r["_row"] for r in landed(workspace)] == [i for i in range(1, 20_001) if i != 12_346]


@pytest.mark.parametrize(
    ("content", "needle"),
    [(b"", "empty"), (b"\x00\x01\x02" * 100, "binary")],
)
def test_an_unreadable_file_fails_with_one_message(
    content: bytes, needle: str, workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    path = source_dir / "water.csv"
    path.write_bytes(content)
    manifest = load_file(workspace.lake, make_contract("kind: csv\npath: water.csv"), path)
    assert manifest.status == "failed"
    assert (
        manifest.message is not None
        and str(path) in manifest.message
        and needle in manifest.message
    )
    assert not list((workspace.lake / "raw" / "water_billing").glob("load_id=*"))
    assert list((workspace.lake / "raw" / "water_billing" / "_failed").glob("*.json"))


def test_a_truncated_file_quarantines_its_last_row(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    path = write_csv(source_dir / "water.csv", water_rows(50))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 12])  # cut inside the last row
    manifest = load_file(workspace.lake, make_contract("kind: csv\npath: water.csv"), path)
    assert (manifest.rows_read, manifest.rows_landed, manifest.rows_quarantined) == (50, 49, 1)
    assert list(manifest.quarantined_by_reason) == ["bad_field_count:3/5"]


def test_an_unterminated_quote_is_quarantined_not_fatal(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    path = write_csv(source_dir / "water.csv", water_rows(20))
    path.write_bytes(path.read_bytes() + b'A000099,"unterminated,2024/01/01,1,1\n')
    manifest = load_file(workspace.lake, make_contract("kind: csv\npath: water.csv"), path)
    assert manifest.status == "completed", manifest.message
    assert (manifest.rows_landed, manifest.quarantined_by_reason) == (20, {"unterminated_quote": 1})
    bad = quarantined(workspace)[0]
    assert bad["_line"] == 22 and bad["_raw"] is not None and "unterminated" in bad["_raw"]


def test_python_fallback_parses_what_arrow_cannot(
    source_dir: Path, make_contract: MakeContract
) -> None:
    from citybrain.ingest.connectors.csv import CsvReader

    path = write_csv(source_dir / "water.csv", water_rows(2))
    reader = open_file(make_contract("kind: csv\npath: water.csv"), path)
    assert isinstance(reader, CsvReader)
    data = 'A1,张三,2024/01/01,1,1\nA2,李四\nA3,"王\n五",2024/01/03,3,0\nA4,"bad,x\n'.encode()
    chunk = reader._python(data, 1, 2, False, len(data))
    assert chunk.table.column("户主姓名").to_pylist() == ["张三", "王\n五"]
    assert chunk.table.column("__cb_row").to_pylist() == [1, 3]
    assert chunk.table.column("__cb_line").to_pylist() == [2, 4]
    assert [(r.row, r.line, r.reason) for r in chunk.rejects] == [
        (2, 3, "bad_field_count:2/5"),
        (4, 6, "unterminated_quote"),
    ]


def _report(exc: BaseException, obj: object) -> Any:
    return types.SimpleNamespace(exc_type=type(exc), exc_value=exc, object=obj, err_msg=None)


def test_overlapping_quiet_reads_restore_the_hook_and_pass_other_reports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(u.object))
    original = sys.unraisablehook
    first, second, stranger = object(), object(), object()
    undecodable = UnicodeDecodeError("utf-8", b"\xe4", 0, 1, "unexpected end of data")
    a, b = _undecodable_rows.quiet(first), _undecodable_rows.quiet(second)
    a.__enter__()
    b.__enter__()
    a.__exit__(None, None, None)  # out of order, as two worker threads may end
    sys.unraisablehook(_report(undecodable, second))  # the active read's noise: dropped
    sys.unraisablehook(_report(undecodable, first))  # a read that ended: reported
    sys.unraisablehook(_report(ValueError("x"), stranger))  # anything else: reported
    b.__exit__(None, None, None)
    assert sys.unraisablehook is original
    assert seen == [first, stranger]


def test_threaded_loads_of_undecodable_rows_leave_no_hook_behind(
    workspace: Workspace,
    source_dir: Path,
    make_contract: MakeContract,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(u.exc_value))
    original = sys.unraisablehook
    sources = []
    for i in range(8):  # a row cut mid-character that is also one field too long
        path = write_csv(source_dir / f"water{i}.csv", water_rows(50))
        path.write_bytes(path.read_bytes() + b"A000999,\xe4\xb8bad,2024/01/01,1,1,x\n")
        contract = make_contract(f"kind: csv\npath: water{i}.csv\nencoding: utf-8", system=f"w{i}")
        sources.append((contract, path))
    with ThreadPoolExecutor(4) as pool:
        manifests = list(pool.map(lambda s: load_file(workspace.lake, *s), sources))
    assert all(m.rows_quarantined == 1 and m.rows_landed == 50 for m in manifests)
    assert sys.unraisablehook is original and seen == []


def test_a_repeated_or_blank_header_name_keeps_every_column(
    source_dir: Path, make_contract: MakeContract
) -> None:
    contract = make_contract("kind: csv\npath: r.csv", mapping="")
    path = source_dir / "r.csv"
    path.write_text("户号,备注,,备注,备注_2\n001,a,b,c,d\n", encoding="utf-8")
    reader = open_file(contract, path)
    assert reader.columns == ["户号", "备注", "column_3", "备注_3", "备注_2"]
    table = next(iter(reader.chunks())).table
    assert [table.column(c)[0].as_py() for c in reader.columns] == ["001", "a", "b", "c", "d"]
