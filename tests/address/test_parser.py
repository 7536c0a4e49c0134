"""Real-looking addresses, written the ways people write them, with their expected components."""

from __future__ import annotations

import pytest

from citybrain.address import (
    DEFAULT_ZONES,
    AddressParser,
    Gazetteer,
    ParserConfig,
    ZoneAlias,
    parse,
    parse_many,
)

pytestmark = pytest.mark.usefixtures("divisions_installed")

# (address as written, expected components as "name=value …", "-" for None)
CASES: list[tuple[str, str]] = [
    (
        "四川省成都市高新区天府大道北段1700号环球中心E1区3栋2单元1203室",
        "province=四川省 city=成都市 city_code=510100 "
        "district=成都高新技术产业开发区 district_code=- road=天府大道北段 "
        "road_number=1700 estate=环球中心 zone=E1区 building=3 unit=2 floor=12 "
        "room=1203",
    ),
    (
        "成都市武侯区人民南路四段12号",
        "province=四川省 province_code=510000 city=成都市 district=武侯区 "
        "district_code=510107 road=人民南路四段 road_number=12 estate=-",
    ),
    ("成都市武侯区人民南路4段12号", "district=武侯区 road=人民南路四段 road_number=12"),
    ("成都市武侯区人民南路四段十二号附近", "district=武侯区 road=人民南路四段 road_number=12"),
    ("天府三街288号附近", "province=- road=天府三街 road_number=288 estate=-"),
    (
        "府城大道西段399号天府新谷10号楼1单元",
        "road=府城大道西段 road_number=399 estate=天府新谷 building=10 unit=1",
    ),
    (
        "成都武侯区玉林街道玉林北路3-2-1203",
        "city=成都市 district=武侯区 street=玉林街道 street_code=510107005 "
        "road=玉林北路 building=3 unit=2 room=1203 floor=12",
    ),
    (
        "武侯区桂溪街道3栋2-1203",
        "city=成都市 district=武侯区 street=桂溪街道 building=3 unit=2 room=1203",
    ),
    ("3幢2单元十二楼三号", "building=3 unit=2 floor=12 room=1203"),
    # A community named like a city or district is a community (金华市, 南湖区, 长寿区 exist).
    (
        "金华社区金地和鸣1栋2单元601室",
        "province=- city=- district=- community=金华社区 estate=金地和鸣 building=1 room=601",
    ),
    ("南湖社区远洋花苑1栋2单元203室", "district=- community=南湖社区 estate=远洋花苑 room=203"),
    ("长寿社区锦江雅居2栋1单元101", "district=- community=长寿社区 estate=锦江雅居 unit=1"),
    ("锦江雅居二栋三单苑五〇二室", "estate=锦江雅居 building=2 unit=3 room=502 floor=5"),
    ("1203室", "room=1203 floor=12 building=-"),
    ("某某花园二〇一室", "estate=某某花园 room=201 floor=2"),
    ("锦绣苑两单元三楼", "estate=锦绣苑 unit=2 floor=3"),
    ("天府软件园B座", "estate=天府软件园 building=B"),
    (
        "北京市朝阳区建国路88号SOHO现代城A座1501",
        "province=北京市 city=北京市 district=朝阳区 district_code=110105 "
        "road=建国路 road_number=88 estate=SOHO现代城 building=A room=1501",
    ),
    ("凉山州西昌市胜利路5号", "province=四川省 city=凉山彝族自治州 district=西昌市 road=胜利路"),
    (
        "广西南宁市青秀区民族大道100号",
        "province=广西壮族自治区 city=南宁市 district=青秀区 road=民族大道",
    ),
    (
        "成都市金牛区营门口街道花照壁社区居委会",
        "district=金牛区 street=营门口街道 community=花照壁社区",
    ),
    (
        "四川省成都市锦江区红星路三段1号IFS国际金融中心二号办公楼30楼",
        "district=锦江区 road=红星路三段 road_number=1 estate=IFS国际金融中心 building=2 floor=30",
    ),
    (
        "成都市郫都区犀浦镇百草路886号",
        "district=郫都区 street=犀浦街道 road=百草路 road_number=886",
    ),
    (
        "成都市天府新区华阳街道正西街",
        "city=成都市 district=四川天府新区成都直管区 street=华阳街道 road=正西街",
    ),
    (
        "深圳市福田区福华三路与金田路交汇处卓越世纪中心1号楼2201",
        "province=广东省 district=福田区 road=福华三路 estate=卓越世纪中心 building=1 room=2201",
    ),
    (
        "上海市浦东新区世纪大道100号环球金融中心56层",
        "province=上海市 district=浦东新区 road=世纪大道 estate=环球金融中心 floor=56",
    ),
    (
        "四川省成都市武侯区 科华北路 65号 1栋1单元 801",
        "road=科华北路 road_number=65 building=1 unit=1 room=801 floor=8",
    ),
    ("成都市武侯区玉林南路8号附2号", "road=玉林南路 road_number=8附2"),
    ("成都市金牛区二环路北一段10号", "road=二环路北一段 road_number=10"),
    ("成都市锦江区督院街30号院内", "road=督院街 road_number=30"),
    ("成都市青羊区清江东路二三四号", "road=清江东路 road_number=234"),
    (
        "新疆乌鲁木齐市天山区解放北路",
        "province=新疆维吾尔自治区 city=乌鲁木齐市 district=天山区 road=解放北路",
    ),
    ("延边州延吉市", "province=吉林省 city=延边朝鲜族自治州 district=延吉市"),
    ("重庆市渝北区龙溪街道金龙路", "province=重庆市 district=渝北区 street=龙溪街道"),
    ("南京路100号", "province=- city=- road=南京路 road_number=100"),
    ("天津市和平区南京路189号", "province=天津市 district=和平区 road=南京路"),
    ("成都市龙泉驿区龙泉街道北京路777号", "district=龙泉驿区 road=北京路"),
    ("ＳＯＨＯ现代城Ａ座１５０１", "estate=SOHO现代城 building=A room=1501"),
    ("万科城三期5栋2-1203 门口往东50米", "estate=万科城 zone=3期 building=5 unit=2 room=1203"),
    ("金色海岸5-302", "estate=金色海岸 building=5 room=302 floor=3"),
    ("双流区黄水镇永福村3组12号", "district=双流区 street=黄水镇 community=永福村"),
    (
        "天府大道北段1700环球中心3栋",
        "road=天府大道北段 road_number=1700 estate=环球中心 building=3",
    ),
    ("天府三街288", "road=天府三街 road_number=288"),
    (
        "北京市西城区金融街7号英蓝国际金融中心3号楼2门301",
        "district=西城区 road=金融街 road_number=7 estate=英蓝国际金融中心 "
        "building=3 unit=2 room=301",
    ),
    ("阳光小区第3栋2单元101", "estate=阳光小区 building=3 unit=2 room=101 floor=1"),
    ("成都市锦江区春熙路东门", "road=春熙路 estate=东门 building=-"),
    ("成都市武侯区武侯祠大街231号", "district=武侯区 road=武侯祠大街 road_number=231"),
    ("成都市武侯祠大街231号", "city=成都市 district=- road=武侯祠大街"),
    ("成都市锦江区东大街紫东楼段35号", "road=东大街紫东楼段 road_number=35"),
    (
        "成都市武侯区科华北路62号力宝大厦北楼12F",
        "road=科华北路 estate=力宝大厦 building=北楼 floor=12",
    ),
    ("成都市双流县华阳镇", "district=双流区 street=华阳街道"),
    ("湖北省仙桃市干河街道", "province=湖北省 city=- district=仙桃市 street=干河街道"),
    ("海南省儋州市那大镇", "city=儋州市 district=- street=那大镇"),
    ("成都市金牛区茶店子路12号院2栋", "road=茶店子路 road_number=12 building=2"),
    ("成都市锦江区春熙路北段88号3楼306", "road=春熙路北段 floor=3 room=306"),
    ("江苏省苏州市工业园区星湖街328号", "district=苏州工业园区 road=星湖街 road_number=328"),
    ("天津市南开区鞍山西道", "district=南开区 road=鞍山西道"),
    ("天津市和平区南京路与贵州路交口", "city=天津市 district=和平区 road=南京路"),
    ("天津市", "province=天津市 city=天津市"),
    ("深圳南山科技园", "city=深圳市 district=南山区 estate=科技园"),
    ("广东省广州市天河区天河路385号太古汇一座", "road=天河路 estate=太古汇 building=1"),
    ("山东省青岛市市南区香港中路10号", "city=青岛市 district=市南区 road=香港中路"),
    (
        "四川省成都市武侯区四川省成都市武侯区人民南路四段12号",
        "province=四川省 city=成都市 district=武侯区 road=人民南路四段 road_number=12",
    ),
    ("成都市成都市武侯区人民南路四段12号", "city=成都市 district=武侯区 road=人民南路四段"),
    (
        "张三13800138000四川省成都市武侯区人民南路四段12号",
        "province=四川省 district=武侯区 road=人民南路四段 road_number=12",
    ),
    ("成都市武侯区人民南路四段12号 电话:028-85551234", "road=人民南路四段 road_number=12"),
    ("甘肃嘉峪关嘉峪关市光华巷1840号", "province=甘肃省 city=嘉峪关市 district=嘉峪关市"),
    (
        "云南普洱镇沅彝族哈尼族拉祜族自治县金沙南街1179号",
        "city=普洱市 district=镇沅彝族哈尼族拉祜族自治县 road=金沙南街",
    ),
]


