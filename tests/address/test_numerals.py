from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citybrain.address.numerals import to_chinese, to_digits, to_int


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("零", 0),
        ("十", 10),
        ("十二", 12),
        ("二十一", 21),
        ("一百一十", 110),
        ("两百", 200),
        ("一千零五", 1005),
        ("一千七百", 1700),
        ("一千七", 1700),
        ("两百五", 250),
        ("二〇一", 201),
        ("一二〇三", 1203),
        ("幺零二", 102),
        ("三万二千零一", 32001),
    ],
)
def test_reads_chinese_numerals(text: str, value: int) -> None:
    assert to_int(text) == value


def test_rejects_non_numerals() -> None:
    with pytest.raises(ValueError):
        to_int("")
    with pytest.raises(ValueError):
        to_int("十A")


@given(st.integers(min_value=0, max_value=99_999))
def test_positional_roundtrip(value: int) -> None:
    assert to_int(to_chinese(value)) == value


@given(st.integers(min_value=0, max_value=9_999))
def test_digit_by_digit_roundtrip(value: int) -> None:
    assert to_int(to_digits(value)) == value
