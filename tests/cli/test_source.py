"""`citybrain source new` and `source check` as a data engineer meets them: three exports shaped
like real departments' (written here, by hand), connected with the drafted contracts and the
keys in docs/contracts.md only; every row lands and times land in Beijing time."""

from __future__ import annotations

import gzip
import random
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from cli.runner import run_cli

GPS_ROWS = 3000
AIR_DAYS = 5
STATIONS = ("Dongsi", "Tiantan", "Guanyuan")
COMPANIES = 400


def gps_export(folder: Path) -> tuple[Path, list[datetime]]:
    """A taxi company's daily GPS export: GBK, tab-separated, gzip, a .txt.gz name, times in GMT."""
    rng = random.Random(7)
    start = datetime(2024, 2, 29, 15, 0, 0)  # GMT: 23:00 in Beijing, the day before March 1st
    header = "车牌号码\tGPS时间\t经度\t纬度\t速度\t方向\t状态"
    lines, times = [header], []
    for i in range(GPS_ROWS):
        at = start + timedelta(seconds=30 * i)
        times.append(at)
        plate = f"川A{rng.choice('DF')}{rng.randint(1000, 9999)}"
        lon, lat = 104.0 + rng.random() * 0.2, 30.55 + rng.random() * 0.15
        state = rng.choice(["重车", "空车", "停运"])
        lines.append(f"{plate}\t{at:%Y-%m-%d %H:%M:%S}\t{lon:.6f}\t{lat:.6f}\t"
                     f"{rng.random() * 60:.1f}\t{rng.randint(0, 359)}\t{state}")  # fmt: skip
    path = folder / "taxi_gps_20240301.txt.gz"
    path.write_bytes(gzip.compress(("\r\n".join(lines) + "\r\n").encode("gbk")))
    return path, times


def air_export(folder: Path) -> Path:
    """An hourly air-quality export: NA for a missing reading, the time over four columns."""
    rng = random.Random(8)
    lines = ["No,year,month,day,hour,PM2.5,PM10,SO2,NO2,O3,CO,station"]
    n = 0
    for day in range(1, AIR_DAYS + 1):
        for hour in range(24):
            for station in STATIONS:
                n += 1
                pm = "NA" if n % 13 == 0 else str(rng.randint(3, 400))
                o3 = "NA" if n % 5 == 0 else f"{rng.random() * 200:.1f}"
                lines.append(f"{n},2013,3,{day},{hour},{pm},{rng.randint(5, 500)},"
                             f"{rng.randint(1, 80)},{rng.randint(5, 150)},{o3},"
                             f"{rng.randint(100, 4000)},{station}")  # fmt: skip
    path = folder / "PRSA_Data_2013_hourly.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def company_export(folder: Path) -> Path:
    """A market-regulation list: UTF-8 with BOM, free-text addresses written many ways, empties."""
    addresses = [
        "成都市高新区天府大道北段1700号",
        "高新区益州大道中段555号星辰国际大厦B座12楼1203",
        "四川省成都市武侯区人民南路四段12号附1号",
        "天府软件园E区3栋",
        "",
        "成都高新区 府城大道西段399号天府新谷10号楼",
    ]
    lines = ["企业名称,统一社会信用代码,法定代表人,成立日期,注册资本(万元),住所,经营范围,联系电话"]
    for i in range(COMPANIES):
        capital = "" if i % 9 == 0 else f"{(i + 1) * 50}"
        founded = "" if i % 11 == 0 else f"{2010 + i % 14}/{i % 12 + 1}/{i % 28 + 1}"
        phone = "" if i % 3 == 0 else f"028-8{i:07d}"
        address = addresses[i % len(addresses)]
        lines.append(f"成都天府第{i}科技有限公司,91510100MA6C{i:06d},"
                     f"{'张王李赵'[i % 4]}某{i},{founded},{capital},{address},"
                     f"\"软件开发；技术服务, 技术咨询\",{phone}")  # fmt: skip
    path = folder / "企业名录.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def _raw(ws: Path, system: str, select: str) -> list[tuple[object, ...]]:
    glob = ws / "raw" / system / "load_id=*" / "*.parquet"
    return duckdb.sql(f"SELECT {select} FROM read_parquet('{glob}')").fetchall()


