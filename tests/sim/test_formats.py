"""sim.formats: byte-identical output for every format, round trips, and files broken on purpose."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import sqlite3
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from citybrain.sim import formats as f


def readings(seed: int, n: int = 500) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "户号": [f"A{i:06d}" for i in rng.integers(0, 10**6, n)],
            "户主": rng.choice(["张伟", "王芳", "李静", "欧阳娜娜", "赵敏"], n),
            "地址": rng.choice(["高新区天府大道1700号3栋2单元1203室", 'A座"东"', "x,y\nz"], n),
            "用量": rng.gamma(2, 100, n).round(1),
            "户数": pa.array(rng.integers(1, 6, n)),
            "停用": rng.random(n) < 0.1,
            "抄表日期": pa.array(
                [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 365, n)]
            ),
            "抄表时间": pa.array(
                rng.integers(1.7e9, 1.72e9, n).astype("datetime64[s]"), pa.timestamp("s")
            ),
        }
    )


def batches(seed: int) -> Iterator[pa.RecordBatch]:
    yield from readings(seed).to_batches(max_chunksize=128)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


WRITERS: dict[str, Callable[[Path, int], int]] = {
    "csv": lambda p, s: f.write_csv(p, batches(s), date_formats={"抄表日期": "%Y年%-m月%-d日"}),
    "csv-gbk": lambda p, s: f.write_csv(p, batches(s), encoding="gbk", delimiter="|"),
    "jsonl": lambda p, s: f.write_jsonl(p, batches(s)),
    "parquet": lambda p, s: f.write_parquet(p, batches(s), row_group_size=200),
    "xlsx": lambda p, s: f.write_xlsx(
        p, [f.Sheet("用水", batches(s), title_rows=["2024年用水统计表"])]
    ),
    "sqlite": lambda p, s: f.write_sqlite(p, "readings", batches(s)),
}


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_same_input_gives_identical_bytes(tmp_path: Path, kind: str) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert WRITERS[kind](first, 1) == 500
    assert WRITERS[kind](second, 1) == 500
    WRITERS[kind](other, 2)
    assert digest(first) == digest(second)
    assert digest(first) != digest(other)
    assert not list(tmp_path.glob(".*tmp*"))  # nothing left aside


def test_xlsx_has_no_clock_in_it(tmp_path: Path) -> None:
    WRITERS["xlsx"](tmp_path / "a.xlsx", 1)
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        # XlsxWriter stamps one fixed day of 1980 on every entry, whatever the clock says
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 31, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert "2020-01-01T00:00:00Z" in core and str(dt.date.today().year) + "-" not in core


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_round_trips_in_each_encoding(tmp_path: Path, encoding: f.CsvEncoding) -> None:
    table = readings(3)
    path = tmp_path / "r.csv"
    f.write_csv(path, table, encoding=encoding, date_formats={"抄表时间": "%Y/%m/%d %H:%M"})
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    back = pd.read_csv(path, encoding=encoding, dtype=str, keep_default_na=False)
    assert list(back.columns) == table.column_names
    assert back["户主"].tolist() == table.column("户主").to_pylist()
    assert back["地址"].tolist() == table.column("地址").to_pylist()
    first_time = table.column("抄表时间")[0].as_py().strftime("%Y/%m/%d %H:%M")
    assert back["抄表时间"][0] == first_time
    if encoding in ("gbk", "gb18030"):
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")


def test_csv_options(tmp_path: Path) -> None:
    table = pa.table({"a": [1, None], "b": ["x", "y"]})
    path = tmp_path / "o.csv"
    f.write_csv(path, table, delimiter="\t", header=False, eol="\r\n", null="NULL", quoting="none")
    assert path.read_bytes() == b"1\tx\r\nNULL\ty\r\n"
    f.write_csv(path, table, quoting="all")
    assert path.read_text() == '"a","b"\n"1","x"\n,"y"\n'


def test_gbk_needs_replace_for_characters_it_lacks(tmp_path: Path) -> None:
    table = pa.table({"name": ["王㛃"]})  # a rare character outside GBK
    with pytest.raises(UnicodeEncodeError):
        f.write_csv(tmp_path / "g.csv", table, encoding="gbk")
    f.write_csv(tmp_path / "g.csv", table, encoding="gbk", errors="replace")
    assert (tmp_path / "g.csv").read_bytes().decode("gbk") == '"name"\n"王?"\n'
    f.write_csv(tmp_path / "g.csv", table, encoding="gb18030")
    assert (tmp_path / "g.csv").read_bytes().decode("gb18030") == '"name"\n"王㛃"\n'


def test_jsonl_lines_are_json_with_iso_dates(tmp_path: Path) -> None:
    table = readings(4).append_column("nan", pa.array([float("nan")] * 500))
    f.write_jsonl(tmp_path / "r.jsonl", table)
    lines = (tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 500 and rows[0]["nan"] is None
    expected = table.drop_columns(["nan"]).to_pylist()
    for row, want in zip(rows, expected, strict=True):
        assert row["地址"] == want["地址"] and row["用量"] == want["用量"]
        assert row["停用"] is want["停用"] and row["户数"] == want["户数"]
        assert row["抄表日期"] == want["抄表日期"].isoformat()
        assert row["抄表时间"] == want["抄表时间"].isoformat()


def test_json_of_dictionary_columns_and_nulls() -> None:
    batch = pa.record_batch(
        {"k": pa.array(["a", None, "a"]).dictionary_encode(), "n": pa.array([1, None, 3])}
    )
    assert f.json_objects(batch).to_pylist() == [
        '{"k":"a","n":1}',
        '{"k":null,"n":null}',
        '{"k":"a","n":3}',
    ]


def test_parquet_streams_row_groups(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    assert f.write_parquet(path, batches(5), row_group_size=200) == 500
    back = pq.read_table(path)  # Parquet has no seconds unit: timestamp[s] comes back as ms
    assert back.cast(readings(5).schema).equals(readings(5))
    meta = pq.ParquetFile(path).metadata  # 128-row batches gathered into 200-row groups
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [200, 200, 100]
    with pytest.raises(ValueError, match="no batches"):
        f.write_parquet(tmp_path / "empty.parquet", iter(()))


def test_parquet_floats_are_byte_stream_split_without_statistics(tmp_path: Path) -> None:
    path = tmp_path / "f.parquet"
    table = pa.table(
        {"key": np.arange(10), "lng": np.linspace(104.0, 104.1, 10), "name": ["a", "b"] * 5}
    )
    f.write_parquet(path, table)
    assert pq.read_table(path).equals(table)
    group = pq.ParquetFile(path).metadata.row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(3)}
    assert "BYTE_STREAM_SPLIT" in columns["lng"].encodings
    assert not columns["lng"].is_stats_set
    assert columns["key"].is_stats_set and columns["key"].statistics.max == 9
    assert "RLE_DICTIONARY" in columns["name"].encodings  # dictionaries stay where asked


def test_xlsx_readable_by_openpyxl_and_pandas(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    table = readings(6, 20)
    sheets = [
        f.Sheet(
            "一月",
            table,
            title_rows=["示例高新区用水统计表", "单位：吨"],
            footer_rows=["制表单位：示例高新区水务局"],
        ),
        f.Sheet("二月", table.slice(0, 5), date_formats={"抄表日期": "%Y-%m-%d"}),
    ]
    assert f.write_xlsx(path, sheets) == 25
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["一月", "二月"]
    first = wb["一月"]
    assert sorted(str(r) for r in first.merged_cells.ranges) == ["A1:H1", "A24:H24", "A2:H2"]
    assert first["A24"].value == "制表单位：示例高新区水务局"
    assert first["A1"].value == "示例高新区用水统计表"
    assert [c.value for c in first[3]] == table.column_names
    frame = pd.read_excel(path, sheet_name="一月", skiprows=2, skipfooter=1)
    assert frame["户主"].tolist() == table.column("户主").to_pylist()
    assert frame["用量"].tolist() == table.column("用量").to_pylist()
    second = pd.read_excel(path, sheet_name="二月", dtype=str)
    assert second["抄表日期"].tolist() == [
        d.isoformat() for d in table.column("抄表日期")[:5].to_pylist()
    ]


def test_sqlite_table_and_connection_file(tmp_path: Path) -> None:
    system = tmp_path / "court"
    f.write_sqlite(system / "court.sqlite", "dishonest", readings(7))
    f.write_sqlite(system / "court.sqlite", "extra", pa.table({"x": [1]}), replace_file=False)
    conn = f.write_connection_file(system, "sqlite", database="court.sqlite", tables=["dishonest"])
    assert f.read_connection_file(system) == {
        "kind": "sqlite",
        "database": "court.sqlite",
        "tables": ["dishonest"],
    }
    assert conn.read_text().startswith('{\n  "database"')  # sorted keys: byte-stable
    with sqlite3.connect(system / "court.sqlite") as db:
        assert db.execute("select count(*), sum(停用) from dishonest").fetchone()[0] == 500
        date, time = db.execute("select 抄表日期, 抄表时间 from dishonest limit 1").fetchone()
        assert len(date) == 10 and len(time) == 19
        assert db.execute("select x from extra").fetchall() == [(1,)]
    assert f.read_connection_file(tmp_path) is None


def test_strftime_fast_path_matches_python() -> None:
    stamps = [dt.datetime(2024, 1, 2, 3, 4, 5), None, dt.datetime(1999, 12, 31, 23, 59, 59)]
    col = pa.array(stamps, pa.timestamp("us"))
    for fmt in ["%Y-%m-%d", "%Y年%m月%d日 %H时", "%y%m%d%H%M%S", "%H:%M:%S"]:
        want = [s.strftime(fmt) if s else None for s in stamps]
        assert f.strftime(col, fmt).to_pylist() == want, fmt
    assert f.strftime(col, "%Y/%-m/%-d %-H点").to_pylist() == [
        "2024/1/2 3点",
        None,
        "1999/12/31 23点",
    ]
    assert f.strftime(pa.array([dt.date(2024, 3, 9)]), "%b %d").to_pylist() == ["Mar 09"]


# --- broken files ------------------------------------------------------------------------------


def _clean_csv(tmp_path: Path, encoding: f.CsvEncoding = "utf-8") -> Path:
    path = tmp_path / "clean.csv"
    table = pa.table({"id": list(range(100)), "name": ["张伟"] * 100, "n": [1.5] * 100})
    f.write_csv(path, table, encoding=encoding)
    return path


def test_truncated_file_ends_mid_row(tmp_path: Path) -> None:
    path = _clean_csv(tmp_path)
    size = path.stat().st_size
    broken = f.truncate_file(path, keep_fraction=0.5)
    assert broken.kind == "truncated" and path.stat().st_size < size
    text = path.read_bytes()
    assert not text.endswith(b"\n")
    last_line = text.split(b"\n")[-1]
    assert broken.lines == (text.count(b"\n") + 1,)
    assert 0 < len(last_line) < len('1,"张伟",1.5'.replace("1,", "50,").encode())


def test_bad_row_width(tmp_path: Path) -> None:
    path = _clean_csv(tmp_path)
    broken = f.break_row_width(path, np.random.default_rng(1), rows=3)
    assert broken.kind == "bad_row_width" and len(broken.lines) == 3
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    widths = {i + 1: len(r) for i, r in enumerate(rows)}
    assert {line for line, w in widths.items() if w != 3} == set(broken.lines)
    with pytest.raises(pa.ArrowInvalid):
        pacsv.read_csv(path)
    (tmp_path / "again").mkdir()
    again = _clean_csv(tmp_path / "again")
    assert f.break_row_width(again, np.random.default_rng(1), rows=3).lines == broken.lines


@pytest.mark.parametrize("encoding", ["utf-8", "gbk", "gb18030"])
def test_invalid_bytes_in_declared_encoding(tmp_path: Path, encoding: f.CsvEncoding) -> None:
    path = _clean_csv(tmp_path, encoding)
    broken = f.inject_invalid_bytes(path, np.random.default_rng(2), rows=2)
    assert broken.kind == "invalid_bytes" and len(broken.lines) == 2
    lines = path.read_bytes().split(b"\n")
    for number, line in enumerate(lines, start=1):
        if number in broken.lines:
            with pytest.raises(UnicodeDecodeError):
                line.decode(encoding)
        else:
            line.decode(encoding)


def test_xlsx_writes_aware_timestamps_as_local_time(tmp_path: Path) -> None:
    stamp = pa.array([dt.datetime(2024, 1, 1, 0, 30)], pa.timestamp("s", tz="UTC"))
    table = pa.table({"t": stamp.cast(pa.timestamp("s", tz="Asia/Shanghai"))})
    f.write_xlsx(tmp_path / "t.xlsx", [f.Sheet("s", table)])
    assert openpyxl.load_workbook(tmp_path / "t.xlsx")["s"]["A2"].value == dt.datetime(
        2024, 1, 1, 8, 30
    )


def test_sqlite_inserts_a_slice_at_a_time_with_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 1_000
    table = pa.table({"i": np.arange(n), "s": pa.array([f"行{i}" for i in range(n)])})
    whole = f.write_sqlite(tmp_path / "whole.db", "t", table)
    from citybrain.sim.formats import sqlite as sqlite_format

    monkeypatch.setattr(sqlite_format, "_SLICE_ROWS", 7)
    sliced = f.write_sqlite(tmp_path / "sliced.db", "t", table)
    assert whole == sliced == n
    assert (tmp_path / "whole.db").read_bytes() == (tmp_path / "sliced.db").read_bytes()
    con = sqlite3.connect(tmp_path / "sliced.db")
    try:
        got = con.execute("select i, s from t order by rowid").fetchall()
    finally:
        con.close()
    assert got == [(i, f"行{i}") for i in range(n)]
