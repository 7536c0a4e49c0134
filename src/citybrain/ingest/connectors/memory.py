"""Records already in memory as chunks: push bodies, MQTT micro-batches, API pages."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from citybrain.ingest.connectors.base import Chunk, Reject, records_table, with_positions


def records_chunk(
    records: Sequence[Any], *, first_row: int, rejects: Sequence[Reject] = (), size: int = 0
) -> Chunk:
    """Parsed JSON values as one chunk: objects become rows (text columns, like the JSON file
    connector), anything else is rejected as ``not_an_object``; rows are numbered from
    ``first_row`` in delivery order."""
    good = [r for r in records if isinstance(r, dict)]
    rows = [first_row + i for i, r in enumerate(records) if isinstance(r, dict)]
    bad = [
        Reject(first_row + i, None, "not_an_object", json.dumps(r, ensure_ascii=False))
        for i, r in enumerate(records)
        if not isinstance(r, dict)
    ]
    table = with_positions(records_table(good), pa.array(rows, pa.int64()), None)
    return Chunk(table, [*rejects, *bad], size)


@dataclass
class MemoryReader:
    """A :class:`~citybrain.ingest.connectors.base.StreamReader` over chunks already in hand (a
    push body, an MQTT micro-batch)."""

    source: str
    parts: Sequence[Chunk]
    body_digest: str = ""
    fixed_columns: bool = False

    def chunks(self) -> Iterator[Chunk]:
        yield from self.parts

    def digest(self) -> str:
        return self.body_digest

    def watermark(self) -> str | None:
        return None

    def notes(self) -> list[str]:
        return []
