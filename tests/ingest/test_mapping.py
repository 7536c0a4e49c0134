"""Mapping: renames, casts, code lists, date formats, units and checks, vectorised."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from citybrain.core.errors import UserError
from citybrain.ingest.connectors.base import with_positions
from citybrain.ingest.contract import Mapping
from citybrain.ingest.coords import wgs84_to_gcj02
from citybrain.ingest.mapping import (
    _distinct,
    _may_hold,
    apply_plan,
    detect_drift,
    plan_mapping,
)


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


def test_dates_repeated_over_many_rows_land_as_each_row_would_alone() -> None:
    """A date column repeating a few days is parsed once per distinct text: the same result."""
    columns: list[dict[str, Any]] = [
        {"source": "日期", "target": "day", "type": "date",
         "formats": ["%Y年%m月%d日", "%Y/%m/%d"]},
        {"source": "时间", "target": "at", "type": "timestamp", "formats": ["%Y/%m/%d %H:%M"]},
        {"source": "月日", "target": "md", "type": "date", "default_year": 2023,
         "formats": ["%m月%d日"]},
        {"source": "月日", "target": "mdy", "type": "date", "year_from": "年度",
         "formats": ["%m月%d日"], "keep_original": False},
    ]  # fmt: skip
    data: dict[str, list[Any]] = {
        "日期": ["2024年3月5日", "2024/02/30", "2024-03-07", "2024/3/1", None, "x", "2024/02/29"],
        "时间": ["2024/03/05 08:30", "2024-03-06 09:00:00", None, "NULL", "2024/03/01 07:00",
               "2024-03-07T10:00:00", "2024/02/31 07:00"],
        "月日": ["03月03日", "2月29日", "12月31日", "3月1日", "03月03日", "1月1日", "1月2日"],
        "年度": ["2022年", "2024", "2021", "2020", "2022", "2019", "2018"],
    }  # fmt: skip
    once_landed, once_bad = run(columns, data)
    assert len(once_landed) == 4 and len(once_bad) == 3  # good rows and bad ones of each column
    times = 40
    landed, bad = run(columns, {name: values * times for name, values in data.items()})
    assert [r["_row"] for r in landed] == [
        r["_row"] + k * 7 for k in range(times) for r in once_landed
    ]
    assert [{**r, "_row": None} for r in landed] == [
        {**r, "_row": None} for r in once_landed
    ] * times
    assert bad == [(row + k * 7, reason) for k in range(times) for row, reason in once_bad]
    assert _distinct(pa.array(data["日期"] * times)) is not None  # the repeated path was taken
    unique = [f"2024-01-01 {i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}" for i in range(5000)]
    assert _distinct(pa.array(unique)) is None


def test_null_markers_among_long_values_and_none_to_look_for() -> None:
    landed, bad = run_typed(
        [{"source": "户号", "target": "account_no", "required": True},
         {"source": "地址", "target": "address"}],
        pa.table({"户号": ["W000000001", " NULL ", "W000000003"],
                  "地址": ["天府大道1号", "-", "\\N"]}),
        mapping={"null_values": ["NULL", "\\N", "-"]},
    )  # fmt: skip
    assert [(r["account_no"], r["address"]) for r in landed] == [
        ("W000000001", "天府大道1号"),
        ("W000000003", None),
    ]
    assert bad == [(2, "missing:户号")]
    assert not _may_hold(pa.array(["W000000001", "天府大道1号", None]), ["NULL", "\\N", ""])
    assert _may_hold(pa.array(["W000000001", "NA"]), ["NULL"])
    assert not _may_hold(pa.array([None, None], pa.string()), ["NULL"])


def run_typed(
    columns: list[dict[str, Any]], table: pa.Table, **kw: Any
) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    mapping = Mapping.model_validate({"columns": columns, **kw.pop("mapping", {})})
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


def test_epoch_seconds_and_milliseconds_land_as_times() -> None:
    table = pa.table(
        {
            "ts": pa.array([1672531200, 1672531201], pa.int64()),
            "ms": pa.array([1672582413708, None], pa.int64()),
            "txt": pa.array(["1672531200", "soon"]),
        }
    )
    landed, bad = run_typed(
        [
            {"source": "ts", "target": "ts", "type": "timestamp", "epoch": "s"},
            {
                "source": "ms",
                "target": "local",
                "type": "timestamp",
                "epoch": "ms",
                "utc_offset": "+08:00",
            },
            {"source": "txt", "target": "day", "type": "date", "epoch": "s"},
        ],
        table,
    )
    assert landed[0]["ts"] == datetime(2023, 1, 1, 0, 0, 0)
    assert landed[0]["local"] == datetime(2023, 1, 1, 22, 13, 33, 708000)
    assert landed[0]["day"] == date(2023, 1, 1)
    assert bad == [(2, "bad_date:txt")]


def test_a_number_mapped_to_a_time_without_epoch_is_refused() -> None:
    mapping = Mapping.model_validate(
        {"columns": [{"source": "ts", "target": "ts", "type": "timestamp"}]}
    )
    with pytest.raises(UserError, match=r"mapping\.columns\[0\].*1970") as caught:
        plan_mapping(mapping, {"ts": pa.int64()})
    assert "epoch" in str(caught.value)


def test_a_delimited_value_splits_into_columns() -> None:
    landed, bad = run(
        [
            {
                "source": "location",
                "target": "lon",
                "type": "float64",
                "part": {"sep": ",", "index": 0, "count": 2},
            },
            {
                "source": "location",
                "target": "lat",
                "type": "float64",
                "part": {"sep": ",", "index": 1, "count": 2},
            },
        ],
        {"location": ["104.06,30.61", "104.1", "a,30", "1,2,3", None, " 104.5 , 30.5 "]},
    )
    assert [(r["lon"], r["lat"]) for r in landed] == [(104.06, 30.61), (None, None), (104.5, 30.5)]
    assert bad == [(2, "bad_split:location"), (3, "bad_number:location"), (4, "bad_split:location")]


def test_dates_without_a_year_take_the_named_year() -> None:
    landed, bad = run(
        [
            {
                "source": "日期",
                "target": "d",
                "type": "date",
                "default_year": 2023,
                "formats": ["%m月%d日"],
            },
            {
                "source": "日期",
                "target": "e",
                "type": "date",
                "year_from": "年度",
                "formats": ["%m月%d日"],
                "keep_original": False,
            },
        ],
        {"日期": ["03月03日", "2月30日", "12月31日"], "年度": ["2022年", "2024", None]},
    )
    assert [(r["d"], r["e"]) for r in landed] == [(date(2023, 3, 3), date(2022, 3, 3))]
    assert bad == [(2, "bad_date:日期"), (3, "bad_date:日期")]


def test_periods_are_written_year_dash_month() -> None:
    landed, bad = run(
        [{"source": "SSQ", "target": "period", "type": "period"}],
        {"SSQ": ["202301", "2023年1月", "2023-1", "2023/12", "202313", "2023年", None]},
    )
    assert [r["period"] for r in landed] == ["2023-01"] * 3 + ["2023-12", None]
    assert bad == [(5, "bad_period:SSQ"), (6, "bad_period:SSQ")]
    numbers, _ = run_typed(
        [{"source": "SSQ", "target": "period", "type": "period"}],
        pa.table({"SSQ": pa.array([202302], pa.int64())}),
    )
    assert numbers[0]["period"] == "2023-02"


def test_a_renamed_column_lands_in_one_target() -> None:
    columns = [{"source": ["YSL", "YSL_M3"], "target": "usage", "type": "float64"}]
    old, _ = run(columns, {"YSL": ["1.5"]})
    new, _ = run(columns, {"YSL_M3": ["2.5"]})
    both, _ = run(columns, {"YSL": ["1", None], "YSL_M3": ["9", "3"]})
    assert [r["usage"] for r in old + new + both] == [1.5, 2.5, 1.0, 3.0]
    mapping = Mapping.model_validate({"columns": columns})
    assert not detect_drift(mapping, ["YSL_M3"], fixed=True).found
    assert detect_drift(mapping, ["other"], fixed=True).missing == ("YSL",)


def test_values_from_the_file_name() -> None:
    spec = {
        "from_filename": {
            "pattern": r"(?P<community>.+?)_第(?P<round>\d+)轮",
            "types": {"round": "int64"},
        }
    }
    columns = [{"source": "a", "target": "a"}]
    table = pa.table({"a": pa.array(["x", "y"])})
    landed, bad = run_typed(columns, table, mapping=spec, source_file="/in/和平社区_第1轮排查.xlsx")
    assert [(r["community"], r["round"]) for r in landed] == [("和平社区", 1)] * 2
    assert bad == []
    landed, bad = run_typed(columns, table, mapping=spec, source_file="/in/汇总.xlsx")
    assert landed == [] and bad == [(1, "bad_filename"), (2, "bad_filename")]


def test_gcj02_coordinates_land_as_wgs84() -> None:
    lon, lat = wgs84_to_gcj02(np.array([104.063902, 116.391275]), np.array([30.610371, 39.906217]))
    landed, _ = run_typed(
        [
            {"source": "lng", "target": "lon", "type": "float64"},
            {"source": "lat", "target": "lat", "type": "float64"},
        ],
        pa.table({"lng": pa.array([*lon, None]), "lat": pa.array([*lat, None])}),
        mapping={"coords": [{"lon": "lon", "lat": "lat", "from": "gcj02"}]},
    )
    assert abs(landed[0]["lon"] - 104.063902) < 1e-5 and abs(landed[0]["lat"] - 30.610371) < 1e-5
    assert abs(landed[1]["lon"] - 116.391275) < 1e-5 and abs(landed[1]["lat"] - 39.906217) < 1e-5
    assert landed[2]["lon"] is None and landed[2]["lat"] is None


@pytest.mark.parametrize("bad_every", [997, 2], ids=["few-bad-sliced", "many-bad-filtered"])
def test_landed_rows_are_the_good_ones_in_order_however_many_are_bad(bad_every: int) -> None:
    n = 5_000
    values = [str(i) if i % bad_every else f"x{i}" for i in range(n)]
    landed, bad = run([{"source": "n", "target": "n", "type": "int64"}], {"n": values})
    assert [r["n"] for r in landed] == [i for i in range(n) if i % bad_every]
    assert [r["_row"] for r in landed] == [i + 1 for i in range(n) if i % bad_every]
    assert [row for row, _ in bad] == [i + 1 for i in range(n) if not i % bad_every]


def test_numbers_that_cast_as_delivered_and_null_markers_that_look_like_numbers() -> None:
    columns = [{"source": "量", "target": "volume", "type": "float64", "min": 0}]
    clean, bad = run(columns, {"量": ["1.5", "2", "1e3"]})
    assert [r["volume"] for r in clean] == [1.5, 2.0, 1000.0] and bad == []
    mapping = Mapping.model_validate({"columns": columns, "null_values": ["", "-1"]})
    table = pa.table({"量": pa.array(["1.5", "-1", "2"], pa.string())})  # all would cast
    chunk = with_positions(table, pa.array([1, 2, 3], pa.int64()), None)
    plan = plan_mapping(mapping, {"量": pa.string()}, load_id="L")
    out = apply_plan(plan, chunk)
    # "-1" is a null marker here, not a number out of range
    assert out.landed.column("volume").to_pylist() == [1.5, None, 2.0]
    assert out.quarantined.num_rows == 0


def test_text_times_in_gmt_land_in_beijing_time() -> None:
    landed, bad = run(
        [
            {
                "source": "gps_time",
                "target": "ts",
                "type": "timestamp",
                "formats": ["%Y-%m-%d %H:%M:%S"],
                "source_offset": "GMT",
            },
            {
                "source": "t2",
                "target": "t2",
                "type": "timestamp",
                "source_offset": "+05:30",
                "utc_offset": "+00:00",
            },
        ],
        {
            "gps_time": ["2024-03-01 16:30:00", "2024-12-31 20:00:00", "nope"],
            "t2": ["2024-03-01 05:30:00", "2024-03-01T00:00:00", None],
        },
    )
    assert [r["ts"] for r in landed] == [datetime(2024, 3, 2, 0, 30), datetime(2025, 1, 1, 4, 0)]
    assert [r["t2"] for r in landed] == [datetime(2024, 3, 1, 0, 0), datetime(2024, 2, 29, 18, 30)]
    assert [r["ts__src"] for r in landed] == ["2024-03-01 16:30:00", "2024-12-31 20:00:00"]
    assert bad == [(3, "bad_timestamp:gps_time")]


def test_times_with_their_own_offset_land_in_beijing_time() -> None:
    landed, bad = run(
        [
            {
                "source": "t",
                "target": "t",
                "type": "timestamp",
                "formats": ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S"],
            }
        ],
        {"t": ["2024-03-01T00:00:00Z", "2024-03-01T08:00:00+0800", "2024-03-01 09:00:00"]},
    )
    # an offset written in the value is honoured; a time written without one lands as written
    assert [r["t"] for r in landed] == [datetime(2024, 3, 1, 8, 0)] * 2 + [
        datetime(2024, 3, 1, 9, 0)
    ]
    assert bad == []


def test_a_time_written_over_year_month_day_hour_columns() -> None:
    landed, bad = run(
        [
            {
                "target": "observed_at",
                "type": "timestamp",
                "combine": {"year": "year", "month": "month", "day": "day", "hour": "hour"},
            },
            {"source": "pm2.5", "target": "pm25", "type": "float64"},
        ],
        {
            "year": ["2014", "2014", "2014", "2014", "2014"],
            "month": ["1", "12", "2", "1", "1"],
            "day": ["1", "31", "30", "1", "NULL"],
            "hour": ["0", "23", "1", "7.0", "1"],
            "pm2.5": ["1", "2", "3", "4", "5"],
        },
    )
    assert [r["observed_at"] for r in landed] == [
        datetime(2014, 1, 1, 0),
        datetime(2014, 12, 31, 23),
        datetime(2014, 1, 1, 7),
    ]
    assert next(r["observed_at__src"] for r in landed) == "2014-01-01 00:00:00"
    assert bad == [(3, "bad_timestamp:year"), (5, "bad_timestamp:year")]


def test_combine_in_gmt_and_as_a_date() -> None:
    landed, _ = run(
        [
            {
                "target": "ts",
                "type": "timestamp",
                "source_offset": "UTC",
                "combine": {"year": "y", "month": "m", "day": "d", "hour": "h"},
            },
            {"target": "day", "type": "date", "combine": {"year": "y", "month": "m", "day": "d"}},
        ],
        {"y": ["2024"], "m": ["02"], "d": ["29"], "h": ["18"]},
    )
    assert landed[0]["ts"] == datetime(2024, 3, 1, 2, 0)
    assert landed[0]["day"] == date(2024, 2, 29)


def test_keep_unmapped_lands_the_other_columns_as_delivered() -> None:
    mapping = Mapping.model_validate(
        {"columns": [{"source": "a", "target": "a"}], "keep_unmapped": True, "ignore": ["c"]}
    )
    assert not detect_drift(mapping, ["a", "b", "c"], fixed=True).found
    plan = plan_mapping(mapping, {"a": pa.string(), "b": pa.string(), "c": pa.string()})
    assert plan.passthrough == ["b"]
    strict = Mapping.model_validate({"columns": [{"source": "a", "target": "a"}]})
    assert detect_drift(strict, ["a", "b"], fixed=True).unknown == ("b",)


def test_a_combined_time_missing_one_column_is_drift() -> None:
    mapping = Mapping.model_validate(
        {"columns": [{"target": "t", "type": "timestamp",
                      "combine": {"year": "y", "month": "m", "day": "d", "hour": "h"}}]}
    )  # fmt: skip
    assert detect_drift(mapping, ["y", "m", "d", "h"], fixed=True).missing == ()
    assert detect_drift(mapping, ["y", "m", "d"], fixed=True).missing == ("h",)


def test_a_date_column_and_a_time_column_make_one_time() -> None:
    landed, bad = run(
        [{"target": "ts", "type": "timestamp", "formats": ["%Y/%m/%d %H:%M:%S"],
          "combine": {"date": "日期", "time": "时间"}}],
        {"日期": ["2008/10/23", "2008/10/23", None, "2008/10/24"],
         "时间": ["02:53:04", "23:59:59", "03:00:00", None]},
    )  # fmt: skip
    assert [r["ts"] for r in landed] == [datetime(2008, 10, 23, 2, 53, 4),
                                         datetime(2008, 10, 23, 23, 59, 59)]  # fmt: skip
    assert bad == [(3, "bad_timestamp:日期"), (4, "bad_timestamp:日期")]  # a part alone is no time
    with pytest.raises(ValueError, match="date and time together"):
        Mapping.model_validate(
            {"columns": [{"target": "t", "type": "timestamp",
                          "combine": {"date": "d", "hour": "h"}}]}
        )  # fmt: skip
