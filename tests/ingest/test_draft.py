"""source new's draft: file kind, column profiles, names in Chinese / English / pinyin, shapes."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from citybrain.core.errors import UserError
from citybrain.core.stdmodel import STD_TABLES
from citybrain.ingest.check import check_text
from citybrain.ingest.draft import Draft, draft_contract, file_kind, name_score


@pytest.mark.parametrize(
    ("name", "kind"),
    [("a.csv", "csv"), ("gps.txt.gz", "csv"), ("x.jsonl.bz2", "jsonl"), ("d.json", "json"),
     ("t.xlsx", "xlsx"), ("p.parquet", "parquet"), ("export", "csv")],
)  # fmt: skip
def test_file_kind_under_compression(tmp_path: Path, name: str, kind: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"a\n1\n")
    assert file_kind(path) == kind


def test_names_match_in_chinese_english_and_pinyin() -> None:
    ping = STD_TABLES["vehicle_ping"]
    plate = ping.column("plate")
    for name in ("车牌号码", "HPHM", "plate_no", "车牌号"):
        assert name_score(name, plate) >= 0.8, name
    assert name_score("GPS_Lng", ping.column("lon")) >= 0.6
    enterprise = STD_TABLES["enterprise_registration"]
    assert name_score("TYSHXYDM", enterprise.column("uscc")) == 1.0
    assert name_score("备注", enterprise.column("uscc")) < 0.6


def _draft(tmp_path: Path, text: str, name: str = "sample.csv", **kw: str) -> tuple[str, Draft]:
    path = tmp_path / name
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    draft = draft_contract("sample", path, tmp_path, **kw)  # type: ignore[arg-type]
    result = check_text(draft.text, "sample.yaml")
    assert result.passed, draft.text + str(result)
    return draft.text, draft


def test_types_null_markers_and_shapes(tmp_path: Path) -> None:
    text, draft = _draft(
        tmp_path,
        "编号,户号,金额,代码,备注\n"
        "1,007123,12.5,91510100MA61234567,x\n"
        "2,007124,NA,91510100MA61234568,\n"
        "3,007125,-,91510100MA61234569,y\n",
        standard="enterprise_registration",
    )
    columns = {c["source"]: c for c in YAML(typ="safe").load(text)["mapping"]["columns"]}
    assert '"NA"' in text and '"-"' in text
    assert columns["代码"]["target"] == "uscc"  # by value shape, whatever the column is called
    assert "户号: string" in text  # leading zeros: a code, not a number
    assert "备注" in draft.unmapped


def test_unix_times_and_a_gzip_trace(tmp_path: Path) -> None:
    text, draft = _draft(
        tmp_path,
        "车牌,定位时间,经度,纬度\n川A12345,1709251200000,104.06,30.57\n"
        "川A12346,1709251260000,104.07,30.58\n",
        name="trace.csv.gz",
    )
    columns = {c["source"]: c for c in YAML(typ="safe").load(text)["mapping"]["columns"]}
    assert draft.standard == "vehicle_ping"
    assert draft.compression == "gzip"
    assert (
        columns["定位时间"] | {"target": "ts", "type": "timestamp", "epoch": "ms"}
        == (columns["定位时间"])
    )
    assert columns["定位时间"]["utc_offset"] == "+08:00"
    assert (columns["经度"]["target"], columns["纬度"]["target"]) == ("lon", "lat")
    assert columns["车牌"]["target"] == "plate"


def test_split_time_columns_become_combine(tmp_path: Path) -> None:
    text, draft = _draft(
        tmp_path,
        "年,月,日,时,站点,PM2.5\n2024,1,2,3,东四,NA\n2024,1,2,4,东四,12\n",
        standard="sensor_reading",
    )
    assert "combine: {year: 年, month: 月, day: 日, hour: 时}" in text
    assert draft.standard == "sensor_reading"


def test_bad_name_and_unknown_table(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(UserError, match="not a system id"):
        draft_contract("A-b", path, tmp_path)
    with pytest.raises(UserError, match="unknown standard table"):
        draft_contract("ab", path, tmp_path, standard="nope")


def test_json_lines_of_an_air_sensor(tmp_path: Path) -> None:
    lines = [
        f'{{"deviceId": "AQ{i % 3}", "ts": {1709251200000 + i * 60000}, "pm2_5": {i}}}'
        for i in range(20)
    ]
    _, draft = _draft(tmp_path, "\n".join(lines) + "\n", name="air.jsonl.gz")
    assert draft.kind == "jsonl" and draft.compression == "gzip"
    assert draft.standard == "sensor_reading"
    assert draft.mapped == {"deviceId": "sensor_id", "ts": "observed_at", "pm2_5": "pm25"}
    # "id" inside "deviceid" is no match for a record key: only names of three or more letters
    # (or two Chinese characters) count when one name holds the other
    assert name_score("deviceId", STD_TABLES["vehicle_ping"].column("ping_id")) < 0.6
    assert name_score("注册住所", STD_TABLES["enterprise_registration"].column("address")) >= 0.8


def test_title_rows_are_skipped_and_a_headerless_file_says_so(tmp_path: Path) -> None:
    text, draft = _draft(
        tmp_path,
        "高新区企业名录（2024年3月）\n企业名称,统一社会信用代码,住所\n"
        "公司1,91510100MA6C000001,高新区天府大道\n公司2,91510100MA6C000002,高新区益州大道\n",
        name="titled.csv",
    )
    assert "skip_rows: 1" in text
    assert draft.mapped == {"企业名称": "name", "统一社会信用代码": "uscc", "住所": "address"}
    text, draft = _draft(
        tmp_path, "A1,2024-01-01 08:00:00,12.5\nA2,2024-01-01 09:00:00,13\n", name="bare.csv"
    )
    assert "header: false" in text and "column_names: [column_1, column_2, column_3]" in text
    assert draft.mapped == {}  # 12.5 alone is no latitude: lon/lat shapes count only as a pair
    assert "columns: []" in text


def test_a_header_one_field_short_is_not_a_title(tmp_path: Path) -> None:
    text, _ = _draft(tmp_path, "a,b,c\n1,2,3,\n4,5,6,\n7,8,9,\n", name="trailing.csv")
    assert "skip_rows" not in text


def test_gps_logger_and_taxi_traces_as_delivered(tmp_path: Path) -> None:
    """A GPS logger's .plt (six preamble lines, then lat, lon, date and time apart) and a taxi
    company's headerless trace (id, time, lon, lat): both become vehicle pings with their time."""
    preamble = "Geolife trajectory\nWGS 84\nAltitude is in Feet\nReserved 3\n"
    preamble += "0,2,255,My Track,0,0,2,8421376\n0\n"
    rows = "".join(
        f"39.98{i:04d},116.31{i:04d},0,492,39744.12{i:04d},2008-10-23,02:53:{i % 60:02d}\n"
        for i in range(20)
    )
    text, draft = _draft(tmp_path, preamble + rows, name="20081023025304.plt")
    assert "skip_rows: 6" in text and "header: false" in text
    assert draft.standard == "vehicle_ping"
    assert "combine: {date: column_6, time: column_7}" in text
    assert 'formats: ["%Y-%m-%d %H:%M:%S"]' in text
    assert draft.mapped == {"column_1": "lat", "column_2": "lon"}
    trace = "".join(
        f"{i % 3 + 1},2008-02-02 15:{i:02d}:08,116.5{i:03d},39.9{i:03d}\n" for i in range(30)
    )
    _, draft = _draft(tmp_path, trace, name="tdrive.txt")
    assert draft.standard == "vehicle_ping"
    assert draft.mapped == {"column_2": "ts", "column_3": "lon", "column_4": "lat"}
