"""Table-level dirt: duplicates, out-of-order and late rows, schema drift."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.dirt.core import (
    Dirtied,
    DirtiedTable,
    Mask,
    Rows,
)


def duplicate_rows(
    table: pa.Table, rng: np.random.Generator, rate: float, *, adjacent: bool = True
) -> DirtiedTable:
    """Repeat picked rows right after the original (a double submit) or at the end (re-export)."""
    n = table.num_rows
    chosen = rng.random(n) < rate
    if adjacent:
        source = np.repeat(np.arange(n, dtype=np.int64), 1 + chosen)
        touched = np.zeros(len(source), dtype=np.bool_)
        touched[1:] = source[1:] == source[:-1]
    else:
        copies = rng.permutation(np.flatnonzero(chosen)).astype(np.int64)
        source = np.concatenate([np.arange(n, dtype=np.int64), copies])
        touched = np.arange(len(source)) >= n
    return DirtiedTable(table.take(pa.array(source)), source, touched)


def shuffle_rows(
    table: pa.Table, rng: np.random.Generator, rate: float, *, window: int = 1000
) -> DirtiedTable:
    """Move picked rows up to `window` places away, so records arrive out of order."""
    n = table.num_rows
    chosen = rng.random(n) < rate
    jump = rng.integers(-window, window + 1, size=n) * chosen
    source = np.argsort(np.arange(n) + jump + 0.5 * chosen, kind="stable").astype(np.int64)
    return DirtiedTable(table.take(pa.array(source)), source, source != np.arange(n))


@dataclass(frozen=True)
class LateSplit:
    """Rows delivered on time, and rows held back to arrive with a later delivery."""

    on_time: pa.Table
    late: pa.Table
    late_rows: Rows  # input row numbers of `late`


def split_late(table: pa.Table, rng: np.random.Generator, rate: float) -> LateSplit:
    """Hold back picked rows; the caller appends `late` to a later month's file."""
    late = rng.random(table.num_rows) < rate
    mask = pa.array(late)
    return LateSplit(
        table.filter(pc.invert(mask)), table.filter(mask), np.flatnonzero(late).astype(np.int64)
    )


@dataclass(frozen=True)
class SchemaChange:
    """A schema change between deliveries, for the truth."""

    renamed: dict[str, str] = field(default_factory=dict)
    added: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()


def drift_schema(
    table: pa.Table,
    *,
    rename: Mapping[str, str] | None = None,
    add: Mapping[str, pa.Array | pa.Scalar | str | int | float | None] | None = None,
    drop: Sequence[str] = (),
) -> tuple[pa.Table, SchemaChange]:
    """Rename, add (at the end) and drop columns, as a department system's upgrade does."""
    rename, add = dict(rename or {}), dict(add or {})
    for name in [*rename, *drop]:
        if name not in table.column_names:
            raise KeyError(f"drift_schema: no column {name!r} in {table.column_names}")
    out = table.drop_columns(list(drop)) if drop else table
    out = out.rename_columns([rename.get(c, c) for c in out.column_names])
    for name, value in add.items():
        col = value if isinstance(value, pa.Array) else pa.repeat(pa.scalar(value), len(out))
        out = out.append_column(name, col)
    return out, SchemaChange(rename, tuple(add), tuple(drop))


def apply_to_column(
    table: pa.Table,
    column: str,
    dirt: Callable[[pa.Array, np.random.Generator, float], Dirtied],
    rng: np.random.Generator,
    rate: float,
) -> tuple[pa.Table, Mask]:
    """Dirty one column of a table in place of the original; returns the table and the mask."""
    i = table.schema.get_field_index(column)
    if i < 0:
        raise KeyError(f"apply_to_column: no column {column!r}")
    result = dirt(table.column(i), rng, rate)
    return table.set_column(i, table.field(i), result.values), result.touched