def _expected(spec: str) -> dict[str, str | None]:
    pairs = (item.split("=", 1) for item in spec.split())
    return {key: None if value == "-" else value for key, value in pairs}


@pytest.mark.parametrize(("text", "spec"), CASES, ids=[c[0] for c in CASES])
def test_real_looking_addresses(text: str, spec: str) -> None:
    expected = _expected(spec)
    parsed = parse(text)
    got = {key: getattr(parsed, key) for key in expected}
    assert got == expected


def test_missing_upper_levels_are_inferred_from_a_unique_district() -> None:
    parsed = parse("武侯区人民南路四段12号")
    assert (parsed.province, parsed.city, parsed.district) == ("四川省", "成都市", "武侯区")
    assert parsed.admin_inferred


def test_an_ambiguous_district_is_not_guessed() -> None:
    parsed = parse("朝阳区建国路88号")
    assert (parsed.province, parsed.city, parsed.district_code) == (None, None, None)
    assert parsed.district == "朝阳区"
    assert any("ambiguous" in note for note in parsed.notes)


def test_default_region_decides_an_ambiguous_or_missing_prefix() -> None:
    chengdu = AddressParser(ParserConfig(default_region="510100"))
    parsed = chengdu.parse("高新区锦城大道666号奥克斯广场B座21楼")
    assert (parsed.city, parsed.district) == ("成都市", "成都高新技术产业开发区")
    assert (parsed.road, parsed.estate, parsed.building, parsed.floor) == (
        "锦城大道",
        "奥克斯广场",
        "B",
        "21",
    )
    bare = chengdu.parse("天府三街288号")
    assert (bare.city, bare.road) == ("成都市", "天府三街")
    changchun = AddressParser(ParserConfig(default_region="220100"))
    assert changchun.parse("高新区").district_code == "220173"


