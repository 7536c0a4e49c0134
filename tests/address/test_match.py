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


# An old road (站前路) was split: its name now belongs to 天府二街 and 天府六街. Numbers 8 and 10
# exist on both; 12 only on 天府六街. Two compounds with one name (金色家园) in two communities.
SPLIT_ROWS = [
    ("天府二街", "8", "蓝湾", "1", "1", "101", "R8A", "B8A1", "U8A", "D8A", "桂溪街道", "和平社区"),
    (
        "天府二街",
        "8",
        "蓝湾",
        "2",
        "1",
        "101",
        "R8A",
        "B8A2",
        "U8A2",
        "D8A2",
        "桂溪街道",
        "和平社区",
    ),
    ("天府六街", "8", "锦苑", "1", "1", "101", "R8B", "B8B1", "U8B", "D8B", "桂溪街道", "新苑社区"),
    (
        "天府二街",
        "10",
        None,
        "1",
        "1",
        "101",
        "R10A",
        "B10A",
        "U10A",
        "D10A",
        "桂溪街道",
        "和平社区",
    ),
    (
        "天府六街",
        "10",
        None,
        "1",
        "1",
        "101",
        "R10B",
        "B10B",
        "U10B",
        "D10B",
        "桂溪街道",
        "新苑社区",
    ),
    ("天府六街", "12", None, "1", "1", "101", "R12", "B12", "U12", "D12", "桂溪街道", "新苑社区"),
    (
        "天府二街",
        "20",
        "金色家园",
        "1",
        "1",
        "101",
        "R20",
        "B20",
        "U20",
        "D20",
        "桂溪街道",
        "和平社区",
    ),
    (
        "天府六街",
        "30",
        "金色家园",
        "1",
        "1",
        "101",
        "R30",
        "B30",
        "U30",
        "D30",
        "桂溪街道",
        "新苑社区",
    ),
    (
        "天府六街",
        "40",
        "中海锦苑",
        "3",
        "2",
        "403",
        "R40",
        "B40",
        "U40",
        "D40",
        "桂溪街道",
        "新苑社区",
    ),
    (
        "天府六街",
        "40",
        "中海锦苑",
        "1",
        "1",
        "101",
        "R40",
        "B41",
        "U41",
        "D41",
        "桂溪街道",
        "新苑社区",
    ),
    (
        "天府二街",
        "50",
        "中海苑",
        "1",
        "1",
        "101",
        "R50",
        "B50",
        "U50",
        "D50",
        "桂溪街道",
        "和平社区",
    ),
]
SPLIT_NAMES = [
    "road", "road_number", "estate", "building", "unit", "room",
    "road_number_id", "building_id", "unit_id", "dwelling_id", "street", "community",
]  # fmt: skip


@pytest.fixture(scope="module")
def split() -> AddressBase:
    columns = list(zip(*SPLIT_ROWS, strict=True))
    table = pa.table({n: list(v) for n, v in zip(SPLIT_NAMES, columns, strict=True)})
    return AddressBase(table, road_aliases={"站前路": ("天府二街", "天府六街"), "老路": "天府二街"})


@pytest.mark.parametrize(
    ("text", "dwelling"),
    [
        ("站前路12号1栋1单元101", "D12"),  # the number is on one of the new roads only
        ("站前路8号蓝湾1栋1单元101", "D8A"),  # the estate says which
        ("站前路8号2栋1单元101", "D8A2"),  # only 天府二街8号 has a building 2
        ("老路10号1栋1单元101", "D10A"),  # a plain rename
        ("和平社区金色家园1栋1单元101", "D20"),  # the community tells the two 金色家园 apart
        ("新苑社区金色家园1-1-101", "D30"),
        ("中海金苑3栋2单元403", "D40"),  # 金 sounds as 锦: the parser's homophone fix
        ("中海绵苑3栋2单元403", "D40"),  # 绵 looks like 锦; only 中海锦苑 has 3栋2单元403
    ],
)
def test_split_roads_shared_names_and_typos_settled_by_evidence(
    split: AddressBase, text: str, dwelling: str
) -> None:
    result = split.match(split.parser().parse(text))
    assert (result.level, result.dwelling_id) == (MatchLevel.DWELLING, dwelling), result
    assert result.confidence >= split.threshold and not result.review


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("站前路10号1栋1单元101", "old road name 站前路 is now 天府二街 / 天府六街"),
        ("站前路8号", "old road name 站前路 is now"),
        ("金色家园1栋1单元101", "2 road numbers fit"),  # no community: which 金色家园?
        ("中海绵苑1栋1单元101", "no estate 中海绵苑"),  # 中海锦苑 and 中海苑 both hold it
        ("中海绵苑9栋1单元101", "no estate 中海绵苑"),  # neither holds it
    ],
)
def test_what_evidence_cannot_settle_stays_unmatched(
    split: AddressBase, text: str, reason: str
) -> None:
    result = split.match(split.parser().parse(text))
    assert result.level == MatchLevel.NONE, result
    assert result.reason is not None and reason in result.reason


@pytest.mark.parametrize(
    ("text", "outside"),
    [
        ("北京市海淀区府城大道西段399号天府新谷10号楼1单元1203室", "北京市"),
        ("重庆市渝北区锦城大道666号锦城公寓B座21楼1号", "重庆市"),
        ("福建省福州市鼓楼区锦城大道668号", "福州市"),
        ("河南省郑州市郑东新区府城大道西段399号", "郑州市"),
        ("浙江省杭州市下城区天府新谷10栋1单元1203", "杭州市"),
        ("浙江省府城大道西段399号", "浙江省"),
    ],
)
def test_an_address_in_another_city_never_matches(
    base: AddressBase, text: str, outside: str
) -> None:
    result = base.match(parse(text))
    assert (result.level, result.address_id) == (MatchLevel.NONE, None)
    assert result.reason == f"outside the city: {outside}"
    assert base.outside(parse(text)) == outside


def test_the_city_itself_and_no_city_written_are_inside(base: AddressBase) -> None:
    for text in ("四川省成都市武侯区府城大道西段399号", "府城大道西段399号"):
        assert base.outside(parse(text)) is None
        assert base.match(parse(text)).address_id == "RN1"


def test_a_base_covering_a_named_region() -> None:
    table = pa.table({"road": ["锦城大道"], "road_number": ["668"], "road_number_id": ["RN3"]})
    region = AddressBase(table, region="510100")
    assert region.outside(parse("上海市锦城大道668号")) == "上海市"
    assert region.match(parse("成都市锦城大道668号")).address_id == "RN3"
    # a base with no district codes and no region checks nothing
    assert AddressBase(table).match(parse("上海市锦城大道668号")).address_id == "RN3"