def test_three_real_shaped_exports_connect_with_source_new_and_the_docs_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    gps, gps_times = gps_export(exports)
    air = air_export(exports)
    companies = company_export(exports)
    ws = tmp_path / "ws"
    code, _, err = run_cli(["workspace", "init", str(ws)], capsys)
    assert code == 0, err
    assert (ws / "sources").is_dir()  # created without --sim

    for name, sample in (("taxi_gps", gps), ("air_quality", air), ("companies", companies)):
        code, out, err = run_cli(["source", "new", name, "--from", str(sample), "-w", str(ws)],
                                 capsys)  # fmt: skip
        assert code == 0, err
        assert f"drafted {ws / 'sources' / name}.yaml" in out
    contracts = ws / "sources"
    assert (contracts / "source-contract.schema.json").is_file()
    gps_yaml = (contracts / "taxi_gps.yaml").read_text(encoding="utf-8")
    assert gps_yaml.startswith("# yaml-language-server: $schema=source-contract.schema.json")
    assert "standard: vehicle_ping" in gps_yaml and 'delimiter: "\\t"' in gps_yaml
    assert "状态" in gps_yaml  # listed as not mapped
    air_yaml = (contracts / "air_quality.yaml").read_text(encoding="utf-8")
    assert "combine: {year: year, month: month, day: day, hour: hour}" in air_yaml
    assert '"NA"' in air_yaml  # the export's null marker was found
    company_yaml = (contracts / "companies.yaml").read_text(encoding="utf-8")
    assert "standard: enterprise_registration" in company_yaml

    # as drafted, the unmapped columns stop the check, one line each
    code, out, _ = run_cli(["-w", str(ws), "source", "check"], capsys)
    assert code == 1
    unmapped = [line for line in out.splitlines() if "will not be kept" in line]
    assert any("'状态'" in line for line in unmapped)
    assert any("'经营范围'" in line for line in unmapped)

    # the engineer's edits, with keys from docs/contracts.md only
    docs = (Path(__file__).parents[2] / "docs" / "contracts.md").read_text(encoding="utf-8")
    for key in ("source_offset", "keep_unmapped", "ignore", "null_values", "combine"):
        assert f"`{key}`" in docs
    gps_yaml = gps_yaml.replace("# source_offset: '+00:00'", "source_offset: '+00:00'")
    gps_yaml = gps_yaml.replace("  columns:\n", "  ignore: [状态]\n  columns:\n", 1)
    (contracts / "taxi_gps.yaml").write_text(gps_yaml, encoding="utf-8")
    company_yaml = company_yaml.replace("  columns:\n", "  keep_unmapped: true\n  columns:\n", 1)
    (contracts / "companies.yaml").write_text(company_yaml, encoding="utf-8")

    code, out, _ = run_cli(["-w", str(ws), "source", "check"], capsys)
    assert code == 0, out
    assert out.count("ok ") == 3

    code, out, err = run_cli(["-w", str(ws), "ingest", "--all"], capsys)
    assert code == 0, out + err
    for system, rows in (("taxi_gps", GPS_ROWS), ("air_quality", AIR_DAYS * 24 * len(STATIONS)),
                         ("companies", COMPANIES)):  # fmt: skip
        [(landed,)] = _raw(ws, system, "count(*)")
        assert landed == rows, system
        assert not (ws / "quarantine" / system).exists() or not list(
            (ws / "quarantine" / system).rglob("*.parquet")
        )

    # GMT text times land as Beijing time: eight hours later
    landed_ts = sorted(t for (t,) in _raw(ws, "taxi_gps", "ts"))
    assert landed_ts == [t + timedelta(hours=8) for t in gps_times]
    assert landed_ts[0] == datetime(2024, 2, 29, 23, 0, 0)
    # the hourly readings' time is built from year/month/day/hour; NA readings are null
    observed = _raw(ws, "air_quality", "min(observed_at), max(observed_at), count(observed_at)")
    assert observed == [(datetime(2013, 3, 1, 0), datetime(2013, 3, AIR_DAYS, 23),
                         AIR_DAYS * 24 * len(STATIONS))]  # fmt: skip
    [(na_pm25,)] = _raw(ws, "air_quality", "count(*) FILTER (WHERE pm25 IS NULL)")
    assert na_pm25 == AIR_DAYS * 24 * len(STATIONS) // 13
    # free-text addresses land as written; empty ones are null, not ""; kept columns are there
    rows = _raw(ws, "companies", "address, 经营范围")
    assert sum(1 for a, _ in rows if a is None) == COMPANIES // 6 + (COMPANIES % 6 > 4)
    assert all(a is None or a.strip() for a, _ in rows)
    assert {scope for _, scope in rows} == {"软件开发；技术服务, 技术咨询"}


