"""Properties of the whole parser: it never fails, and numerals/width/shorthand do not matter."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from citybrain.address import parse
from citybrain.address.numerals import to_chinese, to_digits

pytestmark = pytest.mark.usefixtures("divisions_installed")

ESTATES = st.sampled_from(["天府新谷", "锦绣花园", "奥克斯广场", "金色海岸"])
ROOMS = st.integers(min_value=1, max_value=40).flatmap(
    lambda floor: st.integers(min_value=1, max_value=9).map(lambda door: floor * 100 + door)
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_without_error(text: str) -> None:
    parsed = parse(text)
    assert parsed.raw == text
    assert isinstance(parsed.canonical, str)


@settings(max_examples=200, deadline=None)
@given(ESTATES, st.integers(1, 99), st.integers(1, 9), ROOMS)
def test_numerals_and_shorthand_give_the_same_components(
    estate: str, building: int, unit: int, room: int
) -> None:
    written = [
        f"{estate}{building}栋{unit}单元{room}室",
        f"{estate}{to_chinese(building)}栋{to_chinese(unit)}单元{to_digits(room)}室",
        f"{estate}{building}-{unit}-{room}",
        f"{estate}{building}栋{unit}-{room}",
        f"{estate}{building}幢{unit}单元{room // 100}楼{room % 100}号",
        f"{estate}{building}号楼{unit}单元{room}",
    ]
    expected = (estate, str(building), str(unit), str(room // 100), str(room))
    for text in written:
        p = parse(text)
        assert (p.estate, p.building, p.unit, p.floor, p.room) == expected, text


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 2999), st.sampled_from(["人民南路四段", "天府大道北段", "锦城大道"]))
def test_full_width_and_chinese_house_numbers(number: int, road: str) -> None:
    ascii_form = parse(f"成都市武侯区{road}{number}号")
    full = "".join(chr(ord(c) + 0xFEE0) for c in str(number))
    for text in (f"成都市武侯区{road}{full}号", f"成都市 武侯区 {road}{to_chinese(number)}号"):
        assert parse(text).canonical == ascii_form.canonical
    assert ascii_form.road_number == str(number)


def test_rules_version_is_a_stable_fingerprint() -> None:
    from citybrain.address import rules_version

    assert rules_version() == rules_version()
    assert len(rules_version()) == 16 and int(rules_version(), 16) >= 0


# Pieces an address ends with: names, numbers, and the noise words clean() drops from the end.
TAIL_PIECES = st.sampled_from(
    ["附近", "对面", "旁边", "门口", "东侧", "往北走", "约", "米", "处", "左右", "号", "路口",
     "十字", "楼下", "内", "单元", "室", "张三", "收", "先生", "人民路", "少城路口", "与",
     "3", "120", "99999999999999999999", "-", "楼", "大道", "街", "商铺", "东"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(TAIL_PIECES, max_size=30))
@example(["号", *(["附近", "对面", "旁边", "门口"] * 6)])  # noise longer than the window
@example(["号", "约", "99999999999999999999", "99999999999999999999", "米", "处"])
@example(["往北走", "9" * 40])  # a number longer than the window: the window starts before it
def test_tail_rules_read_in_a_window_as_on_the_whole_text(pieces: list[str]) -> None:
    from citybrain.address import normalize as n

    text = "成都市武侯区" + "".join(pieces)
    assert n._drop_trail(text) == n._TRAIL.sub("", text)
    m = n._TRAILING_NAME.search(text, max(0, len(text) - 16))
    assert (text[: m.start()] + m.group(1) if m else text) == n._TRAILING_NAME.sub(r"\1", text)
    m = n._ROAD_MOUTH.search(text, max(0, len(text) - 14))
    assert (text[: m.start()] if m else text) == n._ROAD_MOUTH.sub("", text)
