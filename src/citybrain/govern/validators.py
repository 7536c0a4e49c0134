"""Vectorised validators for identifiers and contact fields.

Each validator takes an Arrow string array and returns an Arrow string array of reason codes — null
where the value is valid — so a failed check becomes a per-row flag and the row is never dropped.
Check digits follow GB 11643 (resident ID) and GB 32100 (USCC), the same rules as python-stdnum's
``cn.ric`` and ``cn.uscc``; the tests hold the two to agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

_RIC_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_RIC_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, Z, S, V
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
_USCC_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(_USCC_ALPHABET):
    _USCC_VALUE[ord(_c)] = _i

# Province-level codes of GB/T 2260: the first two digits of every resident ID.
_PROVINCES = np.zeros(100, dtype=bool)
_PROVINCES[[11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46]] = (
    True
)
_PROVINCES[[50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82]] = True


def _normalise(values: pa.Array) -> pa.Array:
    """Trim and upper-case; full-width digits and letters are folded to ASCII first."""
    text = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    text = pc.utf8_normalize(text, "NFKC")
    return pc.utf8_upper(text)


def _fixed_width_bytes(values: pa.Array, width: int) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """Rows of exactly ``width`` ASCII bytes as a 2-D array, and a mask of which rows qualified."""
    lengths = pc.fill_null(pc.binary_length(values), 0).to_numpy(zero_copy_only=False)
    ascii_ok = pc.fill_null(pc.string_is_ascii(values), False).to_numpy(zero_copy_only=False)
    ok = (lengths == width) & ascii_ok
    chosen = pc.cast(pc.filter(values, pa.array(ok)), pa.string())
    if isinstance(chosen, pa.ChunkedArray):
        chosen = chosen.combine_chunks()
    if len(chosen) == 0:
        return np.zeros((0, width), dtype=np.uint8), ok
    # Every chosen value has exactly `width` bytes, so the data buffer is already a 2-D grid.
    _, offsets_buf, data_buf = chosen.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[chosen.offset : chosen.offset + 2]
    data = np.frombuffer(data_buf, dtype=np.uint8)
    start = int(offsets[0])
    grid = data[start : start + len(chosen) * width].reshape(-1, width)
    return grid, ok


def _reasons(n: int, parts: list[tuple[NDArray[np.bool_], str]]) -> pa.Array:
    """First failing reason per row (parts in priority order), null where every check passed."""
    out = np.full(n, None, dtype=object)
    for mask, reason in reversed(parts):
        out[mask] = reason
    return pa.array(out, pa.string())


@dataclass(frozen=True)
class _CodeGrid:
    """A column of fixed-width codes: which are missing, which match the format, and the bytes of
    those that do (``grid`` rows are the ``ok`` rows)."""

    n: int
    missing: NDArray[np.bool_]
    matches: NDArray[np.bool_]
    grid: NDArray[np.uint8]
    ok: NDArray[np.bool_]


def _code_grid(values: pa.Array, pattern: str, width: int) -> _CodeGrid:
    text = _normalise(values)
    missing = pc.fill_null(pc.equal(pc.binary_length(text), 0), True).to_numpy(zero_copy_only=False)
    matches = pc.fill_null(pc.match_substring_regex(text, pattern), False)
    grid, ok = _fixed_width_bytes(pc.if_else(matches, text, pa.scalar(None, pa.string())), width)
    return _CodeGrid(len(text), missing, matches.to_numpy(zero_copy_only=False), grid, ok)


def validate_resident_id(values: pa.Array, *, today: date | None = None) -> pa.Array:
    """Reason codes for resident ID numbers (GB 11643): format, region, birth date, check."""
    today = today or date.today()
    code = _code_grid(values, r"^\d{17}[\dX]$", 18)
    n, missing, pattern_np, grid, ok = code.n, code.missing, code.matches, code.grid, code.ok
    digits = grid[:, :17].astype(np.int64) - ord("0")

    bad_region = np.zeros(n, dtype=bool)
    bad_birth = np.zeros(n, dtype=bool)
    bad_check = np.zeros(n, dtype=bool)
    if len(grid):
        province = digits[:, 0] * 10 + digits[:, 1]
        year = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
        month = digits[:, 10] * 10 + digits[:, 11]
        day = digits[:, 12] * 10 + digits[:, 13]
        birth = _valid_dates(year, month, day)
        birth &= (year >= 1880) & (
            (year * 10000 + month * 100 + day) <= today.year * 10000 + today.month * 100 + today.day
        )
        expected = _RIC_CHECK[(digits * _RIC_WEIGHTS).sum(axis=1) % 11]
        bad_region[ok] = ~_PROVINCES[province]
        bad_birth[ok] = ~birth
        bad_check[ok] = grid[:, 17] != expected
    return _reasons(
        n,
        [
            (missing, "missing"),
            (~pattern_np & ~missing, "bad_format"),
            (bad_region, "bad_region"),
            (bad_birth, "bad_birth_date"),
            (bad_check, "bad_check_digit"),
        ],
    )


def _valid_dates(
    year: NDArray[np.int64], month: NDArray[np.int64], day: NDArray[np.int64]
) -> NDArray[np.bool_]:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days_in_month = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    in_range = (month >= 1) & (month <= 12)
    limit = np.where(in_range, days_in_month[np.clip(month, 0, 12)], 0) + ((month == 2) & leap)
    result: NDArray[np.bool_] = in_range & (day >= 1) & (day <= limit)
    return result


def validate_uscc(values: pa.Array) -> pa.Array:
    """Reason codes for unified social credit codes (GB 32100): format and check character."""
    code = _code_grid(values, r"^[0-9A-HJ-NP-RTUW-Y]{18}$", 18)
    n, missing, pattern_np, grid, ok = code.n, code.missing, code.matches, code.grid, code.ok
    bad_check = np.zeros(n, dtype=bool)
    if len(grid):
        values_ = _USCC_VALUE[grid]
        expected = (31 - (values_[:, :17] * _USCC_WEIGHTS).sum(axis=1) % 31) % 31
        bad_check[ok] = values_[:, 17] != expected
    return _reasons(
        n,
        [
            (missing, "missing"),
            (~pattern_np & ~missing, "bad_format"),
            (bad_check, "bad_check_digit"),
        ],
    )


# Mainland mobile numbers: 1[3-9] then 9 digits, optionally +86 / 86 and separators.
_MOBILE = r"^(?:\+?86)?1[3-9]\d{9}$"
# Landlines: area code 0 + 2-3 digits, then a 7-8 digit number, optional extension.
_LANDLINE = r"^0\d{2,3}\d{7,8}(?:\d{1,5})?$"


def normalise_phone(values: pa.Array) -> pa.Array:
    """Digits (and a leading +) only: separators, spaces and full-width forms removed."""
    text = _normalise(values)
    text = pc.replace_substring_regex(text, r"(?i)(?:转|EXT\.?|X)(\d{1,5})$", r"\1")
    return pc.replace_substring_regex(text, r"[\s\-()（）—－.]", "")


def validate_phone(values: pa.Array) -> pa.Array:
    """Reason codes for Chinese phone numbers: mobile or landline with area code."""
    text = normalise_phone(values)
    missing = pc.fill_null(pc.equal(pc.binary_length(text), 0), True).to_numpy(zero_copy_only=False)
    mobile = pc.fill_null(pc.match_substring_regex(text, _MOBILE), False).to_numpy(
        zero_copy_only=False
    )
    landline = pc.fill_null(pc.match_substring_regex(text, _LANDLINE), False)
    bad = ~missing & ~mobile & ~landline.to_numpy(zero_copy_only=False)
    return _reasons(len(text), [(missing, "missing"), (bad, "bad_phone")])


def validate_coordinates(
    lon: pa.Array, lat: pa.Array, bbox: tuple[float, float, float, float]
) -> pa.Array:
    """Reason codes for points: missing, or outside the city's box (min lon, min lat, max …)."""
    x = pc.cast(lon, pa.float64()).to_numpy(zero_copy_only=False)
    y = pc.cast(lat, pa.float64()).to_numpy(zero_copy_only=False)
    missing = np.isnan(x) | np.isnan(y)
    with np.errstate(invalid="ignore"):
        outside = ~missing & ((x < bbox[0]) | (y < bbox[1]) | (x > bbox[2]) | (y > bbox[3]))
    return _reasons(len(x), [(missing, "missing"), (outside, "outside_city")])


