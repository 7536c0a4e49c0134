"""Matching against a small hand-made standard address base."""

from __future__ import annotations

import pyarrow as pa
import pytest

from citybrain.address import AddressParser, ParserConfig, parse
from citybrain.address.match import AddressBase, MatchLevel, component_key
from citybrain.address.parser import Gazetteer

pytestmark = pytest.mark.usefixtures("divisions_installed")

# Two compounds on two roads; 天府新谷 has units, 锦城公寓 has none; room 301 exists in two units.
ROWS = [
    # road, number, estate, building, unit, room, ids (road number, building, unit, dwelling)
    ("府城大道西段", "399", "天府新谷", "10", "1", "1203", "RN1", "B10", "U10-1", "D1"),
    ("府城大道西段", "399", "天府新谷", "10", "1", "301", "RN1", "B10", "U10-1", "D2"),
    ("府城大道西段", "399", "天府新谷", "10", "2", "301", "RN1", "B10", "U10-2", "D3"),
    ("府城大道西段", "399", "天府新谷", "10", "2", "502", "RN1", "B10", "U10-2", "D4"),
    ("锦城大道", "666", "锦城公寓", "B", None, "2101", "RN2", "BB", None, "D5"),
    ("锦城大道", "668", None, None, None, None, "RN3", None, None, None),
]


@pytest.fixture(scope="module")
def base() -> AddressBase:
    columns = list(zip(*ROWS, strict=True))
    names = ["road", "road_number", "estate", "building", "unit", "room"]
    names += ["road_number_id", "building_id", "unit_id", "dwelling_id"]
    table = pa.table({name: list(values) for name, values in zip(names, columns, strict=True)})
    table = table.append_column("district_code", pa.array(["510107"] * len(ROWS)))
    return AddressBase(table)


@pytest.mark.parametrize(
    ("text", "level", "address_id"),
    [
        ("府城大道西段399号天府新谷10号楼1单元1203室", MatchLevel.DWELLING, "D1"),
        ("成都市武侯区府城大道西段399号天府新谷10-1-1203", MatchLevel.DWELLING, "D1"),
        ("天府新谷10栋1单元1203", MatchLevel.DWELLING, "D1"),  # estate alone fixes the place
        ("府城大道西段三九九号十栋二单元五〇二室", MatchLevel.DWELLING, "D4"),
        ("府城大道西段399号天府新谷10栋502", MatchLevel.DWELLING, "D4"),  # unit inferred
        ("府城大道西段399号天府新谷10号楼2单元", MatchLevel.UNIT, "U10-2"),
        ("府城大道西段399号10栋", MatchLevel.BUILDING, "B10"),
        ("锦城大道666号锦城公寓B座21楼1号", MatchLevel.DWELLING, "D5"),
        ("锦城大道668号", MatchLevel.ROAD_NUMBER, "RN3"),
    ],
)
def test_matches_at_the_deepest_level(
    base: AddressBase, text: str, level: MatchLevel, address_id: str
) -> None:
    result = base.match(parse(text))
    assert (result.level, result.address_id) == (level, address_id), result.reason
    assert result.confidence >= base.threshold and not result.review


@pytest.mark.parametrize(
    ("text", "level", "reason"),
    [
        ("府城大道西段399号天府新谷10栋301", MatchLevel.BUILDING, "room 301 in 2 units"),
        ("府城大道西段399号天府新谷10栋3单元", MatchLevel.BUILDING, "unit 3 not found"),
        ("府城大道西段399号天府新谷11栋", MatchLevel.ROAD_NUMBER, "building 11 not found"),
        ("府城大道西段400号", MatchLevel.NONE, "no road number 府城大道西段400号"),
        ("锦城大道666号天府新谷", MatchLevel.NONE, "are different places"),
        ("成都市金牛区锦城大道668号", MatchLevel.NONE, "not in district 金牛区"),
        ("附近", MatchLevel.NONE, "no road number or estate"),
    ],
)
def test_stops_where_it_cannot_decide(
    base: AddressBase, text: str, level: MatchLevel, reason: str
) -> None:
    result = base.match(parse(text))
    assert result.level == level
    assert result.reason is not None and reason in result.reason


def test_low_confidence_goes_to_review(base: AddressBase) -> None:
    strict = AddressBase(
        pa.table({"road": ["锦城大道"], "road_number": ["668"], "road_number_id": ["RN3"]}),
        threshold=0.99,
    )
    result = strict.match(parse("锦城大道668号天府新谷X区??"))  # estate unknown, not a conflict
    assert result.level in (MatchLevel.ROAD_NUMBER, MatchLevel.NONE)
    typo = strict.match(
        AddressParser(ParserConfig(gazetteer=strict.gazetteer)).parse("锦程大道668号")
    )
    assert (typo.level, typo.review) == (MatchLevel.NONE, True)
    assert typo.reason is not None and "below threshold" in typo.reason


def test_base_gazetteer_fixes_typos_for_the_parser(base: AddressBase) -> None:
    parser = AddressParser(ParserConfig(gazetteer=base.gazetteer))
    result = base.match(parser.parse("府城大到西段399号天府新谷10号楼1单元1203室"))
    assert (result.level, result.address_id) == (MatchLevel.DWELLING, "D1")
    assert result.confidence < 1.0


def test_road_alias_from_the_register(base: AddressBase) -> None:
    gazetteer = Gazetteer(roads=base.gazetteer.roads, road_aliases={"府城路": "府城大道西段"})
    parser = AddressParser(ParserConfig(gazetteer=gazetteer))
    assert base.match(parser.parse("府城路399号10栋1单元1203")).address_id == "D1"


def test_match_many_and_rows(base: AddressBase) -> None:
    table = base.match_many([parse("锦城大道668号"), parse("府城大道西段400号")])
    assert table.column("match_level").to_pylist() == ["road_number", "none"]
    assert dict(base.match(parse("锦城大道668号")).rows())["match_level"] == "road_number"


def test_component_key() -> None:
    assert component_key("３栋") == "3"
    assert component_key("1203室") == "1203"
    assert component_key("b座") == "B"
    assert component_key(None) is None


def test_two_typos_are_too_many_guesses(base: AddressBase) -> None:
    parser = AddressParser(ParserConfig(gazetteer=base.gazetteer))
    result = base.match(parser.parse("府城大到西段399号天府新古10号楼1单元1203室"))
    assert (result.level, result.review) == (MatchLevel.NONE, True)


def test_explain_for_the_cli(base: AddressBase) -> None:
    from citybrain.address import explain

    found = explain("府城大到西段399号天府新谷10号楼1单元1203室", base=base)
    rows = dict(found.rows())
    assert rows["road"] == "府城大道西段" and rows["match_level"] == "dwelling"
    assert rows["address_id"] == "D1"
    assert found.as_table().num_rows == len(found.rows())
    alone = explain("成都市武侯区人民南路四段12号")
    assert alone.match is None and dict(alone.rows())["district_code"] == "510107"


def test_estate_named_with_its_zone() -> None:
    table = pa.table(
        {
            "estate": ["云谷D区"],
            "building": ["1"],
            "unit": ["1"],
            "room": ["101"],
            "road_number_id": ["RN9"],
            "building_id": ["B9"],
            "unit_id": ["U9"],
            "dwelling_id": ["D9"],
        }
    )
    zoned = AddressBase(table)
    assert zoned.match(parse("云谷D区1-1-101")).address_id == "D9"
    assert zoned.parser().parse("云谷D区1栋").estate == "云谷D区"