def test_admin_typo_is_fixed_only_when_one_name_is_that_close() -> None:
    parsed = parse("成都市武候区人民南路四段12号")
    assert (parsed.district, parsed.road) == ("武侯区", "人民南路四段")
    assert "admin typo: 武候区 → 武侯区" in parsed.notes
    assert parse("四川省成部市武侯区").city == "成都市"
    # 武候区 alone is one edit from 武侯区, 武陵区, 武江区 …: left alone.
    assert parse("武候区人民南路").district is None


def test_gazetteer_aliases_typos_and_inference() -> None:
    gazetteer = Gazetteer(
        roads={"天府大道北段": "510107", "锦城大道": None},
        estates={"奥克斯广场": None},
        road_aliases={"红星路北段": "天府大道北段"},
    )
    parser = AddressParser(ParserConfig(gazetteer=gazetteer))
    old = parser.parse("红星路北段1700号")
    assert old.road == "天府大道北段"
    assert old.district == "武侯区"  # inferred from the road's district in the gazetteer
    typo = parser.parse("锦程大道666号奥克丝广场B座")
    assert (typo.road, typo.estate) == ("锦城大道", "奥克斯广场")
    assert any("typo" in note for note in typo.notes)


def test_canonical_string_is_the_same_for_variants() -> None:
    variants = [
        "成都市武侯区人民南路四段12号",
        "四川成都武侯区人民南路4段十二号",
        "四川省成都市武侯区人民南路四段12号附近",
        "  成都市 武侯区 人民南路４段１２号 ",
    ]
    assert len({parse(v).canonical for v in variants}) == 1
    assert parse(variants[0]).canonical == "四川省成都市武侯区人民南路四段12号"


