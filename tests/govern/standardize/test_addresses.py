"""Matching distinct strings: an estate name repeated on several roads is settled only when the
building, unit and room exist under exactly one of them."""

from __future__ import annotations

import pyarrow as pa
import pytest

from citybrain.address import AddressBase
from citybrain.govern.standardize import AddressIndex, match_distinct

pytestmark = pytest.mark.usefixtures("divisions_installed")

# 智汇港E区 stands on two roads; building 2 exists only at 天府八街4号, building 1 at both.
ROWS = [
    ("天府八街", "4", "智汇港E区", "1", "1", "101", "RN1", "B11", "U11", "D111"),
    ("天府八街", "4", "智汇港E区", "2", "1", "101", "RN1", "B12", "U12", "D121"),
    ("府城大道", "6", "智汇港E区", "1", "1", "101", "RN2", "B21", "U21", "D211"),
]
NAMES = ["road", "road_number", "estate", "building", "unit", "room",
         "road_number_id", "building_id", "unit_id", "dwelling_id"]  # fmt: skip


@pytest.fixture(scope="module")
def divisions_installed() -> None:
    from citybrain.address.divisions import package_dir

    root = package_dir()
    if not ((root / "dist" / "areas.csv").is_file() or (root / "areas.csv").is_file()):
        pytest.skip("division data not installed")


def _index() -> AddressIndex:
    table = pa.table({n: list(v) for n, v in zip(NAMES, zip(*ROWS, strict=True), strict=True)})
    base = AddressBase(table)
    areas = pa.table({"address_id": pa.array([], pa.string())})
    roads = (("天府八街", "4"), ("府城大道", "6"))
    return AddressIndex(base, base.parser(), areas, "v1", None, {"智汇港E区": roads})


def test_a_repeated_estate_is_settled_by_what_lies_below() -> None:
    rows = match_distinct(_index(), ["智汇港E区2栋1单元101", "智汇港E区1栋1单元101"]).to_pylist()
    settled, ambiguous = rows
    assert settled["address_id"] == "D121" and settled["address_level"] == "dwelling"
    assert settled["address_confidence"] < 1.0
    assert ambiguous["address_id"] is None and ambiguous["unmatched_code"] == "ambiguous"


def test_a_road_in_the_address_is_matched_directly() -> None:
    (row,) = match_distinct(_index(), ["府城大道6号智汇港E区1栋1单元101"]).to_pylist()
    assert row["address_id"] == "D211" and row["address_confidence"] == 1.0


def test_an_address_in_another_city_is_outside_city_never_a_match() -> None:
    table = pa.table({n: list(v) for n, v in zip(NAMES, zip(*ROWS, strict=True), strict=True)})
    base = AddressBase(table, region="510100")
    index = AddressIndex(base, base.parser(), pa.table({"address_id": pa.array([], pa.string())}),
                         "v1", None, {})  # fmt: skip
    texts = ["北京市朝阳区天府八街4号智汇港E区2栋1单元101", "成都市天府八街4号智汇港E区2栋1单元101"]
    outside, inside = match_distinct(index, texts).to_pylist()
    assert outside["address_id"] is None and outside["unmatched_code"] == "outside_city"
    assert inside["address_id"] == "D121"
