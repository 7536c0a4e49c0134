"""Utility accounts' person records carry the holder's phone and ID number where delivered."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from citybrain.core.engine import Engine
from citybrain.govern.resolve.features import person_features
from citybrain.govern.resolve.records import build_records

ID = "510121196703313711"


def _readings(**contact: list[str | None]) -> pa.Table:
    return pa.table(
        {
            "account_id": ["30001", "30002", "30003", "30004"],
            "holder_name": ["张伟", "李娜", "王芳", "天辉科技有限公司"],
            **contact,
            "address": ["锦城花园3栋2单元1203"] * 4,
            "source_system": ["power_grid"] * 4,
            "load_id": ["2023-01"] * 4,
            "source_row": ["0", "1", "2", "3"],
        }
    )


def _person_records(table: pa.Table) -> pa.Table:
    records = build_records({"utility_reading": ibis.memtable(table)}, "person")
    assert records is not None
    return person_features(records.to_pyarrow().sort_by("source_key"))


def test_the_holders_phone_and_id_number_become_identifiers() -> None:
    table = _readings(
        holder_phone=["138 0013 8000", None, None, "13900000000"],
        holder_id_number=[None, ID, "510121********3711", None],
    )
    out = _person_records(table)
    assert out["source_key"].to_pylist() == ["30001", "30002", "30003"]  # the firm is no person
    assert out["phone_norm"].to_pylist() == ["13800138000", None, None]
    assert out["id_valid"].to_pylist() == [None, ID, None]
    # A masked ID number is no key, not even for the typo comparison; it still tells the gender.
    assert out["id_raw"].to_pylist() == [None, ID, None]
    assert out["gender"].to_pylist() == [None, "M", "M"]


def test_accounts_delivered_without_contact_columns_still_make_records() -> None:
    out = _person_records(_readings())
    assert out.num_rows == 3
    assert out["phone_norm"].null_count == 3 and out["id_valid"].null_count == 3


def test_a_record_without_a_name_is_kept_when_it_carries_an_identifier() -> None:
    table = _readings(holder_phone=["13800138000", None, None, None])
    table = table.set_column(1, "holder_name", pa.array([None, None, "王芳", None], pa.string()))
    out = _person_records(table)
    # the phone without a name stays a record; the row with neither is no one's record
    assert out["source_key"].to_pylist() == ["30001", "30003"]
    assert out["name"].to_pylist() == [None, "王芳"]


def _repeated_readings() -> pa.Table:
    return pa.table(
        {
            "account_id": ["1", "1", "1", "2", "3", "3", "3", None],
            "holder_name": ["张伟", "张伟新", "张伟旧", "李娜", "王芳", "王芳二", "王芳二", "赵六"],
            "address": ["锦城花园3栋2单元1203"] * 8,
            "source_system": ["power_grid"] * 8,
            "load_id": ["2023-01", "2023-02", "2023-02", "2023-01"] + ["2023-01"] * 4,
            "source_row": ["0", "5", "3", "1", "7", "2", "2", "9"],
        }
    )


@pytest.mark.duckdb
@pytest.mark.spark
def test_a_repeated_record_keeps_its_latest_loads_first_row(engine: Engine) -> None:
    # Account 1: the later load wins, and in it the least source row; account 3: one load, its
    # row 2 delivered twice whole is one record; account 2 is alone; a row without key is none.
    std = {"utility_reading": engine.register("records_repeated", _repeated_readings())}
    records = build_records(std, "person")
    assert records is not None
    out = engine.to_arrow(records.select("source_key", "name", "load_id", "source_row"))
    assert sorted(out.to_pylist(), key=lambda r: r["source_key"]) == [
        {"source_key": "1", "name": "张伟旧", "load_id": "2023-02", "source_row": "3"},
        {"source_key": "2", "name": "李娜", "load_id": "2023-01", "source_row": "1"},
        {"source_key": "3", "name": "王芳二", "load_id": "2023-01", "source_row": "2"},
    ]
