"""Parquet files, read a row group batch at a time; columns keep their types."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from citybrain.ingest.connectors.base import (
    DEFAULT_CHUNK_ROWS,
    Chunk,
    SourceUnreadable,
    with_positions,
)


class ParquetReader:
    fixed_columns = True
    encoding = None

    def __init__(self, path: Path, chunk_rows: int = DEFAULT_CHUNK_ROWS * 5) -> None:
        self.path = path
        self.chunk_rows = max(chunk_rows, 1)
        try:
            self._file = pq.ParquetFile(path)
        except (OSError, pa.ArrowException) as exc:
            raise SourceUnreadable(
                f"{path}: not a readable Parquet file ({exc})",
                hint="ask for a fresh export or fix connector.kind in the contract",
            ) from None
        self.columns = list(self._file.schema_arrow.names)

    def chunks(self) -> Iterator[Chunk]:
        row = 1
        try:
            for batch in self._file.iter_batches(batch_size=self.chunk_rows):
                n = batch.num_rows
                table = pa.Table.from_batches([batch])
                yield Chunk(with_positions(table, pa.array(np.arange(row, row + n)), None))
                row += n
        except (OSError, pa.ArrowException) as exc:
            raise SourceUnreadable(
                f"{self.path}: damaged Parquet file ({exc})", hint="ask for a fresh export"
            ) from None
