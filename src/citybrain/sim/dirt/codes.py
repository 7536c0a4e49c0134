"""Dirt on codes as NumPy byte matrices: wrong check digits of ID numbers and USCCs, masked ID
numbers, phone typos, phone formats and phones no longer in use."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.dirt.core import (
    Dirtied,
    Rows,
    as_array,
    map_rows,
    pick_rows,
    put_rows,
)
from citybrain.sim.ids import mobiles


def _fixed_width(arr: pa.Array, rows: Rows, width: int) -> tuple[Rows, npt.NDArray[np.uint8]]:
    """The rows whose value is exactly `width` ASCII bytes, and those values as a byte matrix."""
    sub = arr.take(pa.array(rows)).cast(pa.string())
    ok = (pc.binary_length(sub).to_numpy(zero_copy_only=False) == width) & np.asarray(
        pc.is_valid(sub)
    )
    good = sub.filter(pa.array(ok))
    offsets = np.frombuffer(good.buffers()[1], dtype=np.int32)[good.offset :]
    data = np.frombuffer(good.buffers()[2], dtype=np.uint8)
    if len(good):
        data = data[offsets[0] : offsets[len(good)]]
    return rows[ok], data.reshape(len(good), width).copy()


def _from_matrix(mat: npt.NDArray[np.uint8], lengths: Rows | None = None) -> pa.Array:
    n = mat.shape[0]
    if lengths is None:
        lengths = np.full(n, mat.shape[1], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(mat.tobytes())]
    )


def _scatter(arr: pa.Array, rows: Rows, new: pa.Array) -> Dirtied:
    touched = np.zeros(len(arr), dtype=np.bool_)
    touched[rows] = True
    order = np.argsort(rows, kind="stable")
    return Dirtied(put_rows(arr, rows[order], new.take(pa.array(order))), touched)


_RIC_ALPHABET = "0123456789X"
_RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)


def _lookup(alphabet: str) -> npt.NDArray[np.int64]:
    table = np.full(256, -1, dtype=np.int64)
    for value, char in enumerate(alphabet):
        table[ord(char)] = value
    return table


def wrong_check_digit(
    values: pa.Array | pa.ChunkedArray,
    rng: np.random.Generator,
    rate: float,
    kind: Literal["id_number", "uscc"],
) -> Dirtied:
    """Replace the check character of ID numbers (kind "id_number", GB 11643) or USCCs (kind
    "uscc", GB 32100) by a different one, so the code is invalid; malformed values are left."""
    arr = as_array(values)
    if kind == "id_number":
        alphabet, weights, width = _RIC_ALPHABET, _RIC_WEIGHTS, 18
    elif kind == "uscc":
        alphabet, weights, width = _USCC_ALPHABET, _USCC_WEIGHTS, 18
    else:
        raise ValueError(f"kind must be 'id_number' or 'uscc', got {kind!r}")
    chosen = pick_rows(rng, arr, rate)
    shift = rng.integers(1, len(alphabet), size=int(chosen.sum()))
    rows, mat = _fixed_width(arr, np.flatnonzero(chosen), width)
    shift = shift[np.isin(np.flatnonzero(chosen), rows)]
    body = _lookup(alphabet if kind == "uscc" else "0123456789")[mat[:, :17]]
    ok = (body >= 0).all(axis=1)
    rows, mat, body, shift = rows[ok], mat[ok], body[ok], shift[ok]
    total = body @ weights
    right = (12 - total % 11) % 11 if kind == "id_number" else (31 - total % 31) % 31
    letters = np.frombuffer(alphabet.encode(), dtype=np.uint8)
    mat[:, 17] = letters[(right + shift) % len(alphabet)]
    return _scatter(arr, rows, _from_matrix(mat))


def phone_typos(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Mistype 11-digit mobiles: one digit changed, two neighbours swapped, a digit dropped or
    doubled. The first three digits (the carrier prefix) are kept; other formats are left."""
    arr = as_array(values)
    chosen = pick_rows(rng, arr, rate)
    m = int(chosen.sum())
    kind, pos, step = rng.integers(0, 4, m), rng.integers(3, 10, m), rng.integers(1, 10, m)
    rows, mat = _fixed_width(arr, np.flatnonzero(chosen), 11)
    keep = np.isin(np.flatnonzero(chosen), rows)
    kind, pos, step = kind[keep], pos[keep], step[keep]
    ok = ((mat >= 48) & (mat <= 57)).all(axis=1)
    rows, mat, kind, pos, step = rows[ok], mat[ok], kind[ok], pos[ok], step[ok]
    r = np.arange(len(rows))
    sub = kind == 0
    mat[r[sub], pos[sub]] = (mat[r[sub], pos[sub]] - 48 + step[sub]) % 10 + 48
    swap = (kind == 1) & (mat[r, pos] != mat[r, pos + 1])
    a, b = mat[r[swap], pos[swap]].copy(), mat[r[swap], pos[swap] + 1].copy()
    mat[r[swap], pos[swap]], mat[r[swap], pos[swap] + 1] = b, a
    counts = np.ones(mat.shape, dtype=np.int64)
    counts[r[kind == 2], pos[kind == 2]] = 0
    counts[r[kind == 3], pos[kind == 3]] = 2
    flat = np.repeat(mat.ravel(), counts.ravel())
    changed = (kind != 1) | swap
    lengths = counts.sum(axis=1)
    new = _strings(flat, lengths)
    return _scatter(arr, rows[changed], new.filter(pa.array(changed)))


