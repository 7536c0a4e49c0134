"""Chinese numerals ↔ integers, as people write them in addresses.

Two written forms are read: positional (十二, 二十一, 一千七百, 一千零五, 两百) and digit by digit
(二〇一, 一二〇三, 幺零二). `to_chinese` writes the positional form that `to_int` reads back.
"""

from __future__ import annotations

DIGITS: dict[str, int] = {
    "零": 0,
    "〇": 0,
    "○": 0,
    "Ｏ": 0,
    "一": 1,
    "幺": 1,
    "壹": 1,
    "二": 2,
    "两": 2,
    "贰": 2,
    "三": 3,
    "叁": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
UNITS: dict[str, int] = {
    "十": 10,
    "拾": 10,
    "百": 100,
    "佰": 100,
    "千": 1000,
    "仟": 1000,
    "万": 10000,
}
NUMERAL_CHARS = "".join(DIGITS) + "".join(UNITS)
_WRITE_DIGITS = "零一二三四五六七八九"


def to_int(text: str) -> int:
    """Read a Chinese numeral (positional or digit-by-digit) as an integer.

    Raises ``ValueError`` for an empty string or a character that is not a numeral.
    """
    if not text:
        raise ValueError("empty numeral")
    if not any(ch in UNITS for ch in text):
        value = 0
        for ch in text:
            value = value * 10 + _digit(ch)
        return value
    total = 0  # completed 万 groups
    section = 0  # value below 万
    digit = -1  # pending digit, -1 when none
    last_unit = 0  # unit just read, 0 after a digit or 零
    for ch in text:
        if ch in UNITS:
            unit = UNITS[ch]
            last_unit = unit
            if unit == 10000:
                section += max(digit, 0)
                total += (section or 1) * unit
                section, digit = 0, -1
            else:
                section += (1 if digit < 0 else digit) * unit
                digit = -1
        else:
            digit = _digit(ch)
            if digit == 0:
                last_unit = 0
    if digit > 0 and last_unit >= 100 and text[-2] in UNITS:
        # Spoken shorthand: 一千七 is 1700, 两百五 is 250.
        return total + section + digit * last_unit // 10
    return total + section + max(digit, 0)


def _digit(ch: str) -> int:
    try:
        return DIGITS[ch]
    except KeyError:
        raise ValueError(f"not a Chinese numeral: {ch!r}") from None


def to_chinese(value: int) -> str:
    """Write 0 ≤ value < 100000 in positional form: 12 → 十二, 1005 → 一千零五, 1700 → 一千七百."""
    if not 0 <= value < 100_000:
        raise ValueError(f"out of range: {value}")
    if value == 0:
        return "零"
    parts: list[str] = []
    pending_zero = False
    for unit_value, unit_name in ((10000, "万"), (1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = (value // unit_value) % 10
        if d == 0:
            if parts:
                pending_zero = True
            continue
        if pending_zero:
            parts.append("零")
            pending_zero = False
        parts.append(_WRITE_DIGITS[d] + unit_name)
    text = "".join(parts)
    # 一十二 is written 十二 when it leads.
    return text[1:] if text.startswith("一十") else text


def to_digits(value: int) -> str:
    """Write a value digit by digit: 201 → 二〇一 (how room numbers are often spoken)."""
    return "".join("〇" if c == "0" else _WRITE_DIGITS[int(c)] for c in str(value))
