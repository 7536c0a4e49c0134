"""Blanked values."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.dirt.core import (
    Dirtied,
    as_array,
    pick_rows,
)


def nulls(
    values: pa.Array | pa.ChunkedArray,
    rng: np.random.Generator,
    rate: float,
    *,
    empty_string: bool = False,
) -> Dirtied:
    """Blank out values: null, or "" for exports that write empty strings instead of nulls."""
    arr = as_array(values)
    chosen = pick_rows(rng, arr, rate)
    fill = pa.scalar("" if empty_string else None, type=arr.type)
    return Dirtied(pc.if_else(pa.array(chosen), fill, arr), chosen)
