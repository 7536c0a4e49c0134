"""Parquet through a streaming writer, in whole row groups, with per-column encodings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from citybrain.sim.formats.batches import Batches, aside, iter_batches


def write_parquet(
    path: Path,
    data: Batches,
    *,
    compression: str = "zstd",
    row_group_size: int = 1 << 20,
    compression_level: int | None = 1,
    use_dictionary: bool | Sequence[str] = True,
    column_encoding: Mapping[str, str] | None = None,
) -> int:
    """Write Parquet with a chunked writer; the footer carries no time or host, so bytes repeat.

    Small batches are gathered into row groups of `row_group_size` rows (a write per batch would
    make one tiny row group each), so memory holds at most one row group. For bulk tables name
    the low-cardinality columns in `use_dictionary`: trying a dictionary on unique keys and
    coordinates costs about as much as generating them. `column_encoding` sets an encoding per
    column (e.g. ``DELTA_BINARY_PACKED`` for keys that count up).

    Floating-point columns (coordinates, readings) are written ``BYTE_STREAM_SPLIT`` without
    min/max statistics: their bytes then compress faster and smaller, and nobody prunes row
    groups on a random coordinate.
    """
    rows = 0
    writer: pq.ParquetWriter | None = None
    pending: list[pa.RecordBatch] = []
    pending_rows = 0

    def flush(final: bool) -> None:
        # Write whole row groups only (all of it at the end), keeping the remainder pending.
        nonlocal pending, pending_rows
        if writer is None or not pending:
            return
        table = pa.Table.from_batches(pending)
        cut = table.num_rows if final else table.num_rows // row_group_size * row_group_size
        writer.write_table(table.slice(0, cut), row_group_size=row_group_size)
        pending = table.slice(cut).to_batches()
        pending_rows = table.num_rows - cut

    with aside(path) as tmp:
        try:
            for batch in iter_batches(data):
                if writer is None:
                    writer = _writer(
                        tmp,
                        batch.schema,
                        compression,
                        compression_level,
                        use_dictionary,
                        column_encoding or {},
                    )
                pending.append(batch)
                pending_rows += batch.num_rows
                rows += batch.num_rows
                if pending_rows >= row_group_size:
                    flush(final=False)
            if writer is None:
                raise ValueError(f"{path}: no batches to write (Parquet needs a schema)")
            flush(final=True)
        finally:
            if writer is not None:
                writer.close()
    return rows


def _writer(
    path: Path,
    schema: pa.Schema,
    compression: str,
    compression_level: int | None,
    use_dictionary: bool | Sequence[str],
    column_encoding: Mapping[str, str],
) -> pq.ParquetWriter:
    """A writer with byte-stream-split floats (no dictionary, no statistics) unless told else."""
    floats = [
        f.name for f in schema if pa.types.is_floating(f.type) and f.name not in column_encoding
    ]
    names = [f.name for f in schema]
    if use_dictionary is True:
        use_dictionary = [n for n in names if n not in floats and n not in column_encoding]
    elif use_dictionary is False:
        use_dictionary = []
    floats = [n for n in floats if n not in use_dictionary]
    encoding = {**column_encoding, **dict.fromkeys(floats, "BYTE_STREAM_SPLIT")}
    return pq.ParquetWriter(
        path,
        schema,
        compression=compression,
        compression_level=compression_level,
        use_dictionary=list(use_dictionary),
        column_encoding=encoding or None,
        write_statistics=[n for n in names if n not in floats],
    )
