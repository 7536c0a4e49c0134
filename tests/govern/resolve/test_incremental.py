"""`resolve_new` at a city's size: the golden ids the in-memory version gave, with memory that
follows the new records, not the stored ones."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from incremental_before import resolve_new_in_memory
from simcity import held_back, register_std

from citybrain.core.engine import Engine
from citybrain.govern.resolve import resolve, resolve_new
from fixtures.engines import open_test_engine

GOLDEN = "golden_person_id"


def _check_digit(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def _row(table: pa.Table, **values: Any) -> dict[str, Any]:
    return {c: values.get(c) for c in table.column_names}


def _scenario(stored: pa.Table, std: Mapping[str, pa.Table]) -> tuple[dict[str, pa.Table], dict]:
    """New rows of ``arrival`` and ``test_record``: one that merges two stored persons (the ID
    number of one, the mobile and name of the other, who has no ID number), one with an ID
    number alone (no name, no phone), and two of a person no stored record names."""
    per = stored.group_by(GOLDEN).aggregate(
        [("id_valid", "count_distinct"), ("id_valid", "min"), ("phone_norm", "count_distinct"),
         ("phone_norm", "min"), ("name_py", "count_distinct"), ("gender", "count_distinct"),
         ("gender", "min"), ("surname_py", "count_distinct")]
    )  # fmt: skip
    phones = (
        stored.filter(pc.is_valid(stored["phone_norm"]))
        .group_by("phone_norm")
        .aggregate([(GOLDEN, "count_distinct")])
    )
    lone_phones = phones.filter(pc.equal(phones[f"{GOLDEN}_count_distinct"], 1))["phone_norm"]
    unidentified = per.filter(
        pc.and_(
            pc.and_(pc.equal(per["id_valid_count_distinct"], 0),
                    pc.equal(per["phone_norm_count_distinct"], 1)),
            pc.and_(pc.and_(pc.equal(per["name_py_count_distinct"], 1),
                            pc.equal(per["surname_py_count_distinct"], 1)),
                    pc.equal(per["gender_count_distinct"], 1)),
        )
    )  # fmt: skip
    unidentified = unidentified.filter(pc.is_in(unidentified["phone_norm_min"], lone_phones))
    b = unidentified.sort_by(GOLDEN).slice(0, 1).to_pylist()[0]
    identified = per.filter(pc.equal(per["id_valid_count_distinct"], 1)).sort_by(GOLDEN)
    a = identified.filter(pc.equal(identified["gender_min"], b["gender_min"])).to_pylist()[0]
    c = identified.filter(pc.not_equal(identified[GOLDEN], a[GOLDEN])).to_pylist()[0]
    b_record = (
        stored.filter(
            pc.and_(pc.equal(stored[GOLDEN], b[GOLDEN]), pc.is_valid(stored["name_norm"]))
        )
        .sort_by("record_id")
        .to_pylist()[0]
    )
    fresh_id = "51340119900101123"
    fresh_id += _check_digit(fresh_id)
    fresh_phone = "19912345678"
    assert fresh_id not in set(stored["id_valid"].to_pylist())
    assert fresh_phone not in set(stored["phone_norm"].to_pylist())
    lineage = {"quality_flags": None}
    arrival, tests = std["arrival"], std["test_record"]
    arrivals = [
        _row(arrival, record_id="ARRNEW-MERGE", name=b_record["name"], id_number=a["id_valid_min"],
             phone=b["phone_norm_min"], source_system="transport_arrivals",
             load_id="arrivals_new", source_row="arrivals_new:0", **lineage),
        _row(arrival, record_id="ARRNEW-FRESH", name="司马新一", id_number=fresh_id,
             phone=fresh_phone, source_system="transport_arrivals", load_id="arrivals_new",
             source_row="arrivals_new:1", **lineage),
    ]  # fmt: skip
    tested = [
        _row(tests, test_id="HSNEW-BARE", id_number=c["id_valid_min"],
             source_system="health_tests", load_id="HS_NEW", source_row="HS_NEW:0", **lineage),
        _row(tests, test_id="HSNEW-FRESH", name="司马新一", id_number=fresh_id,
             source_system="health_tests", load_id="HS_NEW", source_row="HS_NEW:1", **lineage),
    ]  # fmt: skip
    added = {
        "arrival": pa.concat_tables([arrival, pa.Table.from_pylist(arrivals, arrival.schema)]),
        "test_record": pa.concat_tables([tests, pa.Table.from_pylist(tested, tests.schema)]),
    }
    return added, {"merged": (a[GOLDEN], b[GOLDEN]), "bare_joins": c[GOLDEN]}


def _model(engine: Engine, tmp_path: Path, std: Mapping[str, pa.Table]) -> str | None:
    """Spark scores with a model trained on DuckDB (training on Spark takes minutes)."""
    if engine.name == "duckdb":
        return None
    duck = open_test_engine("duckdb", tmp_path / "train")
    try:
        return resolve(duck, register_std(duck, std), "person", store=False).model_json
    finally:
        duck.close()


def test_resolve_new_gives_the_in_memory_result(
    engine: Engine, std_arrow: dict[str, pa.Table], tmp_path: Path
) -> None:
    first_std = held_back(std_arrow)
    model_json = _model(engine, tmp_path, first_std)
    first = resolve(engine, register_std(engine, first_std), "person", model_json=model_json)
    stored = first.links
    added, expected = _scenario(stored, std_arrow)
    nightly = {**std_arrow, **added}
    before = resolve_new_in_memory(engine, register_std(engine, nightly), "person", store=False)
    after = resolve_new(engine, register_std(engine, nightly), "person")
    links = after.links
    assert links.num_rows == before.links.num_rows == after.stats["records"]
    assert links.column_names == before.links.column_names
    assert links.equals(before.links.cast(links.schema)), "the same links, golden ids and all"
    # The cases the comparison is worth something on:
    ids = dict(zip(links["record_id"].to_pylist(), links[GOLDEN].to_pylist(), strict=True))
    new_ids = [ids[r] for r in set(ids) - set(stored["record_id"].to_pylist())]
    assert set(new_ids) & set(stored[GOLDEN].to_pylist()), "new records joined stored persons"
    one, other = expected["merged"]
    assert after.stats["entities_merged"] >= 1
    before_ids = stored.filter(pc.is_in(stored[GOLDEN], pa.array([one, other])))["record_id"]
    assert len({ids[r] for r in before_ids.to_pylist()}) == 1, "two persons merged into one"
    assert ids["health_tests|test_record|HSNEW-BARE"] == expected["bare_joins"]
    fresh = {ids[f"{s}|{t}|{k}"] for s, t, k in (
        ("transport_arrivals", "arrival", "ARRNEW-FRESH"),
        ("health_tests", "test_record", "HSNEW-FRESH"))}  # fmt: skip
    assert len(fresh) == 1 and not fresh & set(stored[GOLDEN].to_pylist()), "a new person"
    assert after.stats["new_entities"] >= 1


def test_resolve_new_holds_no_table_of_the_stored_size(
    engine: Engine, std_arrow: dict[str, pa.Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.name != "duckdb":
        pytest.skip("what crosses between the engine and Python is measured once, on DuckDB")
    first = resolve(engine, register_std(engine, held_back(std_arrow)), "person")
    std = register_std(engine, std_arrow)
    stored_rows = first.rows
    # The real engine, with what it hands to Python and takes from it counted.
    crossed: list[tuple[str, int]] = []
    to_arrow, register = engine.to_arrow, engine.register

    def counted_to_arrow(table: ir.Table) -> pa.Table:
        out = to_arrow(table)
        crossed.append(("to_arrow", out.num_rows))
        return out

    def counted_register(name: str, data: Any) -> ir.Table:
        crossed.append((f"register {name}", len(data)))
        return register(name, data)

    monkeypatch.setattr(engine, "to_arrow", counted_to_arrow)
    monkeypatch.setattr(engine, "register", counted_register)
    nightly = resolve_new(engine, std, "person")
    monkeypatch.undo()
    assert 0 < nightly.stats["new"] < stored_rows / 50, "a stored table far larger than the load"
    assert nightly.rows == stored_rows + nightly.stats["new"]
    largest = max(crossed, key=lambda c: c[1])
    assert largest[1] < stored_rows / 10, f"{largest} of {stored_rows:,} stored links"
    # The links are read from the lake when asked, and hold every record.
    assert nightly.links.num_rows == nightly.rows


def test_a_new_address_learns_its_estate_from_the_stored_counts_and_its_own(
    engine: Engine,
) -> None:
    # What a full run learns over every record: a road number is the estate most records at
    # it name (ties: the least name). The stored records' parts are not kept; their counts are.
    from citybrain.govern.resolve import incremental, staging

    kind = "person"
    stored = pa.table({
        "road_key": ["甲路#10", "甲路#10", "乙路#5", "乙路#5"],
        "estate": ["锦苑", "花园", "东区", "西区"],
        "n": pa.array([3, 1, 1, 1], pa.int64()),
    })  # fmt: skip
    engine.write(stored, "base", staging.road_estates_table(kind))
    parts = {
        "road_key": pa.array(["甲路#10", "甲路#10", "乙路#5", "乙路#5", "丙路#1", None]),
        "estate": pa.array([None, "花园", "西区", None, None, None], pa.string()),
    }
    learned = incremental._learned_with_stored_counts(engine, kind, parts)
    # 甲路 10: 锦苑 3 against 花园 1 + 1 new; 乙路 5: a tie until a new record names 西区.
    assert learned.to_pylist() == ["锦苑", "锦苑", "西区", "西区", None, None]
