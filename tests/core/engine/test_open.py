"""Opening engines: from a workspace, with its settings, and one clear line when Java is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from citybrain.core.config import DuckDBConfig, EngineConfig
from citybrain.core.engine import Engine, get_spark_session, open_engine
from citybrain.core.engine import spark_session as session_module
from citybrain.core.errors import EnvironmentProblem, UserError
from citybrain.core.workspace import Workspace


@pytest.mark.duckdb
def test_workspace_engine_uses_its_database_file_and_lake(tmp_path: Path) -> None:
    workspace = Workspace.init(tmp_path / "city")

    with workspace.engine() as engine:
        assert engine.name == "duckdb"
        assert engine.lake_root == workspace.lake
        engine.write(pa.table({"x": [1]}), "raw", "t")

    assert (workspace.root / "citybrain.duckdb").is_file()
    assert (workspace.zone("raw") / "t").is_dir()
    with workspace.engine() as again:
        assert again.list_tables("raw") == ["t"]


@pytest.mark.duckdb
def test_a_database_locked_by_another_process_is_a_user_error(tmp_path: Path) -> None:
    database = tmp_path / "citybrain.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(database)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match="in use by another process"):
            open_engine("duckdb", tmp_path, database=database)
    finally:
        holder.kill()
        holder.wait()


HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(60)
"""


@pytest.mark.duckdb
def test_duckdb_settings_come_from_config(tmp_path: Path) -> None:
    config = EngineConfig(duckdb=DuckDBConfig(threads=1, memory_limit="256MB"))

    with open_engine("duckdb", tmp_path, config, database=":memory:") as engine:
        settings = dict(
            engine.ibis.con.execute(
                "SELECT name, value FROM duckdb_settings() "
                "WHERE name IN ('threads', 'memory_limit', 'autoinstall_known_extensions')"
            ).fetchall()
        )

    assert settings["threads"] == "1"
    assert settings["memory_limit"] == "244.1 MiB"  # 256 MB as DuckDB reports it
    assert settings["autoinstall_known_extensions"] == "false"


def test_duckdb_keeps_parquet_footers_and_still_sees_a_rewritten_file(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    part = tmp_path / "std" / "t" / "part-0.parquet"
    part.parent.mkdir(parents=True)
    pq.write_table(pa.table({"a": [1, 2, 3]}), part)
    with open_engine("duckdb", tmp_path, database=":memory:") as engine:
        cached = engine.ibis.con.execute("SELECT current_setting('parquet_metadata_cache')")
        assert cached.fetchall() == [(True,)]
        table = engine.table("std", "t")
        assert engine.to_arrow(table.aggregate(n=table.count()))["n"].to_pylist() == [3]
        pq.write_table(pa.table({"a": [10, 20, 30, 40]}), part)  # the same path, rewritten
        table = engine.table("std", "t")
        assert engine.to_arrow(table.aggregate(n=table.a.sum()))["n"].to_pylist() == [100]


def test_missing_java_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_module, "_session", None)
    monkeypatch.setattr(session_module, "java_available", lambda: False)

    with pytest.raises(EnvironmentProblem) as raised:
        get_spark_session()

    assert str(raised.value) == (
        "Spark needs a Java runtime: install openjdk-17-jre-headless (make test does this)"
    )


@pytest.mark.spark
def test_spark_engines_share_one_session(spark_session: Any, tmp_path: Path) -> None:
    first = open_engine("spark", tmp_path / "a")
    second = open_engine("spark", tmp_path / "b")

    assert first.ibis._session is second.ibis._session is spark_session
    conf = spark_session.conf
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.ui.enabled") == "false"
    assert spark_session.sparkContext.master.startswith("local")


def test_splink_runs_on_the_engine_connection(engine: Engine) -> None:
    api = engine.splink_api()

    assert type(api).__name__ == {"duckdb": "DuckDBAPI", "spark": "SparkAPI"}[engine.name]
    if engine.name == "spark":  # Splink's similarity jar is on the shared session's class path
        row = engine.ibis._session.sql("SELECT jaro_winkler('张三丰', '张三峰') AS s").first()
        assert 0.8 < row.s < 1.0


@pytest.mark.duckdb
def test_duckdb_spills_where_the_workspace_says(tmp_path: Path) -> None:
    from citybrain.core.workspace import Workspace

    workspace = Workspace.init(tmp_path / "ws")
    config = workspace.root / "citybrain.toml"
    config.write_text(
        config.read_text("utf-8").replace(
            'database = "citybrain.duckdb"',
            'database = "citybrain.duckdb"\nmemory_limit = "300MB"\nthreads = 1\n'
            'temp_directory = "spill"\nmax_temp_directory_size = "2GB"',
        ),
        encoding="utf-8",
    )
    with Workspace.open(workspace.root).engine() as engine:
        settings = dict(
            engine.ibis.con.execute(
                "SELECT name, value FROM duckdb_settings() "
                "WHERE name IN ('threads', 'memory_limit', 'temp_directory', "
                "'max_temp_directory_size')"
            ).fetchall()
        )
    assert settings["temp_directory"] == str(workspace.root / "spill")
    assert (settings["threads"], settings["memory_limit"]) == ("1", "286.1 MiB")
    assert settings["max_temp_directory_size"] == "1.8 GiB"
