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
