"""Full-width characters and Chinese numerals (三栋二单元十二楼)."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

from citybrain.sim.dirt.core import (
    Dirtied,
    map_rows,
)

_FULL_ALL = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}  # ASCII ! … ~ → full-width ！ … ～
_FULL_DIGITS = {c: c + 0xFEE0 for c in range(0x30, 0x3A)}


def full_width(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Turn ASCII digits, letters and signs full-width (１２０３, Ａ座, －), as IMEs type them;
    half of the picked rows get only their digits converted."""
    return map_rows(
        values, rng, rate, 2, lambda s, v: s.translate(_FULL_DIGITS if v else _FULL_ALL)
    )


_DIGITS = "零一二三四五六七八九"


def to_chinese_number(n: int) -> str:
    """A cardinal number 0–99999 in Chinese numerals: 12 → 十二, 20 → 二十, 105 → 一百零五."""
    if not 0 <= n < 100000:
        raise ValueError(f"to_chinese_number handles 0–99999, got {n}")
    if n == 0:
        return "零"
    if 10 <= n < 20:  # 十二, not 一十二, in everyday writing
        return "十" + (_DIGITS[n - 10] if n > 10 else "")
    out, zero = "", False
    for power, unit in ((10000, "万"), (1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d, n = divmod(n, power)
        if d:
            out += ("零" if zero and out else "") + _DIGITS[d] + unit
            zero = False
        elif out:
            zero = True
    return out


def to_chinese_digits(digits: str) -> str:
    """Digit by digit, as room numbers are read: "201" → "二〇一"."""
    return "".join("〇" if c == "0" else _DIGITS[int(c)] for c in digits)


# A bare 号 is a road or door number (天府大道1700号), which people keep in digits.
_NUMBERED = re.compile(r"(\d+)(号楼|栋|幢|座|单元|楼|层|室)")


def _numerals(text: str, variant: int) -> str:
    def sub(m: re.Match[str]) -> str:
        number, unit = m.group(1), m.group(2)
        if unit == "室":
            return to_chinese_digits(number) + unit if variant != 1 else m.group(0)
        if variant == 2:  # only the room is written in Chinese
            return m.group(0)
        return to_chinese_number(int(number)) + unit

    return _NUMBERED.sub(sub, text)


def chinese_numerals(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Write address numbers in Chinese: 三栋二单元十二楼, 二〇一室; door numbers stay digits.
    Variants: everything; building/unit/floor only; the room only."""
    return map_rows(values, rng, rate, 3, _numerals)