# Motor-vehicle plates (GA 36): a province's character, the issuing office's letter, then five
# letters or digits (the last may be 挂 trailer, 学 learner, 警 police, 港/澳 cross-border, 领/使
# consular), or six for new-energy plates. I and O are never used. Values are compared after
# folding width and case and dropping the separators people write (川A·12345, 川A 12345).
_PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = (
    rf"^[{_PLATE_PROVINCES}][A-HJ-NP-Z]"
    r"(?:[A-HJ-NP-Z0-9]{4}[A-HJ-NP-Z0-9挂学警港澳领使]|[A-HJ-NP-Z0-9]{6})$"
)


def normalise_plate(values: pa.Array) -> pa.Array:
    """Upper case, ASCII width, no spaces, dots or dashes: ``川a·12345`` → ``川A12345``."""
    return pc.replace_substring_regex(_normalise(values), r"[\s·•.\-－—]", "")


def validate_plate(values: pa.Array) -> pa.Array:
    """Reason codes for Chinese vehicle plates: ``bad_plate`` when not a plate's form (``001``)."""
    text = normalise_plate(values)
    missing = pc.fill_null(pc.equal(pc.binary_length(text), 0), True).to_numpy(zero_copy_only=False)
    plate = pc.fill_null(pc.match_substring_regex(text, _PLATE), False).to_numpy(
        zero_copy_only=False
    )
    return _reasons(len(text), [(missing, "missing"), (~missing & ~plate, "bad_plate")])
