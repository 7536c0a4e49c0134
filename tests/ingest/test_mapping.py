"""Mapping: renames, casts, code lists, date formats, units and checks, vectorised."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pyarrow as pa

from citybrain.ingest.connectors.base import with_positions
from citybrain.ingest.contract import Mapping
from citybrain.ingest.mapping import apply_plan, detect_drift, plan_mapping


def run(
    columns: list[dict[str, Any]], data: dict[str, list[Any]], **kw: Any
) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    mapping = Mapping.model_validate({"columns": columns})
    table = pa.table({k: pa.array(v, pa.string()) for k, v in data.items()})
    n = table.num_rows
    chunk = with_positions(table, pa.array(range(1, n + 1), pa.int64()), None)
    plan = plan_mapping(mapping, {f.name: f.type for f in table.schema}, load_id="L", **kw)
    out = apply_plan(plan, chunk)
    bad = out.quarantined
    reasons = list(
        zip(bad.column("__cb_row").to_pylist(), bad.column("__cb_reason").to_pylist(), strict=True)
    )
    assert out.landed.num_rows + bad.num_rows == n
    return out.landed.to_pylist(), reasons


def test_numbers_units_and_thousands() -> None:
    landed, bad = run(
        [
            {
                "source": "金额",
                "target": "amount_yuan",
                "type": "float64",
                "unit": {"from": "万元", "to": "元"},
                "thousands": ",",
            },
            {"source": "户数", "target": "households", "type": "int64", "min": 0, "max": 1000},
        ],
        {"金额": ["1,234.5", "2", "x", " 3 "], "户数": ["12", "7.0", "1", "-1"]},
    )
    assert [r["amount_yuan"] for r in landed] == [12_345_000.0, 20_000.0]
    assert [r["households"] for r in landed] == [12, 7]
    assert bad == [(3, "bad_number:金额"), (4, "out_of_range:户数")]


def test_codes_bool_pattern_and_required() -> None:
    landed, bad = run(
        [
            {
                "source": "性别",
                "target": "sex",
                "codes": {"1": "male", "2": "female"},
                "on_unknown_code": "null",
            },
            {
                "source": "状态",
                "target": "status",
                "codes": {"A": "active"},
                "on_unknown_code": "keep",
            },
            {"source": "是否", "target": "flag", "type": "bool"},
            {"source": "电话", "target": "phone", "pattern": r"1\d{10}", "required": True},
        ],
        {
            "性别": ["1", "9", "2", "1"],
            "状态": ["A", "Z", "A", "A"],
            "是否": ["是", "否", "maybe", "1"],
            "电话": ["13800000000", "13900000000", "13700000000", "12345"],
        },
    )
    assert landed[0]["sex"] == "male" and landed[0]["sex__src"] == "1" and landed[0]["flag"] is True
    assert landed[1]["sex"] is None and landed[1]["status"] == "Z" and landed[1]["flag"] is False
    assert bad == [(3, "bad_bool:是否"), (4, "bad_format:电话")]


def test_dates_try_formats_then_iso_and_keep_the_text() -> None:
    landed, bad = run(
        [
            {
                "source": "日期",
                "target": "day",
                "type": "date",
                "formats": ["%Y年%m月%d日", "%Y%m%d"],
            },
            {"source": "时间", "target": "at", "type": "timestamp", "formats": ["%Y/%m/%d %H:%M"]},
        ],
        {
            "日期": ["2024年3月5日", "20240306", "2024-03-07", "2024-02-30", ""],
            "时间": [
                "2024/03/05 08:30",
                "2024-03-06 09:00:00",
                "2024-03-07T10:00:00",
                None,
                "NULL",
            ],
        },
    )
    assert [r["day"] for r in landed] == [
        date(2024, 3, 5),
        date(2024, 3, 6),
        date(2024, 3, 7),
        None,
    ]
    assert landed[0]["day__src"] == "2024年3月5日"
    assert landed[1]["at"] == datetime(2024, 3, 6, 9, 0)
    assert bad == [(4, "bad_date:日期")]


def test_keys_must_be_present_and_connector_reasons_come_first() -> None:
    mapping = Mapping.model_validate({"columns": [{"source": "户号", "target": "account_no"}]})
    table = pa.table({"户号": ["A1", "", "A3"]})
    reasons = pa.array([None, None, "undecodable_bytes"], pa.string())
    chunk = with_positions(table, pa.array([1, 2, 3], pa.int64()), None, reasons)
    plan = plan_mapping(mapping, {"户号": pa.string()}, keys=["account_no"])
    out = apply_plan(plan, chunk)
    assert out.quarantined.column("__cb_reason").to_pylist() == [
        "missing_key:户号",
        "undecodable_bytes",
    ]
    assert "key" in plan.describe()


def test_drift_detection() -> None:
    mapping = Mapping.model_validate(
        {
            "columns": [{"source": "a", "target": "a"}, {"source": "b", "target": "b"}],
            "ignore": ["c"],
        }
    )
    assert not detect_drift(mapping, ["a", "b", "c"], fixed=True).found
    drift = detect_drift(mapping, ["a", "d"], fixed=True)
    assert drift.unknown == ("d",) and drift.missing == ("b",)
    assert detect_drift(mapping, ["a"], fixed=False).missing == ()


def test_without_mapping_everything_lands_as_delivered() -> None:
    table = pa.table({"甲": ["1"], "乙": ["x"]})
    chunk = with_positions(table, pa.array([1], pa.int64()), None)
    plan = plan_mapping(Mapping(), {f.name: f.type for f in table.schema})
    out = apply_plan(plan, chunk)
    assert out.landed.column_names == ["甲", "乙", "_load_id", "_row"]


def test_impossible_dates_are_not_rolled_over() -> None:
    landed, bad = run(
        [{"source": "日期", "target": "day", "type": "date", "formats": ["%Y/%m/%d"]}],
        {
            "日期": [
                "2024/02/29",
                "2023/02/29",
                "2024/04/31",
                "2024/3/1",
                "2024/03/03",
                "2024-02-31",
            ]
        },
    )
    assert [r["day"] for r in landed] == [date(2024, 2, 29), date(2024, 3, 1), date(2024, 3, 3)]
    assert [row for row, _ in bad] == [2, 3, 6]
