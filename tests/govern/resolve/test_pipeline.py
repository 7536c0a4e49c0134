from __future__ import annotations

from pathlib import Path

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from evaluate import pairwise, pairwise_by_counts
from simcity import held_back, register_std

from citybrain.core.engine import Engine
from citybrain.govern.resolve import link_table, resolve, resolve_new, stability


@pytest.mark.duckdb
@pytest.mark.parametrize(("kind", "min_recall"), [("person", 0.98), ("enterprise", 0.98)])
def test_accuracy_on_the_tiny_city(
    engine: Engine, std: dict[str, ir.Table], resolve_city: Path, kind: str, min_recall: float
) -> None:
    if engine.name != "duckdb":
        pytest.skip("accuracy is measured once, on DuckDB")
    result = resolve(engine, std, kind)  # type: ignore[arg-type]
    scores = pairwise(resolve_city, kind, result.links, result.golden_column)
    assert scores["precision"] >= 0.995, scores
    assert scores["recall"] >= min_recall, scores
    assert engine.exists("base", link_table(kind))  # type: ignore[arg-type]
    # the counting score (for a city's links, too many pairs to list) gives the same figures
    assert pairwise_by_counts(resolve_city, kind, result.links, result.golden_column) == scores


@pytest.mark.duckdb
def test_golden_ids_survive_a_new_load(engine: Engine, std_arrow: dict[str, pa.Table]) -> None:
    if engine.name != "duckdb":
        pytest.skip("stability is measured on DuckDB; the Spark test compares clusters")
    first = resolve(engine, register_std(engine, held_back(std_arrow)), "person")
    # A stored resolution's links are read back from the lake: keep them before the next run.
    first_links, first_ids = first.links, first.id_map()
    nightly = resolve_new(engine, register_std(engine, std_arrow), "person")
    nightly_links, nightly_ids = nightly.links, nightly.id_map()  # read from the lake, as above
    assert nightly.stats["new"] > 0
    assert nightly_links.num_rows > first_links.num_rows
    assert stability(first_ids, nightly_ids) >= 0.999
    with pytest.raises(RuntimeError, match="replaced by a later one"):
        first.links  # noqa: B018 - the property reads the lake
    # A resolution stored by an older resolver is done again in full (model retrained) on the
    # next run, and inherits the ids too.
    (engine.lake_root / "base" / "_models" / "person_splink.resolver").unlink()
    rerun = resolve_new(engine, register_std(engine, std_arrow), "person")
    assert "new" not in rerun.stats, "every record resolved again"
    assert (engine.lake_root / "base" / "_models" / "person_splink.resolver").is_file()
    assert stability(nightly_ids, rerun.id_map()) >= 0.999
    for links in (first_links, nightly_links, rerun.links):  # never two ID numbers in one person
        coded = links.filter(pc.is_valid(links["id_valid"]))
        codes = coded.group_by(rerun.golden_column).aggregate([("id_valid", "count_distinct")])
        assert pc.max(codes["id_valid_count_distinct"]).as_py() == 1


@pytest.mark.spark
def test_duckdb_and_spark_find_the_same_clusters(
    both_engines: tuple[Engine, Engine], std_arrow: dict[str, pa.Table]
) -> None:
    duck, spark = both_engines
    # Enterprises: trained on each engine. Persons: Spark scores with DuckDB's trained model
    # (training on Spark works as well, but takes minutes on a laptop).
    on_duck = resolve(duck, register_std(duck, std_arrow), "enterprise")
    on_spark = resolve(spark, register_std(spark, std_arrow), "enterprise")
    assert on_duck.id_map().equals(on_spark.id_map())
    on_duck = resolve(duck, register_std(duck, std_arrow), "person")
    on_spark = resolve(
        spark, register_std(spark, std_arrow), "person", model_json=on_duck.model_json
    )
    assert on_duck.id_map().equals(on_spark.id_map())
