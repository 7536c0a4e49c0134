"""The same city through the whole pipeline on a Spark standalone cluster with PostgreSQL as on
DuckDB with SQLite, by configuration alone.

A real ``citybrain run`` process is pointed at the session's Spark master (a master and a worker
started from PySpark's own ``spark-class``, `fixtures.spark_cluster`) and at a PostgreSQL
database, in ``citybrain.toml`` only. Its std and base tables, the topics' latest findings and the
cases must equal those of a DuckDB + SQLite run of the same sources.

The sources are the tiny city's enterprise systems and its address register: enough for every
step to work (standardise with address matching, quality, resolve to golden enterprises and
dwellings, three topics — one with findings — cases and the daily report) while keeping the
slowest part, Spark's per-job overhead on a 2-core box, to a few minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import URL

from citybrain.core.catalog import Catalog
from citybrain.core.workspace import Workspace
from citybrain.pipeline import run_pipeline
from fixtures.spark_cluster import SparkCluster
from pipeline.tinycity import city, city_workspace, outputs

__all__ = ["city"]  # the module's fixture

# cluster: a JVM master and worker and a whole run on them take about 4 minutes on a quiet 2-core
# machine (10+ under load), which make test's budget has no room for; `make test-cluster` runs it
pytestmark = [
    pytest.mark.slow,
    pytest.mark.cluster,
    pytest.mark.spark,
    pytest.mark.postgres,
    pytest.mark.timeout(2400),
]


def on_duckdb(workspace: Workspace) -> Workspace:
    """The same workspace read back through DuckDB (its ops database stays where it is)."""
    toml = workspace.root / "citybrain.toml"
    text_ = toml.read_text("utf-8").replace('kind = "spark"', 'kind = "duckdb"', 1)
    toml.write_text(text_, "utf-8")
    return Workspace.open(workspace.root)


def finished_apps(cluster: SparkCluster) -> list[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{cluster.ui_port}/json/", timeout=10) as page:
        status = json.load(page)
    return [app["name"] for app in status.get("completedapps", [])]


def test_the_city_on_a_spark_cluster_with_postgresql_ends_as_on_duckdb_with_sqlite(
    tmp_path: Path, city: Path, spark_cluster: SparkCluster, fresh_postgres_url: URL
) -> None:
    started = time.perf_counter()
    duck = city_workspace(tmp_path / "duckdb", city)
    assert run_pipeline(duck).status == "succeeded"
    expected = outputs(duck)
    duck_seconds = time.perf_counter() - started
    assert expected["cases"], "the reference run opened cases"
    assert any(key.startswith("base/") for key in expected)

    # configuration alone: the engine and the ops database of the file `workspace init` wrote
    ops_url = fresh_postgres_url.render_as_string(hide_password=False)
    spark = city_workspace(
        tmp_path / "spark", city,
        ('kind = "duckdb"', 'kind = "spark"'),
        ('master = "local[*]"', f'master = "{spark_cluster.master}"'),
        ('url = "sqlite:///{workspace}/ops.sqlite"', f'url = "{ops_url}"'),
    )  # fmt: skip

    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "COLUMNS": "200"}
    spark_started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "citybrain", "-w", str(spark.root), "run"],
        env=env, capture_output=True, text=True, timeout=2000, check=False,
    )  # fmt: skip
    spark_seconds = time.perf_counter() - spark_started
    ws = Workspace.open(spark.root)
    assert ws.ops_db_url.startswith("postgresql")
    catalog = Catalog.open(ws.ops_db_url)
    try:
        (run,) = catalog.list_pipeline_runs()
    finally:
        catalog.close()
    timing = ", ".join(f"{s.name} {s.seconds or 0:.0f} s" for s in run.steps if s.seconds)
    print(f"\nDuckDB run {duck_seconds:.0f} s; Spark cluster run {spark_seconds:.0f} s: {timing}")
    tail = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0, f"{tail}\nsteps: {timing}"
    assert run.status == "succeeded"
    assert "citybrain" in finished_apps(spark_cluster), "the run used the cluster"

    got = outputs(on_duckdb(ws))
    assert sorted(got) == sorted(expected)
    differ = [key for key in expected if got[key] != expected[key]]
    assert not differ, f"Spark + PostgreSQL differ from DuckDB + SQLite in {differ}"


def test_an_arrow_table_with_empty_chunks_reaches_spark_whole(spark_session: Any) -> None:
    """PySpark stops reading an Arrow table's batches at the first empty one; the engine must
    not lose the rows after it (the cluster run's findings were written empty because of it)."""
    from citybrain.core.config import EngineConfig
    from citybrain.core.engine import open_engine

    whole = pa.table({"n": list(range(20))})
    gappy = pa.concat_tables([whole.slice(0, 5), whole.slice(5, 0), whole.slice(5)])
    empty = pa.concat_tables([whole.slice(0, 0), whole.slice(0, 0)])
    engine = open_engine("spark", Path("/nonexistent"), EngineConfig(kind="spark"))
    try:
        assert engine.to_arrow(engine.register("gappy", gappy)).num_rows == 20
        assert engine.to_arrow(engine.register("empty", empty)).num_rows == 0
    finally:
        engine.close()
