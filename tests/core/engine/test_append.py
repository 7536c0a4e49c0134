"""Appends: the raw zone adds one partition per load, atomically, on either engine."""

from __future__ import annotations

import pyarrow as pa
import pytest

from citybrain.core.engine import Engine
from citybrain.core.errors import UserError


def _load(load_id: str, rows: int) -> pa.Table:
    return pa.table(
        {
            "load_id": [load_id] * rows,
            "meter_id": pa.array(range(rows), pa.int64()),
            "kwh": [1.5] * rows,
        }
    )


def test_each_load_adds_a_partition(engine: Engine) -> None:
    for load_id, rows in [("L1", 3), ("L2", 2), ("L1", 1)]:
        info = engine.write(
            _load(load_id, rows), "raw", "meter", mode="append", partition_by=["load_id"]
        )
        assert info.rows == rows

    table = engine.table("raw", "meter")
    counts = engine.to_arrow(table.group_by("load_id").agg(n=table.count()).order_by("load_id"))

    assert counts.to_pylist() == [{"load_id": "L1", "n": 4}, {"load_id": "L2", "n": 2}]
    assert table.columns == ("load_id", "meter_id", "kwh")  # the order it was written in
    folders = sorted(p.name for p in (engine.lake_root / "raw" / "meter").iterdir() if p.is_dir())
    assert folders == ["load_id=L1", "load_id=L2"]


def test_append_without_partitions_casts_to_the_table_types(engine: Engine) -> None:
    engine.write(_load("L1", 2), "raw", "meter", mode="append")
    narrower = _load("L2", 1).set_column(1, "meter_id", pa.array([7], pa.int32()))
    engine.write(narrower, "raw", "meter", mode="append")

    back = engine.to_arrow(engine.table("raw", "meter").order_by("load_id", "meter_id"))

    assert back["meter_id"].type == pa.int64()
    assert back["meter_id"].to_pylist() == [0, 1, 7]


def test_append_of_another_shape_is_refused(engine: Engine) -> None:
    engine.write(_load("L1", 1), "raw", "meter", mode="append", partition_by=["load_id"])

    with pytest.raises(UserError, match="cannot append"):
        engine.write(_load("L2", 1).drop_columns(["kwh"]), "raw", "meter", mode="append")
    with pytest.raises(UserError, match="cannot append"):
        engine.write(_load("L2", 1), "raw", "meter", mode="append")  # not partitioned


def test_partition_by_a_missing_column_is_refused(engine: Engine) -> None:
    with pytest.raises(UserError, match="missing column"):
        engine.write(_load("L1", 1), "raw", "meter", partition_by=["day"])
