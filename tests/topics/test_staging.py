"""TopicContext.staging: an intermediate computed once into a work table, read back, and
removed when the block ends (on DuckDB and on Spark)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pytest

from citybrain.core import Workspace
from citybrain.core.engine import open_engine
from citybrain.topics import TopicContext, TopicParams


def _check(workspace: Workspace, engine: Any) -> None:
    ctx = TopicContext(workspace, engine, "run-1", TopicParams(), "test-1")
    source = engine.register("staging_source", pa.table({"k": [3, 1, 2], "v": ["c", "a", "b"]}))
    expensive = source.mutate(w=source.k * 10)
    folder = engine.table_dir("topic", "test_work_part")
    with ctx.staging() as stage:
        staged = stage("test_work_part", expensive)
        assert folder.is_dir()  # written once, here, not recomputed by every query below
        rows = engine.to_arrow(staged.order_by("k")).to_pydict()
        assert rows == {"k": [1, 2, 3], "v": ["a", "b", "c"], "w": [10, 20, 30]}
        total = engine.to_arrow(staged.aggregate(total=staged.w.sum())).column("total")
        assert total.to_pylist() == [60]
    assert not folder.exists()
    with pytest.raises(RuntimeError), ctx.staging() as stage:
        stage("test_work_part", expensive.filter(ibis.literal(True)))
        assert folder.is_dir()
        raise RuntimeError("the topic failed")
    assert not folder.exists()  # removed on an error too


@pytest.mark.duckdb
def test_staged_tables_are_read_back_and_removed_on_duckdb(tmp_path: Path) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    with workspace.engine() as engine:
        _check(workspace, engine)


@pytest.mark.spark
def test_staged_tables_are_read_back_and_removed_on_spark(
    tmp_path: Path, spark_session: Any
) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    engine = open_engine("spark", workspace.lake)
    try:
        _check(workspace, engine)
    finally:
        engine.close()
