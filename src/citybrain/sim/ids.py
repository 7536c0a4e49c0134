"""Vectorised identifiers: resident ID numbers (GB 11643), USCCs (GB 32100), phones.

Everything works on (n, k) uint8 matrices of ASCII codes and turns them into Arrow strings at the
end, so millions of identifiers cost a few array operations, not a Python loop.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], np.int64)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_MOBILE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        135,
        136,
        137,
        138,
        139,
        150,
        151,
        152,
        155,
        157,
        158,
        159,
        166,
        173,
        177,
        180,
        181,
        182,
        183,
        186,
        187,
        188,
        189,
        191,
        198,
        199,
    ],
    dtype=np.int64,
)


def ascii_to_strings(mat: np.ndarray) -> pa.StringArray:
    """Rows of an (n, k) uint8 ASCII matrix as an Arrow string array."""
    mat = np.ascontiguousarray(mat, dtype=np.uint8)
    n, k = mat.shape
    offsets = np.arange(0, (n + 1) * k, k, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(mat.tobytes()))


def int_digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers as an (n, width) matrix of 0–9."""
    v = np.asarray(values, dtype=np.int64).copy()
    out = np.empty((v.size, width), dtype=np.uint8)
    for i in range(width - 1, -1, -1):  # loop over digit positions, not rows
        out[:, i] = v % 10
        v //= 10
    return out


def padded(values: np.ndarray, width: int) -> pa.StringArray:
    """Integers as zero-padded decimal strings."""
    return ascii_to_strings(int_digits(values, width) + ord("0"))


def ric_check_values(body: np.ndarray) -> np.ndarray:
    """GB 11643 check value (0–10, 10 meaning 'X') for an (n, 17) digit matrix."""
    total = body.astype(np.int64) @ _RIC_WEIGHTS
    return (12 - total % 11) % 11


def resident_ids(region: np.ndarray, birth_yyyymmdd: np.ndarray, seq: np.ndarray) -> pa.StringArray:
    """Valid 18-character resident ID numbers from region, birth date and 3-digit order code."""
    body = np.hstack([int_digits(region, 6), int_digits(birth_yyyymmdd, 8), int_digits(seq, 3)])
    check = ric_check_values(body)
    mat = np.empty((body.shape[0], 18), dtype=np.uint8)
    mat[:, :17] = body + ord("0")
    mat[:, 17] = np.where(check == 10, ord("X"), check + ord("0"))
    return ascii_to_strings(mat)


def _alphabet_codes(alphabet: str) -> np.ndarray:
    return np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)


def usccs(
    rng: np.random.Generator, n: int, admin_code: np.ndarray, entity_type: np.ndarray
) -> pa.StringArray:
    """Valid unified social credit codes: '9' (market regulator), type, admin code, org code, check.

    The 9-character organisation code carries its own GB 11714 check; newer codes start with 'MA'.
    """
    alpha = _alphabet_codes(USCC_ALPHABET)
    org = rng.integers(0, 10, size=(n, 8))
    newer = rng.random(n) < 0.6
    org[newer, 0] = 21  # "M"
    org[newer, 1] = 10  # 'A'
    letters = rng.integers(0, 31, size=(n, 6))
    org[newer, 2:] = letters[newer]
    # GB 11714 values: digits as is, letters A=10 … Z=35 by their Latin position
    org_chars = alpha[org]
    org_vals = np.where(org_chars >= ord("A"), org_chars - ord("A") + 10, org_chars - ord("0"))
    c = 11 - (org_vals.astype(np.int64) @ _ORG_WEIGHTS) % 11
    org_check = np.where(c == 10, ord("X"), np.where(c == 11, ord("0"), c + ord("0")))
    vals = np.empty((n, 17), dtype=np.int64)
    vals[:, 0] = 9
    vals[:, 1] = entity_type
    vals[:, 2:8] = int_digits(admin_code, 6)
    vals[:, 8:16] = org
    vals[:, 16] = np.searchsorted(np.sort(alpha), org_check)  # position in sorted alphabet
    # the alphabet is already sorted by ASCII, so the index above is the alphabet index
    check = (31 - (vals @ _USCC_WEIGHTS) % 31) % 31
    mat = np.empty((n, 18), dtype=np.uint8)
    mat[:, :17] = alpha[vals]
    mat[:, 17] = alpha[check]
    return ascii_to_strings(mat)


def mobiles(rng: np.random.Generator, n: int) -> pa.StringArray:
    """Plausible 11-digit mainland mobile numbers (duplicates possible, as in life)."""
    prefix = _MOBILE_PREFIXES[rng.integers(0, _MOBILE_PREFIXES.size, n)]
    return padded(prefix * 100_000_000 + rng.integers(0, 100_000_000, n), 11)


def concat(*parts: pa.Array | pa.ChunkedArray | str) -> pa.StringArray:
    """Element-wise string concatenation of arrays and literal strings (nulls propagate)."""
    cols = [pa.scalar(p, pa.string()) if isinstance(p, str) else p for p in parts]
    if all(isinstance(p, str) for p in parts):
        raise ValueError("concat needs at least one array")
    return pc.binary_join_element_wise(*cols, "")


def suffixed(values: pa.Array | pa.ChunkedArray, suffix: str) -> pa.StringArray:
    """``values`` each followed by ``suffix``. Codes of one byte width (account numbers, keys) are
    joined as one byte matrix, many times cheaper than Arrow's element-wise join; anything else
    (nulls, mixed widths) goes through ``concat``."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if arr.type == pa.string() and arr.null_count == 0 and len(arr):
        offsets = np.frombuffer(arr.buffers()[1], np.int32)[arr.offset : arr.offset + len(arr) + 1]
        width = int(offsets[1] - offsets[0])
        if (np.diff(offsets) == width).all():
            data = np.frombuffer(arr.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]
            tail = np.frombuffer(suffix.encode("utf-8"), np.uint8)
            mat = np.empty((len(arr), width + tail.size), np.uint8)
            mat[:, :width] = data.reshape(len(arr), width)
            mat[:, width:] = tail
            return ascii_to_strings(mat)
    return concat(arr, suffix)


def pick(options: list[str] | tuple[str, ...], idx: np.ndarray) -> pa.StringArray:
    """Strings chosen from a small list by index array."""
    return pa.array(options, type=pa.string()).take(pa.array(np.asarray(idx, dtype=np.int64)))