def test_rows_and_table_for_the_cli() -> None:
    parsed = parse("成都市武侯区人民南路四段12号")
    rows = dict(parsed.rows())
    assert rows["district"] == "武侯区" and rows["canonical"] == parsed.canonical
    table = parsed.as_table()
    assert table.column_names == ["component", "value"]
    assert table.num_rows == len(parsed.rows())


def test_empty_and_none_do_not_fail() -> None:
    assert parse("").canonical == ""
    assert parse(None).raw == ""
    assert parse("附近").canonical == ""


def test_parsing_is_deterministic() -> None:
    text = "四川省成都市高新区天府大道北段1700号环球中心E1区3栋2单元1203室"
    assert AddressParser().parse(text) == AddressParser().parse(text) == parse(text)


def test_a_configured_zone_keeps_its_code_and_its_streets_are_not_corrected() -> None:
    zone = ZoneAlias("示例高新区", "510100", ("高新区",), code="510109")
    parser = AddressParser(ParserConfig(default_region="510100", zones=(*DEFAULT_ZONES, zone)))
    parsed = parser.parse("四川省成都市示例高新区芳章街道锦城大道7号仁恒名城1栋1单元202室")
    # 芳章街道 is one edit from 芳草街道 (武侯区's 芳草街街道 until 2019), but a zone's streets
    # are not in the data.
    assert (parsed.district, parsed.district_code) == ("示例高新区", "510109")
    assert (parsed.street, parsed.street_code) == ("芳章街道", None)
    # With the default zones too, 高新区 in 成都 could be either zone: left undecided …
    assert parser.parse("高新区锦城大道7号").district_code is None
    # … so a city whose 高新区 is the fictional one lists only its own zones.
    own = AddressParser(ParserConfig(default_region="510100", zones=(zone,)))
    assert own.parse("高新区锦城大道7号").district_code == "510109"


def test_an_unknown_functional_area_is_kept_without_a_code() -> None:
    parsed = parse("四川省成都市示例高新区芳草街道锦城大道7号")
    assert (parsed.city, parsed.district, parsed.district_code) == ("成都市", "示例高新区", None)
    # 芳草街道: 武侯区's 芳草街街道 as the 2015 codes wrote it
    assert (parsed.street, parsed.admin_status) == ("芳草街街道", "historical")
    assert not any(note.startswith("admin typo") for note in parsed.notes)


def test_a_city_typo_is_fixed_by_the_next_name_or_the_default_region() -> None:
    # 城都市 is one edit from 成都市, 宜都市 and 昌都市.
    assert parse("城都市锦城大道7号").city is None
    assert parse("城都市武侯区人民南路").district == "武侯区"  # only 成都市 holds 武侯区
    chengdu = AddressParser(ParserConfig(default_region="510100"))
    assert chengdu.parse("城都市锦城大道7号").city == "成都市"


def test_a_city_typo_before_a_functional_area_is_fixed_not_read_as_the_area() -> None:
    # The synthetic city's 成督市示例高新区 had been read as one area of the province.
    for text, city, area in [
        ("四川省成督市示例高新区芳草街道锦城大道7号", "成都市", "示例高新区"),
        ("河南省郑洲市郑东新区商务外环路1号", "郑州市", "郑东新区"),
    ]:
        parsed = parse(text)
        assert (parsed.city, parsed.district) == (city, area), parsed
        assert any(note.startswith("admin typo") for note in parsed.notes)


