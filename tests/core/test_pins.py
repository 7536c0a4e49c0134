"""The engine pins are deliberate: these are the versions checked to work together here."""

from importlib.metadata import version

from packaging.version import Version


def test_ibis_12_with_pyspark_4_0_and_sqlglot_below_30_18() -> None:
    # Ibis 12 breaks with SQLGlot >= 30.18 and supports PySpark < 4.1.
    assert Version(version("ibis-framework")).major == 12
    assert Version("4.0") <= Version(version("pyspark")) < Version("4.1")
    assert Version(version("sqlglot")) < Version("30.18")


def test_duckdb_2_0() -> None:
    # The engine's DuckDB quirks (partition folder names, fetch_arrow_table) are written for 2.0.
    assert Version("2.0") <= Version(version("duckdb")) < Version("2.1")
