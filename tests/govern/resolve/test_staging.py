"""Records staged in the lake: a kind resolved a chunk at a time gives what one pass gives."""

from __future__ import annotations

import re
from typing import Any

import ibis.expr.types as ir
import pyarrow.compute as pc
import pytest

from citybrain.core.engine import Engine
from citybrain.govern.resolve import features, resolve, staging
from citybrain.govern.resolve.pipeline import collect_records, default_config, feature_columns


@pytest.mark.duckdb
@pytest.mark.spark
def test_chunks_stage_what_one_pass_stages(
    engine: Engine, std: dict[str, ir.Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Enterprises: the smaller kind, so that Spark (where the chunks' hash is its own) is quick.
    kind = "enterprise"
    # Two processes compute the chunks' features side by side, whatever this machine has.
    config = default_config(kind).model_copy(update={"workers": 2})
    columns = feature_columns(kind, config)
    whole = staging.stage(engine, std, kind, config, columns)
    assert whole.chunks == 1
    one = engine.to_arrow(whole.table(engine)).sort_by("record_id")
    monkeypatch.setattr(staging, "CHUNK_ROWS", 100)
    monkeypatch.setattr(staging, "PARTITIONS_PER_WRITE", 2)  # chunks written a few at a time
    chunked = staging.stage(engine, std, kind, config, columns)
    assert chunked.chunks > 3
    assert chunked.rows == whole.rows == one.num_rows
    assert engine.to_arrow(chunked.table(engine)).sort_by("record_id").equals(one)
    staging.drop_work(engine, kind)
    assert not [t for t in engine.list_tables("base") if "_work_" in t]


@pytest.mark.duckdb
def test_chunks_give_the_links_one_pass_gives(
    engine: Engine, std: dict[str, ir.Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.name != "duckdb":
        pytest.skip("Spark stages the same records (above); its clusters are compared elsewhere")
    whole = resolve(engine, std, "person", store=False)
    monkeypatch.setattr(staging, "CHUNK_ROWS", 700)
    chunks: list[int] = []
    stage = staging.stage

    def counted(*args: Any, **kwargs: Any) -> staging.Staged:
        staged = stage(*args, **kwargs)
        chunks.append(staged.chunks)
        return staged

    monkeypatch.setattr(staging, "stage", counted)
    chunked = resolve(engine, std, "person", store=False, model_json=whole.model_json)
    assert chunks and chunks[0] > 3
    assert chunked.links.equals(whole.links)
    assert chunked.stats == whole.stats
    assert not [t for t in engine.list_tables("base") if "_work_" in t], "work tables removed"


@pytest.mark.duckdb
def test_staged_features_equal_those_computed_in_memory(
    engine: Engine, std: dict[str, ir.Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of a few hundred records: the estate learned from other addresses on the same road
    # number must still come from all of them, as it does in memory.
    if engine.name != "duckdb":
        pytest.skip("the features are Arrow on every engine; the chunks' test runs on Spark")
    monkeypatch.setattr(staging, "CHUNK_ROWS", 500)
    for kind in ("person", "enterprise"):
        config = default_config(kind)
        in_memory = collect_records(engine, std, kind, config).sort_by("record_id")
        staged = staging.stage(engine, std, kind, config, feature_columns(kind, config))
        table = engine.to_arrow(staged.table(engine)).sort_by("record_id")
        assert table.column_names == [*in_memory.column_names, staging.PROFILE]
        assert table.drop_columns([staging.PROFILE]).equals(in_memory)
        # The check means something only if some places were learned from other addresses.
        parts = features.address_parts(in_memory["address"])
        learned = pc.and_(pc.is_null(parts["estate"]), pc.is_valid(parts["road_key"]))
        learned = pc.and_(learned, pc.not_equal(in_memory["addr_place"], parts["road_key"]))
        assert pc.sum(learned).as_py() > 0
        # Profiles: the least record of each set of records with equal features.
        profiles = staged.profiles(engine)
        rows = zip(*[in_memory[f].to_pylist() for f in feature_columns(kind, config)], strict=True)
        assert profiles.num_rows == len(set(rows))
        staging.drop_work(engine, kind)


@pytest.mark.duckdb
def test_a_chunk_is_read_from_its_own_folder(
    engine: Engine, std: dict[str, ir.Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A filter the engine cannot prune on the partition reads every chunk's files to keep one's
    # rows, and staging grows with the square of the records. (Spark stages the same rows chunk
    # by chunk in the first test of this file.)
    if engine.name != "duckdb":
        pytest.skip("the files a query reads are counted from DuckDB's profile")
    kind = "enterprise"
    config = default_config(kind)
    monkeypatch.setattr(staging, "CHUNK_ROWS", 100)
    read: list[tuple[int, int]] = []
    chunk_of = staging.chunk_of

    def counted(records: ir.Table, chunk: int) -> ir.Table:
        rows = chunk_of(records, chunk)
        sql = str(engine.ibis.compile(rows))
        plan = "\n".join(
            str(row[-1]) for row in engine.ibis.raw_sql(f"EXPLAIN ANALYZE {sql}").fetchall()
        )
        found = re.search(r"Total Files Read: (\d+)", plan)
        assert found, plan
        folder = engine.table_dir("base", staging.work_table(kind, "records"))
        read.append((int(found.group(1)), len(list(folder.glob(f"*={chunk}/*.parquet")))))
        return rows

    monkeypatch.setattr(staging, "chunk_of", counted)
    staged = staging.stage(engine, std, kind, config, feature_columns(kind, config))
    assert staged.rows > 0 and len(read) > 3
    assert all(files == own >= 1 for files, own in read), read
    staging.drop_work(engine, kind)


@pytest.mark.duckdb
def test_each_work_table_goes_once_the_next_is_written(
    engine: Engine, std: dict[str, ir.Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    # At a city each work table holds gigabytes: the disk holds two at a time, not five.
    if engine.name != "duckdb":
        pytest.skip("which tables exist is the same on every engine")
    kind = "enterprise"
    config = default_config(kind)
    present: dict[str, set[str]] = {}
    write = engine.write

    def noted(data: Any, zone: str, name: str, **kwargs: Any) -> Any:
        work = {t.removeprefix(f"{kind}_work_") for t in engine.list_tables("base")}
        present.setdefault(name.removeprefix(f"{kind}_work_"), set()).update(work)
        return write(data, zone, name, **kwargs)

    monkeypatch.setattr(engine, "write", noted)
    staging.stage(engine, std, kind, config, feature_columns(kind, config))
    assert present["records"] <= {"rows", "chosen", "records"}
    assert not present["features"] & {"rows", "chosen"}
    assert present["placed"] == {"features", "estates"}
    assert present["staged"] == {"placed", "estates"}
    staging.drop_work(engine, kind)
