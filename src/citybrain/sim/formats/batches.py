"""What every writer accepts (a table, a batch or an iterator of them) and the write-aside
that renames a file into place only once it is complete."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeAlias

import pyarrow as pa

Batches: TypeAlias = pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch | pa.Table]
"""What every writer accepts: one table or batch, or an iterator of them (all with one schema)."""


def iter_batches(data: Batches) -> Iterator[pa.RecordBatch]:
    """Yield record batches from a table, a batch, or an iterator of either."""
    if isinstance(data, pa.RecordBatch):
        yield data
        return
    if isinstance(data, pa.Table):
        yield from data.to_batches()
        return
    for item in data:
        if isinstance(item, pa.Table):
            yield from item.to_batches()
        else:
            yield item


@contextmanager
def aside(path: Path) -> Iterator[Path]:
    """Write to a sibling temporary path and rename it over `path` only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
