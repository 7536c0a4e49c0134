"""Addresses as people write them by hand: noise words, phases and zones, building words,
basements and shop fronts, villages and groups, towns and townships, spaces and punctuation, and
the usual slips of the pinyin keyboard. Expected components are written "name=value …"."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citybrain.address import AddressParser, ParserConfig, parse

pytestmark = pytest.mark.usefixtures("divisions_installed")

CASES: list[tuple[str, str]] = [
    # a city and a district's short name: the district, not a street of another district
    ("广州白云", "city=广州市 district=白云区 street=-"),
    # 新区 that became districts (深圳 2016/2018), and the X地区 of prefectures made cities
    ("深圳市龙华新区观澜街道", "district=龙华区 street=观澜街道"),
    ("青海省海东地区乐都县", "city=海东市 district=乐都区"),
    # national new areas written first; a county after one is the district
    ("雄安新区容城县", "province=河北省 city=保定市 district=容城县"),
    ("贵安新区", "province=贵州省 city=- district=贵安新区"),
    ("西咸新区沣东新城", "province=陕西省 district=西咸新区"),
    ("两江新区礼嘉街道", "city=重庆市 district=两江新区 street=礼嘉街道"),
    ("广州南沙新区", "city=广州市 district=南沙区"),
    ("深圳大鹏新区葵涌街道", "city=深圳市 district=大鹏新区 street=葵涌街道"),
    # names ending in a direction (浦东, 山东) are names, not "go east" noise
    ("上海浦东", "city=上海市 district=浦东新区"),
    ("山东", "province=山东省"),
    # a town alone whose name is another town's short name (佳县 乌镇, 桐乡 乌镇镇): not placed
    ("乌镇", "province=- district=-"),
    ("香港九龙", "province=香港特别行政区 city=-"),
    # the statistical table's placeholders, as exports joining its names write them
    ("广东省广州市市辖区天河区", "city=广州市 district=天河区"),
    ("湖北省省直辖县级行政区划仙桃市", "province=湖北省 district=仙桃市"),
    ("新疆维吾尔自治区自治区直辖县级行政区划石河子市", "city=- district=石河子市"),
    ("重庆市县巫山县", "city=重庆市 district=巫山县"),
    # a city renamed before the 2015 codes (襄樊 → 襄阳, 2010): its successor, not a typo fix
    ("湖北省襄樊市樊城区", "city=襄阳市 district=樊城区"),
    # noise: near, beside, opposite, at the gate — the place is still the road number
    ("成都市武侯区人民南路四段12号附近", "district=武侯区 road=人民南路四段 road_number=12"),
    ("武侯区科华北路62号力宝大厦旁边", "road=科华北路 road_number=62 estate=力宝大厦"),
    ("锦江区红星路三段1号IFS对面", "road=红星路三段 road_number=1 estate=IFS"),
    ("青羊区蜀都大道少城路口旁边", "district=青羊区 road=蜀都大道 estate=-"),
    ("人民南路四段12号十字路口", "road=人民南路四段 road_number=12 estate=-"),
    ("金牛区营门口路88号院3号楼2单元501", "road_number=88 building=3 unit=2 room=501"),
    ("锦江区书院正街18号附3号", "road=书院正街 road_number=18附3"),
    # estate phases (期) and zones (区)
    (
        "双流区华阳街道正北上街100号二期5栋1单元602",
        "street=华阳街道 road=正北上街 zone=2期 building=5 unit=1 floor=6 room=602",
    ),
    (
        "温江区柳城街道光华大道三段1588号珠江国际2期3-1-1502",
        "estate=珠江国际 zone=2期 building=3 unit=1 floor=15 room=1502",
    ),
    ("青白江区大弯街道凤凰大道333号A区6栋", "road=凤凰大道 zone=A区 building=6"),
    ("万科城三期5栋2-1203", "estate=万科城 zone=3期 building=5 unit=2 room=1203"),
    # building words: 座, 号楼, 幢, 栋, F for floor
    ("高新区益州大道中段555号星宸国际A座1708", "estate=星宸国际 building=A floor=17 room=1708"),
    ("武侯区长华路19号万科汇智中心A座12F", "estate=万科汇智中心 building=A floor=12 room=-"),
    ("成都市锦江区总府路2号时代广场A座18楼", "estate=时代广场 building=A floor=18"),
    ("锦江区水碾河路9号1栋2单元6楼12号", "building=1 unit=2 floor=6 room=612"),
    ("天府软件园E区5号楼3楼", "estate=天府软件园 zone=E区 building=5 floor=3"),
    # basements and shop fronts
    ("龙泉驿区龙泉街道驿都大道88号负一楼商铺", "road=驿都大道 road_number=88 floor=-1 estate=-"),
    ("青羊区草市街2号B1-12商铺", "road=草市街 road_number=2 floor=-1 room=12"),
    ("成华区建设路56号门面", "road=建设路 road_number=56 estate=-"),
    ("高新区天府五街168号德必天府五街WE2号楼B1层", "estate=德必天府五街WE building=2 floor=-1"),
    # villages and groups: the group is where a village's numbers run
    ("郫都区犀浦镇天府村3组15号", "street=犀浦街道 community=天府村 road=3组 road_number=15"),
    ("新津区花源镇白云村二组28号", "community=白云村 road=2组 road_number=28"),
    ("大邑县安仁镇民乐村11组22号附1号", "community=民乐村 road=11组 road_number=22附1"),
    ("武侯区簇桥街道七里村6组", "street=簇桥街道 community=七里村 road=6组 road_number=-"),
    ("金堂县赵镇十里社区5组", "district=金堂县 street=赵镇街道 community=十里社区 road=5组"),
    ("蒲江县大塘镇西来村村委会", "street=大塘镇 community=西来村"),
    # 街道, 镇 and 乡
    ("崇州市崇阳街道蜀州中路289号", "district=崇州市 street=崇阳街道 road=蜀州中路"),
    ("四川省成都市双流县东升镇", "district=双流区 street=东升街道"),
    ("金堂县栖贤乡", "district=金堂县 street=栖贤街道"),
    # communities named like a city or district are communities
    ("金华社区金地和鸣1栋2单元601室", "district=- community=金华社区 estate=金地和鸣"),
    # spaces and punctuation
    ("成都市武侯区 桐梓林北路 6号 2栋 3单元 902", "road=桐梓林北路 building=2 unit=3 room=902"),
    ("成都市武侯区,桐梓林北路6号,2栋3单元902", "road=桐梓林北路 building=2 unit=3 room=902"),
    ("成都市武侯区（桐梓林北路6号）2栋3单元902", "road=桐梓林北路 building=2 unit=3 room=902"),
    ("成都市武侯区、桐梓林北路6号。2栋-3单元-902室", "building=2 unit=3 room=902"),
    ("地址：成都市锦江区春熙路18号3楼302", "district=锦江区 road=春熙路 floor=3 room=302"),
    # names, phones and labels around the address; spoken numbers; four-part shorthand
    ("锦江雅居2栋1单元101室（张三）", "estate=锦江雅居 building=2 unit=1 room=101"),
    ("锦江雅居2栋1单元101 李四收 13812345678", "estate=锦江雅居 building=2 unit=1 room=101"),
    ("锦江雅居2栋1单元101室王先生", "estate=锦江雅居 room=101"),
    ("收货人张三 锦江雅居2栋1单元101", "estate=锦江雅居 building=2 unit=1 room=101"),
    ("人民南路8号万达广场", "road=人民南路 road_number=8 estate=万达广场"),  # a name stays
    ("锦江雅居二号楼一单元一零一", "estate=锦江雅居 building=2 unit=1 room=101"),
    ("锦江雅居2-1-3-2", "estate=锦江雅居 building=2 unit=1 floor=3 room=302"),
    ("锦江雅居2栋1单元101号房", "estate=锦江雅居 building=2 unit=1 room=101"),
    ("锦江雅居3栋2单元顶楼", "estate=锦江雅居 building=3 unit=2 room=-"),
    # pinyin slips in the marker words, and full-width digits
    ("武侯区桐梓林北路6号2栋3单园902", "building=2 unit=3 room=902"),
    ("武侯区桐梓林北路6号2动3单元902", "building=2 unit=3 room=902"),
    ("武侯区桐梓林北路6号2栋3单无902", "building=2 unit=3 room=902"),
    ("桐梓林北路6号5撞2单元3搂1好", "building=5 unit=2 floor=3 room=301"),
    ("锦绣花园3栋2单元902是", "estate=锦绣花园 building=3 unit=2 room=902"),
    ("武侯区桐梓林北路６号２栋３单元９０２", "road_number=6 building=2 unit=3 room=902"),
    # market stalls: the market's floor, then its zone, then the stall (档)
    ("金牛区荷花池市场2楼B区108号", "estate=荷花池市场 zone=B区 floor=2 room=108"),
    ("白云区三元里大道白马服装市场3楼A区312档", "estate=白马服装市场 zone=A区 floor=3 room=312"),
    # Guangdong's 之: a part of a number, of a room, of a floor
    ("越秀区中山五路33号302之一", "road_number=33 floor=3 room=302之1"),
    ("天河区天河路208号1201之3", "road_number=208 floor=12 room=1201之3"),
    ("武侯区人民南路四段12号3楼之二", "road_number=12 floor=3 room=3之2"),
    ("荔湾区康王中路12号之1", "road=康王中路 road_number=12-1 estate=-"),
    # basements written as places or levels
    ("武侯区桐梓林北路6号地下室", "road_number=6 estate=- floor=-1"),
    ("武侯区桐梓林北路6号2栋地下室", "estate=- building=2 floor=-1"),
    ("海淀区中关村大街27号1号楼地下一层B12号", "estate=- building=1 floor=-1 room=B12"),
    # two addresses in one field: the first is read (the second is noted, see below); the
    # address now (现址), not the old one (原址, 原…)
    ("锦江区红星路三段1号 红星路三段3号", "road=红星路三段 road_number=1 estate=- room=-"),
    ("锦江区红星路三段1号，锦江区总府路2号", "road=红星路三段 road_number=1 estate=- room=-"),
    ("天河区体育西路103号/天河路208号", "road=体育西路 road_number=103 estate=- room=-"),
    (
        "原址成都市武侯区人民南路四段12号现址成都市武侯区科华北路62号",
        "district=武侯区 road=科华北路 road_number=62 estate=-",
    ),
    ("武侯区科华北路62号（原人民南路四段12号）", "road=科华北路 road_number=62 estate=- room=-"),
    # a landmark next to the number is the place; the word saying where is dropped
    ("西湖区文三路90号东部软件园对面", "road=文三路 road_number=90 estate=东部软件园"),
    # 义乌 markets: zone, gate, floor, the market's lane (N街: no road of the city), stall
    (
        "义乌国际商贸城二区东16门3楼2街12345号",
        "district=义乌市 road=- road_number=- estate=国际商贸城 zone=2区 floor=3 room=12345",
    ),
    (
        "浙江省义乌市国际商贸城五区2楼18街",
        "district=义乌市 road=- estate=国际商贸城 zone=5区 floor=2 room=-",
    ),
    ("义乌市篁园市场B座3楼5街12号", "road=- estate=篁园市场 building=B floor=3 room=312"),
    ("义乌国际商贸城五区东门2楼", "district=义乌市 estate=国际商贸城 zone=5区 floor=2 room=-"),
    ("杭州市四季青服装市场C区2楼12号", "estate=四季青服装市场 zone=C区 floor=2 room=212"),
    ("浙江义乌福田市场", "district=义乌市 road=- estate=福田市场"),
    ("成都市荷花池市场2楼B区108号", "road=- estate=荷花池市场 zone=B区 floor=2 room=108"),
    ("义乌稠州北路199号", "district=义乌市 road=稠州北路 road_number=199"),
    # 南苑区 (北京, abolished 1958): a county the data does not know, not 丰台区's 南苑街道
    ("北京市南苑区前门大街1号", "district=南苑区 district_code=- street=- road=前门大街"),
    ("北京南苑区", "district=南苑区 district_code=- street=- estate=-"),
    ("北京市丰台区南苑路5号", "district=丰台区 road=南苑路 road_number=5"),
    ("北京市丰台区南苑街道", "district=丰台区 street=南苑街道"),
]


def _expected(spec: str) -> dict[str, str | None]:
    pairs = (item.split("=", 1) for item in spec.split())
    return {key: None if value == "-" else value for key, value in pairs}


@pytest.mark.parametrize(("text", "spec"), CASES, ids=[c[0] for c in CASES])
def test_hand_written_addresses(text: str, spec: str) -> None:
    expected = _expected(spec)
    parsed = parse(text)
    assert {key: getattr(parsed, key) for key in expected} == expected, parsed


def test_a_city_parser_reads_a_bare_village_address() -> None:
    chengdu = AddressParser(ParserConfig(default_region="510100"))
    parsed = chengdu.parse("犀浦镇天府村3组15号")
    # 犀浦镇 has been 犀浦街道 since 2019: read as the street it became
    assert (parsed.city, parsed.street, parsed.community) == ("成都市", "犀浦街道", "天府村")
    assert parsed.admin_status == "historical"
    assert (parsed.road, parsed.road_number) == ("3组", "15")
    assert parsed.canonical.endswith("天府村3组15号")


NOISE = st.sampled_from(["附近", "旁边", "对面", "门口", "斜对面", "楼下", "东侧50米", ""])
SEPARATOR = st.sampled_from(["", " ", "，", ",", "　", "、"])


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["人民南路四段", "桐梓林北路", "天府大道北段"]),
    st.integers(1, 2999),
    st.integers(1, 30),
    st.integers(1, 6),
    st.integers(1, 33).flatmap(lambda f: st.integers(1, 8).map(lambda d: f * 100 + d)),
    SEPARATOR,
    NOISE,
)
def test_separators_and_trailing_noise_do_not_change_components(
    road: str, number: int, building: int, unit: int, room: int, sep: str, noise: str
) -> None:
    plain = parse(f"成都市武侯区{road}{number}号{building}栋{unit}单元{room}室")
    written = parse(
        f"成都市{sep}武侯区{sep}{road}{sep}{number}号{sep}{building}栋{sep}{unit}单元{sep}"
        f"{room}室{noise}"
    )
    assert written.canonical == plain.canonical
    assert (written.building, written.unit, written.room) == (str(building), str(unit), str(room))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 3), st.sampled_from(["负{n}楼", "负{n}层", "B{n}", "B{n}层", "-{n}楼"]))
def test_every_way_of_writing_a_basement_is_a_negative_floor(n: int, form: str) -> None:
    floor = form.format(n=n if "负" not in form else "一二三"[n - 1])
    if form == "B{n}":
        floor += "F"
    parsed = parse(f"成都市锦江区春熙路18号{floor}")
    assert parsed.floor == f"-{n}", (floor, parsed)


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("锦江区红星路三段1号 红星路三段3号", "second address: 红星路三段3号"),
        ("锦江区红星路三段1号，锦江区总府路2号", "second address: 锦江区总府路2号"),
        (
            "原址成都市武侯区人民南路四段12号现址成都市武侯区科华北路62号",
            "old address dropped: 成都市武侯区人民南路四段12号",
        ),
    ],
)
def test_a_second_address_in_the_field_is_noted_not_read(text: str, note: str) -> None:
    assert note in parse(text).notes


def test_a_market_lane_is_noted_never_a_road_of_the_city() -> None:
    parsed = parse("浙江省义乌市国际商贸城二区东16门3楼12街3456号")
    assert (parsed.road, parsed.road_number, parsed.room) == (None, None, "3456"), parsed
    assert "market lane: 12街" in parsed.notes and "market gate: 东16门" in parsed.notes
    # a road before the market is a road: the market form is not read then
    assert parse("义乌市稠州北路国际商贸城2街").road == "稠州北路"
