"""Ibis expressions and transpiled SQL give the same answers on each engine."""

from __future__ import annotations

import ibis
import pyarrow as pa

from citybrain.core.engine import Engine
from citybrain.core.engine.duckdb_engine import DuckDBEngine
from citybrain.core.engine.spark_engine import SparkEngine


def _streets() -> pa.Table:
    return pa.table({"street": ["高新街道", "西湖街道"], "office": ["高新办", "西湖办"]})


def test_group_by_join_and_window(engine: Engine, sample: pa.Table) -> None:
    engine.write(sample, "std", "person")
    engine.write(_streets(), "base", "street")
    people = engine.table("std", "person")
    streets = engine.table("base", "street")

    located = people.filter(people.street.notnull())
    per_street = (
        located.group_by("street")
        .agg(n=located.count(), total_income=located.income.sum(), oldest=located.age.max())
        .join(streets, "street")
        .order_by("street")
    )
    ranked = people.mutate(
        rank=ibis.row_number().over(group_by=people.street, order_by=ibis.desc(people.income))
    ).order_by("person_id")

    assert engine.to_arrow(per_street).to_pylist() == [
        {"street": "西湖街道", "n": 1, "total_income": 0.0, "oldest": 7, "office": "西湖办"},
        {"street": "高新街道", "n": 2, "total_income": 5200.5, "oldest": 34, "office": "高新办"},
    ]
    assert engine.to_arrow(ranked.select("person_id", "rank"))["rank"].to_pylist() == [0, 1, 0, 0]


DUCKDB_QUERY = """
SELECT p.street,
       strftime(p.seen_at, '%Y-%m') AS month,
       count(*) FILTER (WHERE p.age >= 18) AS adults,
       sum(p.deposit)::DOUBLE AS deposits
FROM std.person AS p
WHERE p.seen_at IS NOT NULL
GROUP BY ALL
ORDER BY month
"""


def test_sql_written_for_duckdb_runs_transpiled(engine: Engine, sample: pa.Table) -> None:
    engine.write(sample, "std", "person")

    result = engine.to_arrow(engine.sql(DUCKDB_QUERY))

    assert result.to_pylist() == [
        {"street": "西湖街道", "month": "2024-01", "adults": 0, "deposits": 0.0},
        {"street": "高新街道", "month": "2024-05", "adults": 1, "deposits": 12.34},
    ]
    if engine.name == "spark":
        assert "DATE_FORMAT" in engine.transpile(DUCKDB_QUERY)


def test_sql_joins_a_lake_table_with_a_registered_one(engine: Engine, sample: pa.Table) -> None:
    engine.write(sample, "std", "person")
    engine.register("street_office", _streets())

    joined = engine.sql(
        "SELECT s.office, count(*) AS n FROM std.person JOIN street_office AS s "
        "ON person.street = s.street GROUP BY s.office ORDER BY n DESC"
    )

    assert engine.to_arrow(joined).to_pylist() == [
        {"office": "高新办", "n": 2},
        {"office": "西湖办", "n": 1},
    ]


def test_duckdb_sql_as_spark_reads_it() -> None:
    # A snapshot of the transpiled text; needs no Spark session.
    query = "SELECT strftime(seen_at, '%Y-%m') AS month, x::VARCHAR AS code FROM t GROUP BY ALL"

    assert SparkEngine.transpile(query) == (
        "SELECT DATE_FORMAT(seen_at, 'yyyy-MM') AS month, CAST(x AS STRING) AS code "
        "FROM t GROUP BY ALL"
    )
    assert DuckDBEngine.transpile(query) == (
        "SELECT STRFTIME(seen_at, '%Y-%m') AS month, CAST(x AS TEXT) AS code FROM t GROUP BY ALL"
    )
