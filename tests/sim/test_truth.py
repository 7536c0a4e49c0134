"""Truth agrees with the data: links point at existing rows, planted dirt is where truth says."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from stdnum.cn import ric, uscc

from sim.readers import column_values, read_csv, read_sqlite


def _truth(root: Path, name: str) -> list[dict[str, object]]:
    return pq.read_table(root / "truth" / f"{name}.parquet").to_pylist()


@pytest.mark.parametrize("entity", ["person", "enterprise", "dwelling"])
def test_every_link_points_at_an_existing_row(tiny_root: Path, entity: str) -> None:
    links = pq.read_table(tiny_root / "truth" / f"links_{entity}.parquet")
    assert links.num_rows > 0
    broken = pq.read_table(tiny_root / "truth" / "broken_files.parquet").to_pylist()
    skip = {str(tiny_root / b["path"]) for b in broken}
    damaged = {b["system"] for b in broken}
    groups = links.group_by(["system", "key_field"]).aggregate([]).to_pylist()
    for g in groups:
        sub = links.filter(
            pc.and_(
                pc.equal(links["system"], g["system"]), pc.equal(links["key_field"], g["key_field"])
            )
        )
        present = column_values(tiny_root, str(g["system"]), str(g["key_field"]), skip)
        keys = set(sub["key"].to_pylist())
        missing = keys - present
        if g["system"] in damaged:  # rows of a deliberately broken file cannot be read back
            assert len(missing) < 0.5 * len(keys), g
        else:
            assert not missing, (g, sorted(missing)[:5])


def test_broken_files_and_schema_changes_are_recorded(tiny_root: Path) -> None:
    broken = pq.read_table(tiny_root / "truth" / "broken_files.parquet").to_pylist()
    assert {b["kind"] for b in broken} == {"truncated", "bad_row_width", "invalid_bytes"}
    for b in broken:
        assert (tiny_root / str(b["path"])).is_file()
    changes = pq.read_table(tiny_root / "truth" / "schema_changes.parquet").to_pylist()
    assert {c["system"] for c in changes} >= {"water_utility", "social_security"}


def test_link_entity_ids_exist(tiny_root: Path) -> None:
    persons = pq.read_table(tiny_root / "truth" / "persons.parquet").num_rows
    firms = pq.read_table(tiny_root / "truth" / "enterprises.parquet").num_rows
    dwellings = pq.read_table(tiny_root / "truth" / "dwellings.parquet").num_rows
    for entity, n in (("person", persons), ("enterprise", firms), ("dwelling", dwellings)):
        ids = pq.read_table(tiny_root / "truth" / f"links_{entity}.parquet")["entity_id"]
        assert pc.min(ids).as_py() >= 0 and pc.max(ids).as_py() < n


def test_same_person_appears_in_several_systems(tiny_root: Path) -> None:
    links = pq.read_table(tiny_root / "truth" / "links_person.parquet")
    per = links.group_by("entity_id").aggregate([("system", "count_distinct")])
    assert pc.max(per["system_count_distinct"]).as_py() >= 4


def _planted(root: Path, system: str, field: str, kind: str) -> set[str]:
    return {
        str(d["key"])
        for d in _truth(root, "dirt")
        if d["system"] == system and d["field"] == field and d["kind"] == kind
    }


def test_id_numbers_valid_except_where_dirt_was_planted(tiny_root: Path) -> None:
    t = read_csv(tiny_root / "police_household" / "户籍人口.csv")
    bad = _planted(tiny_root, "police_household", "公民身份号码", "wrong_check_digit")
    for key, value in zip(t["记录号"].to_pylist(), t["公民身份号码"].to_pylist(), strict=True):
        assert ric.is_valid(str(value)) == (key not in bad), (key, value)
    p = read_sqlite(tiny_root / "police_residence_permit" / "police.db")
    bad = _planted(tiny_root, "police_residence_permit", "ZJHM", "wrong_check_digit")
    for key, value in zip(p["JZZBH"].to_pylist(), p["ZJHM"].to_pylist(), strict=True):
        assert ric.is_valid(str(value)) == (key not in bad), (key, value)


def test_usccs_valid_except_where_dirt_was_planted(tiny_root: Path) -> None:
    t = read_csv(tiny_root / "market_registry" / "企业登记信息.csv")
    bad = _planted(tiny_root, "market_registry", "统一社会信用代码", "wrong_check_digit")
    valid = [uscc.is_valid(str(v)) for v in t["统一社会信用代码"].to_pylist()]
    keys = t["登记序号"].to_pylist()
    assert all(ok == (k not in bad) for k, ok in zip(keys, valid, strict=True))


def test_wrong_check_digits_are_planted_somewhere(tmp_path: Path) -> None:
    from citybrain.sim import generate

    out = generate("small", 5, tmp_path / "s", systems=["police_household", "market_registry"])
    dirt = pq.read_table(out.out / "truth" / "dirt.parquet")
    kinds = set(dirt["kind"].to_pylist())
    assert {"wrong_check_digit", "name_typo", "old_road_name"} <= kinds
    t = read_csv(out.out / "police_household" / "户籍人口.csv")
    invalid = sum(not ric.is_valid(str(v)) for v in t["公民身份号码"].to_pylist())
    assert invalid > 0


def test_outcome_truth_tables_exist(tiny_root: Path) -> None:
    for name in (
        "group_rental",
        "enterprise_distress",
        "credit_outcomes",
        "truck_violations",
        "bike_overparking",
        "pollution_episodes",
        "project_delays",
        "infections",
        "contacts",
        "dirt",
    ):
        assert (tiny_root / "truth" / f"{name}.parquet").is_file(), name
