from __future__ import annotations

from citybrain.address.fuzzy import NameIndex


def test_corrects_one_edit_when_unique() -> None:
    names = NameIndex(["天府大道", "益州大道", "锦城大道", "人民南路"])
    assert names.correct("天府大到") == "天府大道"  # substitution
    assert names.correct("天府道") == "天府大道"  # deletion
    assert names.correct("天府大大道") == "天府大道"  # insertion
    assert names.correct("人民南路") == "人民南路"
    assert names.correct("科华北路") is None


def test_refuses_when_two_names_are_as_close() -> None:
    names = NameIndex(["武侯区", "武陵区"])
    assert names.correct("武X区") is None


def test_short_names_are_never_corrected() -> None:
    names = NameIndex(["金牛"])
    assert names.correct("金马") is None


def test_of_two_close_names_the_homophone_wins() -> None:
    names = NameIndex(["府城大道", "锦城大道"], prefer_homophone=True)
    assert names.correct("富城大道") == "府城大道"  # 富 fù sounds as 府 fǔ; 锦 does not
    assert NameIndex(["府城大道", "锦城大道"]).correct("富城大道") is None  # not asked to prefer
    names = NameIndex(["中海苑", "中海锦苑"], prefer_homophone=True)
    assert names.correct("中海金苑") == "中海锦苑"  # 金 jīn as 锦 jǐn, not a dropped character
    assert names.correct("中海绵苑") is None  # 绵 looks like 锦 but sounds unlike: no guess
