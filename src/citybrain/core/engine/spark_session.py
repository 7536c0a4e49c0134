"""The one SparkSession of a process, shared by every Spark engine (it takes seconds to start)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from citybrain.core.config import SparkConfig
from citybrain.core.errors import EnvironmentProblem

NO_JAVA = "Spark needs a Java runtime: install openjdk-17-jre-headless (make test does this)"

_lock = threading.Lock()
_session: Any = None
_scratch: Path | None = None


def _defaults(scratch: Path) -> dict[str, str]:
    cores = os.cpu_count() or 2
    return {
        # Sandboxes and laptops without a resolvable host name: stay on loopback.
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        # Spark's default of 200 shuffle partitions makes small local jobs slow.
        "spark.sql.shuffle.partitions": str(min(8, 2 * cores)),
        "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={scratch / 'derby'}",
        "spark.local.dir": str(scratch / "local"),
        # Parquet as DuckDB reads it: microsecond timestamps, zstd, no INT96.
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.parquet.compression.codec": "zstd",
        # Partition columns are read as strings and cast by the engine from the table's sidecar.
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
        "spark.hadoop.parquet.enable.summary-metadata": "false",
    }


def _splink_jar() -> str | None:
    # Splink's string-similarity UDFs for Spark ship as a jar that must be on the session's
    # class path from the start; with it, entity resolution runs on Spark as it does on DuckDB.
    try:
        from splink.backends.spark import similarity_jar_location
    except ImportError:
        return None
    location: str = similarity_jar_location()
    return location


def java_available() -> bool:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


def get_spark_session(config: SparkConfig | None = None) -> Any:
    """The shared SparkSession, started on first use with ``config`` (later configs are ignored
    except for runtime SQL settings in ``config.conf``)."""
    global _session, _scratch
    config = config or SparkConfig()
    with _lock:
        if _session is None:
            if not java_available():
                raise EnvironmentProblem(NO_JAVA)
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            from pyspark.sql import SparkSession

            _scratch = Path(tempfile.mkdtemp(prefix="citybrain-spark-"))
            builder = SparkSession.builder.master(config.master).appName(config.app_name)
            settings = {**_defaults(_scratch), **config.conf}
            settings["spark.jars"] = ",".join(
                filter(None, [config.conf.get("spark.jars"), _splink_jar()])
            )
            for key, value in settings.items():
                builder = builder.config(key, value)
            try:
                _session = builder.getOrCreate()
            except Exception as exc:  # PySpark reports a missing or broken JVM in several ways
                if "JAVA_GATEWAY_EXITED" in str(exc) or "Java gateway" in str(exc):
                    raise EnvironmentProblem(NO_JAVA) from exc
                raise
            _session.sparkContext.setLogLevel("ERROR")
            atexit.register(stop_spark_session)
        else:
            for key, value in config.conf.items():
                if key.startswith("spark.sql."):
                    _session.conf.set(key, value)
        return _session


def stop_spark_session() -> None:
    """Stop the shared session (at exit, or at the end of a test run)."""
    global _session, _scratch
    with _lock:
        if _session is not None:
            _session.stop()
            _session = None
        if _scratch is not None:
            shutil.rmtree(_scratch, ignore_errors=True)
            _scratch = None
