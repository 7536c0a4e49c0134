"""Division history: old county names (abolished, merged, renamed since the 2015 codes) read as
their successor with ``admin_status == "historical"``, the old name kept in the notes, and never
"corrected" into another live name.

The table is written by hand from the State Council's approvals as people still write the old
names (with their city, as an old system's record has them); the expected successor is the
county that took the old one over.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from citybrain.address import parse

pytestmark = pytest.mark.usefixtures("divisions_installed")

# (written, successor district) — the city of each is written before the old name.
OLD_COUNTIES: list[tuple[str, str]] = [
    ("浙江省杭州市江干区", "上城区"),
    ("杭州市下城区", "拱墅区"),
    ("杭州市临安市", "临安区"),
    ("宁波市江东区", "鄞州区"),
    ("宁波市奉化市", "奉化区"),
    ("台州市玉环县", "玉环市"),
    ("北京市密云县", "密云区"),
    ("北京市延庆县", "延庆区"),
    ("上海市闸北区", "静安区"),
    ("上海市崇明县", "崇明区"),
    ("天津市蓟县", "蓟州区"),
    ("重庆市开县", "开州区"),
    ("重庆市梁平县", "梁平区"),
    ("重庆市武隆县", "武隆区"),
    ("四川省成都市郫县", "郫都区"),
    ("成都市新津县", "新津区"),
    ("宜宾市宜宾县", "叙州区"),
    ("绵阳市安县", "安州区"),
    ("内江市隆昌县", "隆昌市"),
    ("遂宁市射洪县", "射洪市"),
    ("凉山州会理县", "会理市"),
    ("六盘水市盘县", "盘州市"),
    ("曲靖市马龙县", "马龙区"),
    ("昆明市晋宁县", "晋宁区"),
    ("西安市户县", "鄠邑区"),
    ("榆林市神木县", "神木市"),
    ("湖北省荆门市京山县", "京山市"),
    ("长沙市宁乡县", "宁乡市"),
    ("株洲市株洲县", "渌口区"),
    ("鹰潭市余江县", "余江区"),
    ("赣州市赣县", "赣县区"),
    ("福州市长乐市", "长乐区"),
    ("青岛市即墨市", "即墨区"),
    ("济南市章丘市", "章丘区"),
    ("济南市济阳县", "济阳区"),
    ("烟台市蓬莱市", "蓬莱区"),
    ("烟台市长岛县", "蓬莱区"),
    ("南通市海门市", "海门区"),
    ("承德市平泉县", "平泉市"),
    ("唐山市滦县", "滦州市"),
    ("邯郸市肥乡县", "肥乡区"),
    ("邯郸市永年县", "永年区"),
    ("张家口市崇礼县", "崇礼区"),
    ("张家口市万全县", "万全区"),
    ("衡水市冀州市", "冀州区"),
    ("邢台市任县", "任泽区"),
    ("邢台市南和县", "南和区"),
    ("晋中市太谷县", "太谷区"),
    ("朔州市怀仁县", "怀仁市"),
    ("长治市长治县", "上党区"),
    ("长治市屯留县", "屯留区"),
    ("长治市潞城市", "潞城区"),
    ("大同市大同县", "云州区"),
    ("沈阳市辽中县", "辽中区"),
    ("大连市普兰店市", "普兰店区"),
    ("洛阳市偃师市", "偃师区"),
    ("洛阳市孟津县", "孟津区"),
]


@pytest.mark.parametrize(("written", "successor"), OLD_COUNTIES)
def test_an_old_county_reads_as_its_successor(written: str, successor: str) -> None:
    parsed = parse(written + "人民路1号")
    assert parsed.district == successor, parsed
    assert parsed.district_code is not None
    assert parsed.admin_status == "historical"
    old = written.split("市", 1)[1] if "市" in written else written.split("州", 1)[1]
    assert any(n.startswith("historical: ") and old in n for n in parsed.notes), parsed.notes
    assert not any(n.startswith("admin typo") for n in parsed.notes)
    assert parsed.road == "人民路"


def test_the_table_is_large_enough() -> None:
    assert len(OLD_COUNTIES) >= 50


def test_an_old_district_split_in_two_reads_by_the_street_written() -> None:
    # 江干区 went mostly to 上城区 (2021), its 下沙 and 白杨 streets to 钱塘区.
    assert parse("杭州市江干区凯旋街道").district == "上城区"
    parsed = parse("杭州市江干区下沙街道")
    assert (parsed.district, parsed.street) == ("钱塘区", "下沙街道")


@pytest.mark.parametrize(
    ("written", "street"),
    [
        ("成都市郫都区犀浦镇", "犀浦街道"),
        ("成都市金堂县栖贤乡", "栖贤街道"),
    ],
)
def test_a_town_renamed_to_a_street_reads_as_the_street(written: str, street: str) -> None:
    parsed = parse(written)
    assert (parsed.street, parsed.admin_status) == (street, "historical")


def test_a_live_name_is_current() -> None:
    parsed = parse("杭州市上城区")
    assert (parsed.district, parsed.admin_status) == ("上城区", "current")
    assert parse("").admin_status is None


@pytest.mark.parametrize(
    ("written", "district", "street"),
    [
        # towns given to a new county of the same city, their old county still there
        ("深圳市宝安区龙华街道", "龙华区", "龙华街道"),  # 2016
        ("杭州市余杭区乔司街道乔司路12号", "临平区", "乔司街道"),  # 2021
        ("杭州市余杭区临平街道", "临平区", "临平街道"),
    ],
)
def test_a_town_under_the_county_it_left_reads_under_its_county_today(
    written: str, district: str, street: str
) -> None:
    parsed = parse(written)
    assert (parsed.district, parsed.street, parsed.admin_status) == (
        district,
        street,
        "historical",
    )
    assert parse("杭州市余杭区仓前街道").admin_status == "current"  # still 余杭区's


def test_a_town_written_with_another_suffix_reads_as_the_town() -> None:
    # 柳城街道 was 柳城镇 before the 2015 codes; 柳城 is also 柳城县's short name (in 广西)
    parsed = parse("成都市温江区柳城镇")
    assert (parsed.district, parsed.street) == ("温江区", "柳城街道")


def test_no_name_garbled_in_a_snapshot_is_read() -> None:
    # The 2015 snapshot spells 桴焉镇 as 桴\ufffd1\ufffd1乡: no one writes that, and a digit in a
    # name would turn off the reader's memo of where reading stops.
    from citybrain.address.admin import AdminReader
    from citybrain.address.divisions import default_index

    reader = AdminReader(default_index())
    garbled = [
        a for a in reader._names if "\ufffd" in a or any(c.isascii() and c.isalnum() for c in a)
    ]
    assert garbled == []


# Changes before the oldest snapshot (2015-09), hand-written in history_before_2015.csv:
# (written, old name, successor district).
BEFORE_2015: list[tuple[str, str, str]] = [
    ("北京市崇文区前门大街", "崇文区", "东城区"),
    ("北京宣武区广安门内大街", "宣武区", "西城区"),
    ("浙江省绍兴县柯桥街道", "绍兴县", "柯桥区"),
    ("绍兴市上虞市百官街道", "上虞市", "上虞区"),
    ("上海市卢湾区淮海中路", "卢湾区", "黄浦区"),
    ("上海市南汇区惠南镇", "南汇区", "浦东新区"),
    ("天津市塘沽区", "塘沽区", "滨海新区"),
    ("天津市大港区", "大港区", "滨海新区"),
    ("重庆市万盛区", "万盛区", "綦江区"),
    ("重庆市双桥区", "双桥区", "大足区"),
    ("苏州市平江区", "平江区", "姑苏区"),
    ("苏州市吴江市", "吴江市", "吴江区"),
    ("南京市白下区", "白下区", "秦淮区"),
    ("南京市下关区", "下关区", "鼓楼区"),
    ("杭州市富阳市", "富阳市", "富阳区"),
    ("杭州市萧山市", "萧山市", "萧山区"),
    ("宁波市鄞县", "鄞县", "鄞州区"),
    ("广州市萝岗区", "萝岗区", "黄埔区"),
    ("广州市东山区", "东山区", "越秀区"),
    ("广州市增城市", "增城市", "增城区"),
    ("哈尔滨市双城市", "双城市", "双城区"),
    ("青岛市四方区", "四方区", "市北区"),
    ("青岛市胶南市", "胶南市", "黄岛区"),
    # X县 that became a district (directly or through a county-level city): the rule-made alias
    # X县 of X区 read them as current; the row makes them historical.
    ("浙江省杭州市余杭县仓前镇", "余杭县", "余杭区"),  # 临平镇: see the moved towns below
    ("杭州市萧山县城厢镇", "萧山县", "萧山区"),
    ("浙江省富阳县", "富阳县", "富阳区"),
    ("杭州临安县锦城镇", "临安县", "临安区"),
    ("南京市江宁县东山镇", "江宁县", "江宁区"),
    ("江苏省南京市溧水县永阳镇", "溧水县", "溧水区"),
    ("南京高淳县", "高淳县", "高淳区"),
    ("重庆市綦江县古南镇", "綦江县", "綦江区"),
    ("重庆大足县龙岗镇", "大足县", "大足区"),
    # renamed, or prefectures (地区) made cities whose seat county took a new name, written
    # with the prefecture's old name too
    ("青海省海东地区乐都县", "乐都县", "乐都区"),
    ("西藏日喀则地区日喀则市", "日喀则市", "桑珠孜区"),
    ("新疆吐鲁番地区吐鲁番市", "吐鲁番市", "高昌区"),
    ("贵州省铜仁地区铜仁市", "铜仁市", "碧江区"),
    ("贵州省毕节地区毕节市", "毕节市", "七星关区"),
    ("湖北省襄阳市襄阳区", "襄阳区", "襄州区"),
    ("淮安市楚州区", "楚州区", "淮安区"),
    ("青海省海东市乐都县", "乐都县", "乐都区"),
    ("海东市平安县", "平安县", "平安区"),
    ("西藏林芝市林芝县", "林芝县", "巴宜区"),
    ("西藏昌都市昌都县", "昌都县", "卡若区"),
    ("贵州省铜仁市万山特区", "万山特区", "万山区"),
    # functional areas made districts later (no code, so in no snapshot)
    ("深圳市龙华新区观澜街道", "龙华新区", "龙华区"),
    ("深圳市光明新区公明街道", "光明新区", "光明区"),
]


@pytest.mark.parametrize(("written", "old", "successor"), BEFORE_2015)
def test_a_county_changed_before_2015_reads_as_its_successor(
    written: str, old: str, successor: str
) -> None:
    parsed = parse(written + "1号")
    assert (parsed.district, parsed.admin_status) == (successor, "historical"), parsed
    assert parsed.district_code is not None
    assert any(n.startswith(f"historical: {old} → {successor}") for n in parsed.notes)
    assert not any(n.startswith(("admin typo", "unknown district")) for n in parsed.notes)


def test_an_old_name_alone_reads_as_its_successor() -> None:
    for written, successor in (
        ("崇文区", "东城区"),
        ("宣武区", "西城区"),
        ("绍兴县", "柯桥区"),
        ("鄞县", "鄞州区"),
        ("余杭县", "余杭区"),
        ("萧山市", "萧山区"),
    ):
        parsed = parse(written)
        assert (parsed.district, parsed.admin_status) == (successor, "historical"), parsed


def test_a_live_county_of_an_old_name_stays_current() -> None:
    # 双桥区 of 承德 and 东山区 of 鹤岗 are live; 重庆's 双桥区 and 广州's 东山区 are gone.
    for written, district in (("承德市双桥区", "双桥区"), ("鹤岗市东山区", "东山区")):
        parsed = parse(written)
        assert (parsed.district, parsed.admin_status) == (district, "current"), parsed


def test_every_hand_written_change_names_a_live_county_or_city_as_successor() -> None:
    from citybrain.address.divisions import CITY, DISTRICT, default_index
    from citybrain.address.history import HAND_WRITTEN, hand_written_history

    divisions = default_index().divisions
    rows = HAND_WRITTEN.read_text(encoding="utf-8").splitlines()[1:]
    read = hand_written_history(divisions)
    assert len(read) == len(rows)  # no row dropped for a successor the data lacks
    for old in read:
        levels = {divisions[code].level for code in old.successors}
        assert levels == {old.level} and old.level in (CITY, DISTRICT), old  # 襄樊市 → 襄阳市
        # before the oldest snapshot, or a functional area made a district (no code, no snapshot)
        before = old.changed[:4] <= "2015" or old.name.endswith("新区")
        assert len(old.old_code) == 6 and before, old


# Towns renamed from 镇 (or 乡) to 街道 before the 2015 codes, written as people still write
# them: (written, district, street today, the old name noted).
RENAMED_BEFORE_2015: list[tuple[str, str, str, str]] = [
    ("南京市江宁区东山镇竹山路5号", "江宁区", "东山街道", "东山镇 → 东山街道"),
    ("江苏省南京市溧水县永阳镇中山路1号", "溧水区", "永阳街道", "永阳镇 → 永阳街道"),
    ("苏州市吴江区松陵镇", "吴江区", "松陵街道", "松陵镇 → 松陵街道"),
    ("杭州市江干区笕桥镇", "上城区", "笕桥街道", "笕桥镇 → 笕桥街道"),
    ("萧山市城厢镇人民路3号", "萧山区", "城厢街道", "城厢镇 → 城厢街道"),
    ("成都市温江区柳城镇", "温江区", "柳城街道", "柳城镇 → 柳城街道"),
]


@pytest.mark.parametrize(("written", "district", "street", "old"), RENAMED_BEFORE_2015)
def test_a_town_renamed_before_2015_reads_as_the_street_with_its_old_name(
    written: str, district: str, street: str, old: str
) -> None:
    parsed = parse(written)
    assert (parsed.district, parsed.street, parsed.admin_status) == (
        district,
        street,
        "historical",
    )
    assert any(note.startswith(f"historical: {old} (") for note in parsed.notes), parsed.notes


def test_a_town_written_by_its_name_today_stays_current() -> None:
    for written, street in (("宁波市慈溪市周巷镇", "周巷镇"), ("南京市江宁区东山街道", "东山街道")):
        parsed = parse(written)
        assert (parsed.street, parsed.admin_status) == (street, "current"), parsed


@pytest.mark.parametrize(
    ("written", "district", "street", "road"),
    [
        # 余杭区's 临平镇 became 临平街道, which went to the new 临平区 (2021)
        ("杭州市余杭区临平镇人民大道1号", "临平区", "临平街道", "人民大道"),
        ("杭州市余杭区乔司镇", "临平区", "乔司街道", None),
        ("浙江省杭州市余杭县临平镇", "临平区", "临平街道", None),  # 余杭县 too is gone
        ("深圳市宝安区龙华镇", "龙华区", "龙华街道", None),
    ],
)
def test_a_town_of_the_county_it_left_written_with_its_old_word(
    written: str, district: str, street: str, road: str | None
) -> None:
    parsed = parse(written)
    assert (parsed.district, parsed.street, parsed.road, parsed.admin_status) == (
        district,
        street,
        road,
        "historical",
    )


@pytest.mark.parametrize(
    ("written", "old", "street", "road"),
    [
        # 成都 锦江区, 2019: 合江亭 and 水井坊 merged into 锦官驿街道, 龙舟路 and 东光 into 东湖街道
        ("成都市锦江区合江亭街道滨江东路9号", "合江亭街道", "锦官驿街道", "滨江东路"),
        ("成都锦江区水井坊街道", "水井坊街道", "锦官驿街道", None),
        ("四川省成都市锦江区东光街道", "东光街道", "东湖街道", None),
    ],
)
def test_a_merged_town_reads_as_the_town_that_took_it_over(
    written: str, old: str, street: str, road: str | None
) -> None:
    parsed = parse(written)
    assert (parsed.district, parsed.street, parsed.road, parsed.admin_status) == (
        "锦江区",
        street,
        road,
        "historical",
    )
    assert any(n.startswith(f"historical: {old} → {street}") for n in parsed.notes), parsed.notes


def test_a_merged_town_whose_villages_went_many_ways_reads_as_its_county() -> None:
    # 盐市口街道's communities are not mostly in one town today: the county, no town guessed
    parsed = parse("成都市锦江区盐市口街道")
    assert (parsed.district, parsed.street, parsed.admin_status) == ("锦江区", None, "historical")


def test_the_town_that_took_a_merged_one_over_holds_half_its_villages(tmp_path: Path) -> None:
    from citybrain.address.history import _taken_over

    head = "code,name,streetCode,provinceCode,cityCode,areaCode\n"
    old, new = tmp_path / "old", tmp_path / "new"
    for root, rows in (
        (
            old,
            [
                "A甲村,100000001",
                "A乙村,100000001",
                "A丙村,100000001",  # 2 of 3 → T1
                "B甲村,100000002",
                "B乙村,100000002",
                "B丙村,100000002",
                "B丁村,100000002",
            ],
        ),
        (
            new,
            [
                "A甲村,100000011",
                "A乙村,100000011",
                "A丙村,100000012",
                "B甲村,100000011",
                "B乙村,100000012",
                "B丙村,100000013",
                "A甲村,200000011",
            ],
        ),  # elsewhere: not read
    ):
        (root / "dist").mkdir(parents=True)
        lines = [
            f"{c[:9]}001,{name},{c},10,1000,{c[:6]}" for name, c in (r.split(",") for r in rows)
        ]
        (root / "dist" / "villages.csv").write_text(
            head + "\n".join(lines) + "\n", encoding="utf-8"
        )
    merged = {"100000001": "100000", "100000002": "100000"}
    # B's four villages went three ways (and one is gone): no town took it over
    assert _taken_over(old, new, merged) == {"100000001": "100000011"}
    assert _taken_over(old, tmp_path / "none", merged) == {}
