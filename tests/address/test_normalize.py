from __future__ import annotations

import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from citybrain.address.normalize import _TABLE, _TABLE_LIST, clean, to_halfwidth
from citybrain.address.numerals import to_chinese, to_digits

ascii_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E))


def fullwidth(text: str) -> str:
    return "".join(
        "\u3000" if c == " " else chr(ord(c) + 0xFEE0) if 0x21 <= ord(c) <= 0x7E else c
        for c in text
    )


@given(ascii_text)
def test_fullwidth_of_any_ascii_string_normalises_to_halfwidth(text: str) -> None:
    assert to_halfwidth(fullwidth(text)) == text


@given(st.text(alphabet=string.ascii_letters + string.digits + "-"))
def test_clean_does_not_care_about_width(text: str) -> None:
    assert clean(fullwidth(text)) == clean(text)


@given(
    st.integers(min_value=0, max_value=9999), st.sampled_from(["栋", "单元", "楼", "室", "号楼"])
)
def test_chinese_numeral_before_a_unit_word_becomes_arabic(value: int, unit: str) -> None:
    assert clean(f"某小区{to_chinese(value)}{unit}") == f"某小区{value}{unit}"
    assert clean(f"某小区{to_digits(value)}{unit}") == f"某小区{value}{unit}"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("天府三街288号附近", "天府三街288号"),
        ("  地址：成都市　武侯区 人民南路４段１２号（近地铁站）", "成都市武侯区人民南路四段12号"),
        ("3幢2单元十二楼三号", "3幢2单元12楼3号"),
        ("天府3街二〇一室", "天府三街201室"),
        ("两单元", "2单元"),
        ("b座3#楼", "B座3号楼"),
        ("万科城三期5栋2-1203 门口往东50米", "万科城3期5栋2-1203"),
        ("春熙路(IFS国际金融中心)负一楼", "春熙路IFS国际金融中心B1楼"),
        ("人民南路四段【对面】", "人民南路四段"),
        ("督院街30号大院", "督院街30号院"),
        ("金府路、银河路，交汇", "金府路银河路交汇"),
        ("福华三路与金田路交汇处卓越世纪中心", "福华三路卓越世纪中心"),
        ("中国四川省成都市", "四川省成都市"),
        ("二号办公楼", "2号楼"),
    ],
)
def test_clean_examples(raw: str, cleaned: str) -> None:
    assert clean(raw) == cleaned


def test_road_names_keep_chinese_numerals() -> None:
    # 天府三街 and 二环路 are names, not numbers.
    assert clean("天府三街") == "天府三街"
    assert clean("二环路北一段") == "二环路北一段"
    assert clean("郑州市二七区") == "郑州市二七区"


@pytest.mark.parametrize(
    "name", ["山东", "广东", "河南", "江西", "上海浦东", "石家庄市桥西", "成都市城南"]
)
def test_a_name_ending_in_a_direction_is_kept(name: str) -> None:
    # 东 alone at the end is part of a name (山东, 浦东); only 往东 / 东走 / 东50米 say a way to go.
    assert clean(name) == name
    assert clean(f"人民路12号{name[-1]}50米") == "人民路12号"
    assert clean(f"人民路12号向{name[-1]}走") == "人民路12号"


def test_the_translation_list_maps_every_character_as_the_table_does() -> None:
    every = "".join(map(chr, range(0x20000)))  # the BMP and a plane past the list's end
    assert every.translate(_TABLE_LIST) == every.translate(_TABLE)


# Characters the guards of `clean`'s steps look at, and some they do not.
_GUARD_ALPHABET = (
    "一二三十两零号栋幢座单元楼层室户组期段街路巷环横支纵之第地下负B-F动是市适好搂撞"
    "园院苑交口#办公写字综合0123456789人民花园A"
)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=_GUARD_ALPHABET, max_size=14))
@example("3单园")
@example("科研楼")
@example("人民路12#")
@example("地下室")
@example("地下2层")
@example("-1楼")
@example("12号之1")
@example("第3栋")
@example("3-2-1203是")
@example("天府3街")
@example("三号")
@example("人民路交叉口")
def test_the_combined_guards_hold_each_guard_they_stand_for(text: str) -> None:
    """`clean` skips a run of steps when one combined pattern finds nothing: it must find
    something wherever one of the steps' own guards does."""
    from citybrain.address import normalize as n

    late = (
        n._CN_NUMBER_HINT.search(text)
        or n._ROAD_DIGITS_HINT.search(text)
        or any(word in text for word in ("之", "第", "地下室", "B"))
        or n._NEG_FLOOR_HINT.search(text)
        or n._MARKER_TYPO_HINT.search(text)
    )
    assert bool(late) <= bool(n._LATE_HINT.search(text))
    middle = (
        any(word in text for word in ("#", "院", "交", "路口"))
        or n._BUILDING_WORDS_HINT.search(text)
        or n._UNIT_TYPO_HINT.search(text)
    )
    assert bool(middle) <= bool(n._MIDDLE_HINT.search(text))
