"""Standardising a hand-made raw zone: latest state, flags, the same rows on both engines."""

from __future__ import annotations

import pytest

from citybrain.core.engine import Engine
from citybrain.core.stdmodel import STD_TABLES
from citybrain.govern.standardize import Rules, conform, standardize_table
from govern.standardize.handmade import person_rows, raw_source, write_load

STD = STD_TABLES["person_registration"]


def _standardise(engine: Engine) -> list[dict[str, object]]:
    lake = engine.lake_root
    first = person_rows(40, dirt=0.2, seed=3)
    write_load(lake, "load-a", first, minute=1)
    # The second delivery re-sends the first 10 people (they supersede) and adds 5 new ones,
    # one of them twice in the same file (a duplicate, kept and flagged).
    second = person_rows(10, dirt=0.0, seed=4) + person_rows(5, dirt=0.0, seed=5, first=100)
    second.append(dict(second[-1]))
    write_load(lake, "load-b", second, minute=2)
    result = standardize_table(engine, STD, [raw_source(lake)], rules=Rules(bbox=None))
    (count,) = result.sources
    assert count.raw_rows == 56 and count.superseded == 10 and count.std_rows == 46
    assert count.reconciled
    rows = engine.to_arrow(engine.table("std", STD.name)).to_pylist()
    return sorted(rows, key=lambda r: (r["record_id"], r["source_row"]))


def test_latest_state_and_flags(engine: Engine) -> None:
    rows = _standardise(engine)
    by_id = {}
    for row in rows:
        by_id.setdefault(row["record_id"], []).append(row)
    assert all(r["load_id"] == "load-b" for r in by_id["R000000"])
    dup = by_id["R000104"]
    assert [r["quality_flags"] for r in dup] == [[], ["record_key:duplicate"]]
    flagged = [r for r in rows if "id_number:bad_check_digit" in r["quality_flags"]]
    assert flagged and all(r["load_id"] == "load-a" for r in flagged)
    assert any("phone:bad_phone" in r["quality_flags"] for r in rows)
    assert {r["gender"] for r in rows} == {"M"} and all(r["address_id"] is None for r in rows)


@pytest.mark.spark
def test_duckdb_and_spark_agree(both_engines: tuple[Engine, Engine]) -> None:
    duck, spark = both_engines
    assert _standardise(duck) == _standardise(spark)


def test_many_repeated_keys_are_ranked_whole_with_the_same_result(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only rows whose key repeats are ranked, apart and joined back; past the limit of rows
    ranked apart, every row is ranked in the engine: the same std rows and counts."""
    apart = _standardise(engine)
    monkeypatch.setattr(conform, "RANKED_APART_ROWS", 1)
    result = standardize_table(engine, STD, [raw_source(engine.lake_root)], rules=Rules(bbox=None))
    (count,) = result.sources
    assert (count.raw_rows, count.superseded, count.std_rows) == (56, 10, 46)
    rows = engine.to_arrow(engine.table("std", STD.name)).to_pylist()
    assert sorted(rows, key=lambda r: (r["record_id"], r["source_row"])) == apart
