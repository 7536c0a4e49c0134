from datetime import date

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from citybrain.govern.validators import (
    normalise_phone,
    validate_coordinates,
    validate_phone,
    validate_resident_id,
    validate_uscc,
)

TODAY = date(2026, 11, 25)
REGIONS = ["510107", "510108", "110101", "440305", "510104", "500103"]


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(REGIONS))
    birth = draw(st.dates(min_value=date(1920, 1, 1), max_value=date(2020, 12, 31)))
    serial = draw(st.integers(0, 999))
    body = f"{region}{birth:%Y%m%d}{serial:03d}"
    last = draw(st.sampled_from([ric.calc_check_digit(body + "0"), *"0123456789X"]))
    return body + last


@settings(max_examples=300, deadline=None)
@given(st.lists(resident_ids(), min_size=1, max_size=40))
def test_resident_id_agrees_with_stdnum(numbers: list[str]) -> None:
    reasons = validate_resident_id(pa.array(numbers), today=TODAY).to_pylist()
    for number, reason in zip(numbers, reasons, strict=True):
        # stdnum also checks that the county existed in the birth year; our region check is
        # province-level, so compare on everything else stdnum checks.
        try:
            ric.get_birth_date(number)
            stdnum_ok = ric.calc_check_digit(number) == number[-1]
        except ric.ValidationError:
            stdnum_ok = False
        assert (reason is None) == stdnum_ok, (number, reason)


@st.composite
def usccs(draw: st.DrawFn) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = (
        "9"
        + "1"
        + "510100"
        + "".join(draw(st.lists(st.sampled_from(alphabet), min_size=9, max_size=9)))
    )
    last = draw(st.sampled_from([uscc.calc_check_digit(body), *"0123456789AY"]))
    return body + last


@settings(max_examples=300, deadline=None)
@given(st.lists(usccs(), min_size=1, max_size=40))
def test_uscc_agrees_with_stdnum(codes: list[str]) -> None:
    reasons = validate_uscc(pa.array(codes)).to_pylist()
    for code, reason in zip(codes, reasons, strict=True):
        assert (reason is None) == uscc.is_valid(code), (code, reason)


def test_resident_id_reasons() -> None:
    body = "51010719900307123"
    good = body + ric.calc_check_digit(body + "0")
    wrong = body + ("1" if good[-1] != "1" else "2")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in good)
    values = [
        good,
        wrong,
        None,
        "  ",
        "51010719901307123" + "5",  # month 13
        "99010719900307123" + "5",  # no such province
        "5101071990030712",  # too short
        full_width,
        good.lower(),
        "51010720300307123" + ric.calc_check_digit("510107203003071230"),  # born in the future
    ]
    assert validate_resident_id(pa.array(values), today=TODAY).to_pylist() == [
        None,
        "bad_check_digit",
        "missing",
        "missing",
        "bad_birth_date",
        "bad_region",
        "bad_format",
        None,
        None,
        "bad_birth_date",
    ]


def test_uscc_reasons() -> None:
    body = "91510100MA61234AB"
    good = body + uscc.calc_check_digit(body)
    assert validate_uscc(
        pa.array([good, body + "I", body, None, " " + good + " "])
    ).to_pylist() == [
        None,
        "bad_format",
        "bad_format",
        "missing",
        None,
    ]


def test_phones() -> None:
    values = [
        "138 0013 8000",
        "+86-13800138000",
        "028-85123456",
        "(028)8512 3456转123",
        "12345",
        "",
        None,
        "１３８００１３８０００",
    ]
    assert normalise_phone(pa.array(values)).to_pylist()[:2] == ["13800138000", "+8613800138000"]
    assert validate_phone(pa.array(values)).to_pylist() == [
        None,
        None,
        None,
        None,
        "bad_phone",
        "missing",
        "missing",
        None,
    ]


def test_coordinates() -> None:
    bbox = (104.0, 30.5, 104.1, 30.65)
    reasons = validate_coordinates(
        pa.array([104.05, 116.4, None, 104.01]), pa.array([30.6, 39.9, 30.6, 30.51]), bbox
    )
    assert reasons.to_pylist() == [None, "outside_city", "missing", None]


def test_large_batch_is_vectorised() -> None:
    body = "51010719900307123"
    good = body + ric.calc_check_digit(body + "0")
    reasons = validate_resident_id(pa.array([good] * 200_000 + ["x"]), today=TODAY)
    assert reasons.null_count == 200_000


def test_plates() -> None:
    from citybrain.govern.validators import validate_plate

    values = pa.array(
        ["川A12345", "川a·d12345", "粤B 1234学", "京AF12345", "001", "川A1234", "川I12345",
         "", None, "A12345川", "川A123456", "沪C0001挂"]
    )  # fmt: skip
    assert validate_plate(values).to_pylist() == [
        None, None, None, None, "bad_plate", "bad_plate", "bad_plate", "missing", "missing",
        "bad_plate", None, None,
    ]  # fmt: skip
