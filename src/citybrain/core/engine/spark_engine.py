"""Spark: the engine for data beyond one machine, and every Spark quirk citybrain relies on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from citybrain.core.config import SparkConfig
from citybrain.core.engine.base import Engine
from citybrain.core.engine.spark_session import get_spark_session


class SparkEngine(Engine):
    name: ClassVar[Literal["duckdb", "spark"]] = "spark"
    sql_dialect: ClassVar[str] = "spark"

    def __init__(self, lake_root: Path, config: SparkConfig) -> None:
        self._session = get_spark_session(config)
        super().__init__(lake_root, ibis.pyspark.connect(self._session))

    def _dataframe(self, table: ir.Table) -> Any:
        # Ibis registers in-memory tables of an expression only in its own execute paths.
        self._backend._run_pre_execute_hooks(table)
        return self._session.sql(self._backend.compile(table))

    def _read_parquet(self, table_dir: Path, view: str) -> ir.Table:
        self._session.read.parquet(str(table_dir)).createOrReplaceTempView(view)
        return self._backend.table(view)

    def _write_parquet(
        self, table: ir.Table, dest: Path, partition_by: Sequence[str], ordered: bool = True
    ) -> None:
        # Executors write the parts themselves; nothing is collected on the driver. Each part
        # keeps its partition's order either way.
        writer = self._dataframe(table).write.mode("errorifexists")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.parquet(str(dest))

    def _register_arrow(self, view: str, data: pa.Table) -> ir.Table:
        # PySpark sends the table's record batches as a stream, and the JVM stops reading at the
        # first empty batch: every row after it would be dropped without a word (a table built
        # by concatenating per-group results often has empty chunks). Send only batches with rows.
        batches = data.to_batches()
        if data.num_rows and any(batch.num_rows == 0 for batch in batches):
            kept = [batch for batch in batches if batch.num_rows]
            data = pa.Table.from_batches(kept, schema=data.schema)
        self._session.createDataFrame(data).createOrReplaceTempView(view)
        return self._backend.table(view)

    def _drop_view(self, view: str) -> None:
        self._session.catalog.dropTempView(view)

    def _collect_arrow(self, table: ir.Table) -> pa.Table:
        return self._dataframe(table).toArrow()

    def splink_api(self) -> Any:
        from splink import SparkAPI

        return SparkAPI(spark_session=self._session)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        # The session outlives this engine; only its own views go.
        for view in self._views():
            self._session.catalog.dropTempView(view)
