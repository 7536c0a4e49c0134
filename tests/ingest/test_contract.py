from __future__ import annotations

import json
from pathlib import Path

import pytest

from citybrain.ingest import (
    SCHEMA_PATH,
    ContractError,
    check_contract,
    check_text,
    contract_json_schema,
    load_contract,
)
from citybrain.ingest.schema import render_contract_schema

GOOD = """\
id: water_billing
name: 自来水营业收费系统
owner: 市水务集团
connector:
  kind: csv
  path: water/*.csv
  encoding: gbk
mapping:
  columns:
    - {source: 户号, target: account_no, required: true}
    - {source: 收费日期, target: charge_date, type: date, formats: ['%Y/%m/%d']}
    - {source: 金额, target: amount_yuan, type: float64, unit: {from: 万元, to: 元}}
keys: [account_no]
pii: [{column: account_no, kind: other, sensitivity: medium}]
refresh: {mode: incremental, watermark: charge_date, schedule: daily}
drift: quarantine
"""

BAD = """\
id: Water-Billing
name: 自来水营业收费系统
connector:
  kind: csv
  path: water.csv
  delimitter: ";"
mapping:
  columns:
    - {source: 户号, target: account_no}
    - source: 收费日期
      target: charge_date
      type: datetime
keys: [account_no]
drift: ignore
password: hunter2
"""


def test_a_good_contract_loads(tmp_path: Path) -> None:
    path = tmp_path / "water.yaml"
    path.write_text(GOOD, encoding="utf-8")
    result = check_contract(path)
    assert result.passed, str(result)
    contract = load_contract(path)
    assert contract.connector.kind == "csv"
    assert contract.origin == path.resolve()
    assert contract.mapping.columns[2].unit is not None


def test_every_problem_is_reported_with_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    result = check_contract(path)
    assert not result.passed
    found = {(p.line, p.key) for p in result.problems}
    assert (1, "id") in found  # pattern
    assert (None, "owner") in found or any(p.key == "owner" for p in result.problems)  # missing
    assert (6, "connector.delimitter") in found  # unknown key inside the csv connector
    assert (12, "mapping.columns[1].type") in found
    assert (14, "drift") in found
    assert (15, "password") in found  # a secret in the file
    assert all(p.file == str(path) for p in result.problems)
    assert len(result.rows()) == len(result.problems) >= 6


def test_cross_field_problems_name_their_line() -> None:
    text = GOOD.replace("keys: [account_no]", "keys: [acount_no]").replace(
        "watermark: charge_date", "watermark: nowhere"
    )
    result = check_text(text, "water.yaml")
    messages = {(p.line, p.key): p.message for p in result.problems}
    assert "not a mapped target column" in messages[(13, "keys[0]")]
    assert (15, "refresh.watermark") in messages


def test_yaml_syntax_error_has_a_line() -> None:
    result = check_text("id: a\nname: [unclosed\nowner: x\n", "x.yaml")
    assert len(result.problems) == 1
    assert result.problems[0].line is not None
    assert "YAML" in result.problems[0].message


def test_url_with_password_is_refused() -> None:
    text = GOOD.replace(
        "  kind: csv\n  path: water/*.csv\n  encoding: gbk\n",
        "  kind: sql\n  url: postgresql://app:s3cret@db/water\n  table: bills\n",
    )
    result = check_text(text, "x.yaml")
    assert any("password_env" in p.message for p in result.problems)


def test_load_contract_raises_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert str(path) in str(info.value) and "more problem" in str(info.value)


def test_all_connector_kinds_validate() -> None:
    for connector in (
        "kind: xlsx\n  path: a.xlsx\n  sheet: 收费\n  header_row: auto",
        "kind: jsonl\n  path: a.jsonl",
        "kind: json\n  path: a.json\n  records_path: data.items",
        "kind: parquet\n  path: a.parquet",
        "kind: sql\n  url: sqlite:///a.db\n  table: t\n  password_env: DB_PASSWORD",
        "kind: http\n  url: http://x/api\n  auth_header_env: WATER_TOKEN\n"
        "  watermark_param: updated_since",
        "kind: mqtt\n  topic: city/air/#",
        "kind: push\n  token_env: PUSH_TOKEN",
        "kind: ngsi_ld\n  url: http://broker\n  entity_type: AirQualityObserved",
    ):
        text = GOOD.replace("  kind: csv\n  path: water/*.csv\n  encoding: gbk", "  " + connector)
        result = check_text(text, "x.yaml")
        assert result.passed, str(result)


def test_committed_json_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_contract_schema(), (
        "run: uv run python -c 'from citybrain.ingest import write_contract_schema as w; w()'"
    )
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema == json.loads(json.dumps(contract_json_schema()))
    assert "connector" in schema["properties"]