def _strings(flat: npt.NDArray[np.uint8], lengths: Rows) -> pa.Array:
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.Array.from_buffers(
        pa.string(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(flat.tobytes())]
    )


def phone_formats(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Write the same mobile differently: 138 1234 5678, 138-1234-5678, +86 13812345678, 8613…"""
    forms = (
        lambda s: f"{s[:3]} {s[3:7]} {s[7:]}",
        lambda s: f"{s[:3]}-{s[3:7]}-{s[7:]}",
        lambda s: f"+86 {s}",
        lambda s: f"86{s}",
    )

    def fmt(s: str, v: int) -> str:
        return forms[v](s) if len(s) == 11 and s.isdigit() else s

    return map_rows(values, rng, rate, len(forms), fmt)


def masked_ids(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Mask the middle of 18-character ID numbers as exports for outsiders do
    (``510107********1234``); other values are left."""
    arr = as_array(values)
    chosen = pick_rows(rng, arr, rate)
    whole = pc.fill_null(pc.equal(pc.utf8_length(arr), 18), False)
    chosen &= whole.to_numpy(zero_copy_only=False)
    masked = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(arr, 0, 6), "********", pc.utf8_slice_codeunits(arr, 14, 18), ""
    )
    return Dirtied(pc.if_else(pa.array(chosen), masked, arr), chosen)


def stale_phones(
    values: pa.Array | pa.ChunkedArray,
    rng: np.random.Generator,
    rate: float,
    *,
    taken: pa.Array | pa.ChunkedArray,
) -> Dirtied:
    """Replace mobiles by a mobile that none of ``taken`` is: a number the holder gave once and
    has since given up, never updated in the file."""
    arr = as_array(values)
    chosen = pick_rows(rng, arr, rate)
    used = pc.cast(as_array(taken).drop_null(), pa.int64()).to_numpy()
    new = pc.cast(mobiles(rng, int(chosen.sum())), pa.int64()).to_numpy().copy()
    for _ in range(20):
        clash = np.isin(new, used)
        if not clash.any():
            break
        new[clash] = pc.cast(mobiles(rng, int(clash.sum())), pa.int64()).to_numpy()
    fresh = pc.cast(pa.array(new), pa.string())
    return Dirtied(put_rows(arr, np.flatnonzero(chosen), fresh), chosen)
