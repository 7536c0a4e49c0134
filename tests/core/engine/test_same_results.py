"""One small pipeline on both engines must give identical Arrow output, bit for bit.

Float aggregates are rounded: engines add floats in different orders, so the last bits differ.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pytest

from citybrain.core.engine import Engine, open_engine

STREETS = ["高新街道", "西湖街道", "东城街道"]


def _people(n: int = 600) -> pa.Table:
    rng = np.random.default_rng(7)
    born = np.datetime64("1950-01-01") + rng.integers(0, 25_000, n).astype("timedelta64[D]")
    seen = np.datetime64("2024-01-01T00:00:00") + rng.integers(0, 10**7, n).astype("timedelta64[s]")
    income = np.round(rng.gamma(2.0, 3000.0, n), 2)
    return pa.table(
        {
            "person_id": pa.array(np.arange(n), pa.int64()),
            "street": pa.array(rng.choice(STREETS, n)),
            "household": pa.array(rng.integers(0, n // 4, n), pa.int32()),
            "born": pa.array(born.astype("datetime64[D]")),
            "seen_at": pa.array(seen.astype("datetime64[us]"), mask=rng.random(n) < 0.1),
            "income": pa.array(income, mask=rng.random(n) < 0.05),
            "deposit": pa.array([Decimal(int(x)) / 100 for x in rng.integers(0, 10**6, n)]).cast(
                pa.decimal128(12, 2)
            ),
        }
    )


def _pipeline(engine: Engine) -> ir.Table:
    people = engine.table("std", "person")
    households = people.group_by("household").agg(
        members=people.count(), street=people.street.arbitrary()
    )
    crowded = households.filter(households.members >= 3)
    scored = people.join(crowded.select("household", "members"), "household").mutate(
        income_rank=ibis.rank().over(group_by=_street(people), order_by=people.income.desc()),
        month=people.seen_at.truncate("M"),
        age_2024=2024 - people.born.year(),
    )
    engine.write(scored, "topic", "crowded_people", partition_by=["street"])
    stats = engine.sql(
        "SELECT street, count(DISTINCT household) AS households, sum(deposit) AS deposits, "
        "round(avg(income), 6) AS mean_income, max(month) AS last_month, min(age_2024) AS youngest "
        "FROM topic.crowded_people GROUP BY street"
    )
    engine.write(stats, "topic", "street_stats")
    return engine.table("topic", "street_stats")


def _street(people: ir.Table) -> ir.Column:
    return people.street


def _run(engine: Engine) -> tuple[pa.Table, pa.Table]:
    engine.write(_people(), "std", "person")
    stats = engine.to_arrow(_pipeline(engine)).sort_by("street")
    rows = engine.to_arrow(engine.table("topic", "crowded_people")).sort_by("person_id")
    return stats, rows


@pytest.mark.spark
def test_pipeline_gives_identical_arrow_on_both_engines(
    both_engines: tuple[Engine, Engine],
) -> None:
    duck, spark = both_engines

    duck_stats, duck_rows = _run(duck)
    spark_stats, spark_rows = _run(spark)

    assert duck_stats.num_rows == len(STREETS)
    assert duck_rows.num_rows > 50
    assert duck_stats.equals(spark_stats), (duck_stats.to_pandas(), spark_stats.to_pandas())
    assert duck_rows.equals(spark_rows)
    assert duck_stats.schema.field("last_month").type == pa.timestamp("us")
    assert duck_stats["last_month"][0].as_py() <= dt.datetime(2024, 5, 1)

    # Each engine reads the lake the other wrote, with the same result.
    for writer, reader_kind in [(duck, "spark"), (spark, "duckdb")]:
        with open_engine(reader_kind, writer.lake_root, database=":memory:") as reader:
            for name in ("crowded_people", "street_stats"):
                ours = writer.to_arrow(writer.table("topic", name))
                theirs = reader.to_arrow(reader.table("topic", name))
                keys = [(col, "ascending") for col in ours.column_names[:3]]
                assert ours.sort_by(keys).equals(theirs.sort_by(keys)), (writer.name, name)


@pytest.mark.spark
def test_partition_values_survive_either_writer(both_engines: tuple[Engine, Engine]) -> None:
    values = ["高新/一区", "a=b", "50% off", "it's", None]
    data = pa.table({"grid": values, "n": pa.array(range(len(values)), pa.int64())})
    duck, spark = both_engines

    for writer, reader in [(duck, spark), (spark, duck)]:
        writer.write(data, "std", "grid_counts", partition_by=["grid"])
        # The reader looks at the writer's lake through an engine of the other kind.
        with open_engine(reader.name, writer.lake_root, database=":memory:") as other:
            back = other.to_arrow(other.table("std", "grid_counts")).sort_by("n")
        assert back.equals(data), (writer.name, back["grid"].to_pylist())
