"""Plumbing shared by every kind of dirt: the result types, row picking and the
once-per-distinct-value rewrite."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Mask = npt.NDArray[np.bool_]
Rows = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Dirtied:
    """A dirtied column and the rows it changed (a boolean mask as long as the column)."""

    values: pa.Array
    touched: Mask


@dataclass(frozen=True)
class DirtiedTable:
    """A dirtied table; `source_row[i]` is the input row that output row i came from, and
    `touched[i]` says output row i is dirt (a duplicate copy, a displaced row)."""

    table: pa.Table
    source_row: Rows
    touched: Mask


# --- plumbing ----------------------------------------------------------------------------------


def as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array; dictionary-encoded text is decoded (the result is plain text)."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return arr.dictionary_decode() if pa.types.is_dictionary(arr.type) else arr


def pick_rows(rng: np.random.Generator, values: pa.Array, rate: float) -> Mask:
    """Rows chosen with probability `rate` among the non-null ones; always draws len(values)."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be between 0 and 1, got {rate}")
    chosen: Mask = rng.random(len(values)) < rate
    if values.null_count:
        chosen &= values.is_valid().to_numpy(zero_copy_only=False)
    return chosen


def stable_hash(text: str, variant: int) -> int:
    """A seed-free, platform-stable hash used to make per-(value, variant) choices."""
    return zlib.crc32(f"{variant}\x00{text}".encode())


def map_distinct(
    values: pa.Array | pa.ChunkedArray,
    chosen: Mask,
    variants: npt.NDArray[np.int64],
    fn: Callable[[str, int], str],
) -> Dirtied:
    """Apply `fn(value, variant)` to the chosen rows, calling it once per distinct pair.

    `variants` holds one small non-negative integer per *chosen* row (in row order).
    """
    arr = as_array(values)
    if arr.null_count:  # a null has nothing to rewrite
        keep = arr.is_valid().to_numpy(zero_copy_only=False)[chosen]
        chosen, variants = chosen & arr.is_valid().to_numpy(zero_copy_only=False), variants[keep]
    rows = np.flatnonzero(chosen)
    touched = np.zeros(len(arr), dtype=np.bool_)
    if len(rows) == 0:
        return Dirtied(arr, touched)
    encoded = pc.dictionary_encode(arr.take(pa.array(rows)))
    codes = encoded.indices.to_numpy().astype(np.int64)
    words: list[str] = encoded.dictionary.to_pylist()
    width = int(variants.max()) + 1
    unique, inverse = np.unique(codes * width + variants, return_inverse=True)
    results = [fn(words[int(u) // width], int(u) % width) for u in unique]
    changed_u = np.array(
        [r != words[int(u) // width] for r, u in zip(results, unique, strict=True)]
    )
    changed = changed_u[inverse]
    new = pa.array(results, type=arr.type).take(pa.array(inverse[changed]))
    touched[rows[changed]] = True
    return Dirtied(put_rows(arr, rows[changed], new), touched)


def put_rows(arr: pa.Array, rows: Rows, new: pa.Array) -> pa.Array:
    """`arr` with `arr[rows[i]] = new[i]` (rows ascending), as one take over both arrays;
    many times faster than replace_with_mask on strings."""
    if len(rows) == 0:
        return arr
    index = np.arange(len(arr), dtype=np.int64)
    index[rows] = len(arr) + np.arange(len(rows), dtype=np.int64)
    return pa.concat_arrays([arr, new.cast(arr.type)]).take(pa.array(index))


def map_rows(
    values: pa.Array | pa.ChunkedArray,
    rng: np.random.Generator,
    rate: float,
    kinds: int,
    fn: Callable[[str, int], str],
) -> Dirtied:
    arr = as_array(values)
    chosen = pick_rows(rng, arr, rate)
    variants = rng.integers(0, kinds, size=int(chosen.sum()), dtype=np.int64)
    return map_distinct(arr, chosen, variants, fn)