def test_unit_typos_and_names_ending_in_marker_words() -> None:
    parsed = parse("中海锦元1栋2单园103")
    assert (parsed.estate, parsed.building, parsed.unit, parsed.room) == (
        "中海锦元",
        "1",
        "2",
        "103",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # lane number, then the building in the lane, then the room (Shanghai 弄)
        ("上海市静安区愚园路1088弄12号302室", "road=愚园路 road_number=1088 building=12 room=302"),
        # a lane off a street: the number is the lane's
        ("苏州市姑苏区观前街大井巷12号", "road=大井巷 road_number=12"),
        # a place before the road is no part of it
        ("深圳市南山区科技园科苑路15号", "road=科苑路 road_number=15"),
        ("广州市天河区珠江新城花城大道85号", "road=花城大道 road_number=85"),
        # a firm's or shop's name after the room
        ("南京市鼓楼区中山北路30号3楼301室南京某某科技有限公司", "road_number=30 floor=3 room=301"),
        ("北京市朝阳区建国路88号SOHO现代城A座1501室王记面馆", "estate=SOHO现代城 room=1501"),
        # a town without its 镇/街道 after its county; a place named after a town is not the town
        ("苏州市吴中区木渎金山路", "street=木渎镇 road=金山路"),
        ("成都市金牛区荷花池市场2楼B区108号", "street=None"),
        # the 镇 written for a town that is a 街道 today
        ("苏州市吴江区松陵镇中山北路288号", "street=松陵街道 road=中山北路 road_number=288"),
    ],
)
def test_detail_forms_people_write(text: str, expected: str) -> None:
    parsed = parse(text)
    want = dict(pair.split("=") for pair in expected.split())
    got = {key: str(getattr(parsed, key)) for key in want}
    assert got == want, parsed


def test_a_county_the_data_does_not_know_is_kept_apart_from_the_road() -> None:
    # 燕山区 was merged into 房山区 in 1986: in no snapshot and not in the hand-written history
    parsed = parse("北京市燕山区前门大街")
    assert (parsed.city, parsed.district, parsed.district_code) == ("北京市", "燕山区", None)
    assert parsed.road == "前门大街"
    assert "unknown district: 燕山区" in parsed.notes


@pytest.mark.parametrize(
    ("text", "road", "number"),
    [
        ("宁波市慈溪周巷", None, None),
        ("宁波慈溪周巷镇兴业路18号", "兴业路", "18"),
        ("慈溪周巷兴业路18号", "兴业路", "18"),  # the county's short name written first
    ],
)
def test_a_county_short_name_then_a_town_short_name(
    text: str, road: str | None, number: str | None
) -> None:
    # 周巷 (周巷镇 of 慈溪市) looks like a lane (…巷) and two towns in China share it: after its
    # county it is that county's town, and the county's short name is no road's start.
    p = parse(text)
    assert (p.city, p.district, p.street) == ("宁波市", "慈溪市", "周巷镇")
    assert (p.road, p.road_number) == (road, number)
    assert parse_many([text]).to_pylist()[0]["street"] == "周巷镇"


@pytest.mark.parametrize(
    ("text", "road"),
    [
        ("宁波市慈溪周巷路5号", "周巷路"),  # the town's short name starts a road
        ("新疆乌鲁木齐市天山区解放北路", "解放北路"),  # a town named after its road (解放北路街道)
    ],
)
def test_a_town_short_name_that_starts_a_road_is_the_road(text: str, road: str) -> None:
    p = parse(text)
    assert p.street is None
    assert p.road == road


def test_patterns_read_by_position_hold_their_groups_in_that_order() -> None:
    """`AddressParser._finish` and `_detail_parts` unpack `match.groups()` by position: a group
    added or moved in a pattern must show here, not as components read into the wrong field."""
    from citybrain.address.parser import _DETAIL, _DETAIL_NO_DASH, _head

    head = [
        "district",
        "street",
        "community",
        "group",
        "road",
        "number",
        "annex",
        "road2",
        "number2",
        "annex2",
    ]
    for flags in [(a, b, c) for a in (False, True) for b in (False, True) for c in (False, True)]:
        pattern = _head(*flags)
        assert pattern.groups == len(head)
        assert sorted(pattern.groupindex, key=pattern.groupindex.__getitem__) == head
    detail = ["b1", "u1", "r1", "b2", "u2", "r2", "b3", "r3", "b4", "u4", "f4", "r4"]
    assert _DETAIL.groups == len(detail)
    assert sorted(_DETAIL.groupindex, key=_DETAIL.groupindex.__getitem__) == detail
    assert _DETAIL_NO_DASH.groups == 4
    assert sorted(_DETAIL_NO_DASH.groupindex, key=_DETAIL_NO_DASH.groupindex.__getitem__) == [
        "b4",
        "u4",
        "f4",
        "r4",
    ]