def test_the_shipped_example_contract_passes() -> None:
    from citybrain.ingest.schema import EXAMPLE_PATH

    result = check_contract(EXAMPLE_PATH)
    assert result.passed, str(result)
    assert result.contract is not None and len(result.contract.pii) == 3


def test_field_and_cross_field_problems_are_reported_together() -> None:
    text = GOOD.replace("type: float64", "type: floot").replace(
        "keys: [account_no]", "keys: [nope]"
    )
    result = check_text(text, "water.yaml")
    keys = {p.key for p in result.problems}
    assert {"mapping.columns[2].type", "keys[0]"} <= keys


NEW_OPTIONS = """\
id: options
name: 新选项
owner: 数据局
connector: {kind: csv, path: x.csv}
mapping:
  columns:
    - {source: a, target: a, type: int64, epoch: s}
    - {source: b, target: b, type: date, formats: ['%m月%d日']}
    - {source: c, target: lon, type: float64, part: {sep: ',', index: 2, count: 2}}
    - {source: [d, d2], target: d, type: timestamp, epoch: ms, formats: ['%Y']}
    - {source: e, target: e, type: timestamp, utc_offset: '+08:00'}
  from_filename: {pattern: '(.+)_第'}
  coords: [{lon: lon, lat: lat, from: gcj02}]
"""


def test_new_mapping_options_report_line_and_key() -> None:
    result = check_text(NEW_OPTIONS)
    messages = {(p.line, p.key): p.message for p in result.problems}
    assert "epoch applies only" in messages[(7, "mapping.columns[0].epoch")]
    assert "default_year or year_from" in messages[(8, "mapping.columns[1].formats")]
    assert "1900" in messages[(8, "mapping.columns[1].formats")]
    assert "part.index" in messages[(9, "mapping.columns[2].part")]
    assert "either epoch or formats" in messages[(10, "mapping.columns[3].formats")]
    assert "needs source_offset" in messages[(11, "mapping.columns[4].utc_offset")]
    assert "name each value's group" in messages[(12, "mapping.from_filename.pattern")]
    coords = GOOD.replace(
        "keys: [account_no]",
        "  coords: [{lon: amount_yuan, lat: lat, from: gcj02}]\nkeys: [account_no]",
    )
    problems = {(p.line, p.key): p.message for p in check_text(coords).problems}
    assert "'lat' is not a mapped float64" in problems[(13, "mapping.coords")]


def test_new_mapping_options_load() -> None:
    text = (
        GOOD.replace("{source: 户号,", "{source: [户号, 户号_新],")
        .replace("formats: ['%Y/%m/%d']", "formats: ['%m/%d'], default_year: 2023")
        .replace(
            "keys: [account_no]",
            "  from_filename: {pattern: '(?P<round>\\\\d+)', types: {round: int64}}\n"
            "keys: [account_no]",
        )
    )
    result = check_text(text)
    assert result.passed, str(result)
    assert result.contract is not None
    mapping = result.contract.mapping
    assert mapping.columns[0].sources == ("户号", "户号_新")
    assert mapping.from_filename is not None and mapping.from_filename.columns() == ["round"]


API = """\
id: parking_api
name: 停车泊位接口
owner: 区交通运输局
connector:
  kind: http
  url: http://127.0.0.1:8808/api/parking
  {extra}
mapping:
  columns:
    - {{source: updated, target: updated_at, type: timestamp, formats: ['%Y-%m-%d %H:%M:%S']}}
refresh: {{mode: {mode}, watermark: updated_at}}
"""


@pytest.mark.parametrize(
    ("mode", "extra", "key", "message"),
    [
        ("incremental", "records_path: items", "connector", "needs connector.watermark_param"),
        ("full", "watermark_param: updated_since", "connector.watermark_param", "only with"),
        ("full", "params: {since: '{watermark}'}", "connector.params", "only with"),
        (
            "incremental",
            "watermark_param: since\n  params: {since: x}",
            "connector.watermark_param",
            "also set",
        ),
    ],
    ids=["incremental-without-param", "param-on-full", "template-on-full", "param-twice"],
)
def test_an_api_watermark_param_goes_with_incremental_refresh(
    mode: str, extra: str, key: str, message: str
) -> None:
    result = check_text(API.format(mode=mode, extra=extra), "parking.yaml")
    assert not result.passed
    found = {p.key: p.message for p in result.problems}
    assert message in found[key], found


@pytest.mark.parametrize("extra", ["watermark_param: updated_since", "params: {s: '{watermark}'}"])
def test_an_incremental_api_with_its_watermark_param_passes(extra: str) -> None:
    result = check_text(API.format(mode="incremental", extra=extra), "parking.yaml")
    assert result.passed, str(result)
