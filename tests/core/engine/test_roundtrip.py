"""Reading, writing and registering tables: the same operations, the same results on each engine."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from citybrain.core.engine import Engine
from citybrain.core.errors import UserError


def test_roundtrip_keeps_values_and_types(engine: Engine, sample: pa.Table) -> None:
    info = engine.write(sample, "std", "person")

    assert info.rows == 4
    assert info.path == engine.lake_root / "std" / "person"
    assert info.schema.names == tuple(sample.column_names)
    back = engine.to_arrow(engine.table("std", "person").order_by("person_id"))
    expected = sample.set_column(5, "deposit", sample["deposit"].cast(pa.decimal128(38, 2)))
    assert back.equals(expected), back.to_pandas()


def test_zone_aware_and_nanosecond_timestamps_become_utc_microseconds(engine: Engine) -> None:
    shanghai = pd.Timestamp("2024-05-01 08:30:00.123456789", tz="Asia/Shanghai")
    engine.write(pd.DataFrame({"at": [shanghai]}), "raw", "events")

    back = engine.to_arrow(engine.table("raw", "events"))

    assert back.schema.field("at").type == pa.timestamp("us")
    assert back["at"][0].as_py() == dt.datetime(2024, 5, 1, 0, 30, 0, 123456)


def test_replace_swaps_the_whole_table(engine: Engine, sample: pa.Table) -> None:
    engine.write(sample, "std", "person")
    before = engine.table("std", "person")
    engine.write(sample.slice(0, 1), "std", "person")

    assert engine.to_arrow(engine.table("std", "person")).num_rows == 1
    # An expression read before the replace sees the new table, not deleted parts.
    assert engine.to_arrow(before).num_rows == 1


def test_write_an_ibis_expression_reading_the_same_table(engine: Engine, sample: pa.Table) -> None:
    engine.write(sample, "std", "person")
    people = engine.table("std", "person")

    engine.write(people.filter(people.age > 10), "std", "person")

    assert engine.to_arrow(engine.table("std", "person"))["person_id"].to_pylist() in (
        [1, 4],
        [4, 1],
    )


def test_register_pandas_and_arrow(engine: Engine, sample: pa.Table) -> None:
    frame = pd.DataFrame({"code": ["110", "120"], "label": ["北京", "天津"]})
    codes = engine.register("codes", frame)
    people = engine.register("people", sample)

    assert engine.to_arrow(codes).equals(
        pa.table({"code": ["110", "120"], "label": ["北京", "天津"]})
    )
    assert engine.to_pandas(people.count().as_table()).iloc[0, 0] == 4
    via_sql = engine.sql("SELECT label FROM codes WHERE code = '120'")
    assert engine.to_arrow(via_sql)["label"].to_pylist() == ["天津"]


def test_empty_and_all_null_inputs(engine: Engine) -> None:
    frame = pd.DataFrame(
        {"load_id": pd.Series([], dtype="string"), "note": pd.Series([], dtype=object)}
    )
    engine.write(frame, "raw", "nothing", partition_by=["load_id"])

    back = engine.to_arrow(engine.table("raw", "nothing"))

    assert back.num_rows == 0
    # The all-null column became a string; the partition column keeps its place.
    assert back.schema == pa.schema([("load_id", pa.string()), ("note", pa.string())])


def test_list_tables_and_exists(engine: Engine, sample: pa.Table) -> None:
    assert engine.list_tables("std") == []
    engine.write(sample, "std", "person")
    engine.write(sample, "std", "address")

    assert engine.list_tables("std") == ["address", "person"]
    assert engine.exists("std", "person")
    assert not engine.exists("base", "person")


def test_missing_table_is_a_user_error_naming_zone_and_table(engine: Engine) -> None:
    with pytest.raises(UserError, match=r"no table 'person' in lake zone 'std'"):
        engine.table("std", "person")


@pytest.mark.parametrize(("zone", "name"), [("lake", "person"), ("std", "_hidden"), ("std", "A-B")])
def test_bad_locations_are_user_errors(engine: Engine, zone: str, name: str) -> None:
    with pytest.raises(UserError):
        engine.table(zone, name)


def test_a_table_can_become_empty_and_full_again(engine: Engine) -> None:
    full = pa.table({"grid": ["G1", "G2"], "n": [1, 2]})
    engine.write(full, "std", "grid", partition_by=["grid"])
    earlier = engine.table("std", "grid")

    engine.write(full.slice(0, 0), "std", "grid", partition_by=["grid"])
    assert engine.to_arrow(earlier).num_rows == 0
    engine.write(full, "std", "grid", partition_by=["grid"])
    assert engine.to_arrow(earlier).num_rows == 2


def test_a_write_in_any_order_keeps_every_row_and_the_order_of_the_next(engine: Engine) -> None:
    numbers = pa.table({"n": pa.array(range(200_000), pa.int64())})
    engine.write(numbers, "std", "numbers")
    table = engine.table("std", "numbers")
    both = table.union(table.mutate(n=table.n + 200_000), distinct=False)
    info = engine.write(both, "std", "any_order", ordered=False)
    back = engine.to_arrow(engine.table("std", "any_order")).sort_by("n")
    assert info.rows == 400_000
    assert back["n"].to_pylist() == list(range(400_000))
    # The next write keeps the order it is given (the engine's setting is put back).
    engine.write(numbers.slice(0, 5).take([4, 3, 2, 1, 0]), "std", "reversed")
    assert engine.to_arrow(engine.table("std", "reversed"))["n"].to_pylist() == [4, 3, 2, 1, 0]
    if engine.name == "duckdb":
        kept = engine.ibis.raw_sql("SELECT current_setting('preserve_insertion_order')")
        assert kept.fetchall() == [(True,)]