def _contract(folder: Path, body: str) -> Path:
    path = folder / "water.yaml"
    path.write_text(
        "id: water\nname: 自来水\nowner: 水务集团\nconnector: {kind: csv, path: water.csv}\n"
        + body,
        encoding="utf-8",
    )
    return path


def test_source_check_fails_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _contract(tmp_path, "mapping:\n  columns:\n    - {source: 户号, target: account_id}\n")
    code, out, _ = run_cli(["source", "check", str(path)], capsys)
    assert code == 1
    [line] = [line for line in out.splitlines() if line.startswith("✗")]
    assert "no file matches" in line and "water.csv" in line
    assert f"{path}:4: connector.path:" in line  # file, line and key

    (tmp_path / "water.csv").write_text("户号,用水量,备注\nA1,12.5,x\nA2,3,\n", encoding="utf-8")
    body = (
        "mapping:\n  columns:\n    - {source: 户号, target: account_id}\n"
        "    - {source: 用水量(吨), target: volume, type: float64}\n"
    )
    code, out, _ = run_cli(["source", "check", str(_contract(tmp_path, body))], capsys)
    assert code == 1
    problems = [line for line in out.splitlines() if line.startswith("✗")]
    assert len(problems) == 3, out
    assert any("'用水量(吨)' is not in water.csv" in line for line in problems)
    assert any(":8: mapping.columns[1].source:" in line for line in problems)
    assert any("'用水量' of water.csv will not be kept" in line for line in problems)
    assert any("'备注' of water.csv will not be kept" in line for line in problems)

    body = (
        "mapping:\n  ignore: [备注]\n  columns:\n    - {source: 户号, target: account_id}\n"
        "    - {source: 用水量, target: volume, type: date, formats: ['%Y-%m']}\n"
    )
    code, out, _ = run_cli(["source", "check", str(_contract(tmp_path, body))], capsys)
    assert code == 1
    [line] = [line for line in out.splitlines() if line.startswith("✗")]
    assert "用水量 → volume: 2 of 2 sample rows fail (bad_date:用水量)" in line
    assert "row 1: '12.5'" in line


def test_source_check_prints_patterns_verbatim(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "id: Water-Utility\nname: 自来水\nowner: 水务\nconnector: {kind: csv, path: a.csv}\n",
        encoding="utf-8",
    )
    code, out, _ = run_cli(["source", "check", str(path)], capsys)
    assert code == 1
    assert "^[a-z][a-z0-9_]{1,62}$" in out
    assert "'Water-Utility'" in out
    assert len([line for line in out.splitlines() if line.startswith("✗")]) == 1


def test_source_new_refuses_a_bad_name_and_an_existing_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    assert run_cli(["workspace", "init", str(ws)], capsys)[0] == 0
    sample = air_export(tmp_path)
    code, _, err = run_cli(["-w", str(ws), "source", "new", "Air", "--from", str(sample)], capsys)
    assert code == 2 and "not a system id" in err and len(err.strip().splitlines()) == 1
    assert run_cli(["-w", str(ws), "source", "new", "air", "--from", str(sample)], capsys)[0] == 0
    code, _, err = run_cli(["-w", str(ws), "source", "new", "air", "--from", str(sample)], capsys)
    assert code == 2 and "exists" in err
    code, _, err = run_cli(
        ["-w", str(ws), "source", "new", "air2", "--from", str(tmp_path / "nope.csv")], capsys
    )
    assert code == 2 and "no such file" in err


@pytest.mark.parametrize("command", [["source", "new"], ["source", "guide"], ["source", "check"]])
def test_source_commands_have_an_example_in_their_help(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli([*command, "--help"], capsys)
    assert code == 0
    assert "Example: citybrain" in out
