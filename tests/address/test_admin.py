"""The admin prefix reader resumes from prefixes it has read before; that must never change what
it reads. Texts that share a start but read differently after it are read in both orders."""

from __future__ import annotations

import pytest

from citybrain.address.admin import AdminReader
from citybrain.address.divisions import default_index

# Pairs and groups that share a start: a longer name, a road named after a place, a short form,
# a repeat, a typo, a text that ends inside a longer name.
TEXTS = [
    "四川省成都市武侯区人民南路四段12号",
    "四川省成都市武侯区",
    "四川省成都市武侯区武侯祠大街1号",
    "四川省成都市武侯区成都市武侯区玉林路1号",
    "四川省成都市大邑县晋原街道1号",
    "四川省成都市",
    "四川省成都",
    "四川成都武侯区玉林路1号",
    "四川成都大道1号",
    "成都市",
    "成都大道1号",
    "成都武侯祠大街1号",
    "四川省城都市武侯区人民南路1号",
    "四川省城都市",
    "云南省昆明市晋宁区益州大道1号",
    "云南省嵩明职业教育基地1号",
    "云南省嵩明",
    "湖南省益阳市大通湖管理区1号",
    "湖南省益阳市安化县新华大道1号",
    "湖南省益阳市大通湖",
    "北京市朝阳区建国路1号",
    "朝阳区建国路1号",
    "北京朝阳区",
    "浙江杭州文三路1号",
    "浙江杭州路1号",
    "天府新区华阳街道正东街1号",
    "成都高新区天府大道北段1700号",
    # What follows a prefix is remembered up to its first digit or letter: the same run, then
    # different text after it (武侯1路: a short district, one character, a road word).
    "四川省成都市东风路1号",
    "四川省成都市武侯大道1号",
    "四川省成都市东风路A座",
    "四川省成都市东风",
    "四川省成都市武侯1路",
    "四川省成都市武侯1号",
    "四川省成都市武侯",
    "高新区天府大道北段1700号",
    # A prefix cut short of a longer name's start (萝北县 of 萝北县林业局, 六安市 and 六安市裕安区
    # of 六安市裕安区经济开发区): remembered, and not used where the longer name is written.
    "萝北县人民路1号",
    "萝北县林业局1号",
    "萝北县林业",
    "萝北县",
    "六安市裕安区人民路1号",
    "六安市裕安区经济开发区1号",
    "六安市裕安区经济",
    "六安市裕安区",
]


@pytest.mark.usefixtures("divisions_installed")
@pytest.mark.parametrize("region", [None, "510100"])
def test_remembered_prefixes_read_like_fresh_ones(region: str | None) -> None:
    index = default_index()
    # a reader of its own for each text: nothing remembered, each read from its first character
    fresh = [AdminReader(index, region)._read(text) for text in TEXTS]
    for order in (TEXTS, TEXTS[::-1], TEXTS + TEXTS):
        reader = AdminReader(index, region)
        reader.read = reader._read  # only the prefix memo: every text read token by token
        got = {text: reader.read(text) for text in order}
        assert [got[text] for text in TEXTS] == fresh
        assert reader._states  # the memo was used


@pytest.mark.usefixtures("divisions_installed")
def test_a_prefix_cut_short_of_a_longer_name_is_remembered() -> None:
    reader = AdminReader(default_index())
    reader.read = reader._read  # only the prefix memo
    reader.read("萝北县人民路1号")
    reader.read("六安市裕安区人民路1号")
    assert {"萝北县", "六安市", "六安市裕安区"} <= set(reader._states)
    assert reader.read("萝北县林业局1号") == AdminReader(default_index())._read("萝北县林业局1号")


def test_admin_result_fields_in_the_order_choose_writes_them() -> None:
    """`AdminReader._choose` builds its result field by field (no keywords): a field added or
    moved must show here, not as a reading's parts in the wrong fields."""
    from citybrain.address.admin import AdminResult

    assert AdminResult._fields == (
        "end",
        "lineage",
        "ambiguous",
        "inferred",
        "corrections",
        "historical",
        "candidates",
        "levels",
    )


@pytest.mark.usefixtures("divisions_installed")
def test_the_whole_text_memo_is_dropped_where_texts_do_not_repeat() -> None:
    from citybrain.address.admin import _WINDOW

    # a new road each time: no text repeats, so after a window the memo only costs
    texts = [f"成都市武侯区{chr(0x4E00 + i)}江路1号" for i in range(_WINDOW + 10)]
    reader = AdminReader(default_index())
    got = [reader.read(text) for text in texts]
    assert reader.read == reader._read and not reader._reads
    other = AdminReader(default_index())
    assert got == [other._read(text) for text in texts]
    # each text three times: by the window's end the memo has paid, and stays
    repeating = AdminReader(default_index())
    for text in texts:
        for _ in range(3):
            repeating.read(text)
    assert repeating.read == repeating._read_memoised and repeating._reads
