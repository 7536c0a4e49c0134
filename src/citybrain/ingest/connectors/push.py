"""Records in memory as chunks (push bodies, MQTT micro-batches, API pages), and the load of one
pushed body.

Every such load goes through :func:`citybrain.ingest.load.land_stream`, which drives the same
:class:`~citybrain.ingest.load.Loader` as file loads, so their manifests reconcile the same way.
The HTTP route that receives pushed bodies is the API's (``citybrain.api.routers.push``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from citybrain.core.errors import UserError
from citybrain.ingest.connectors.base import Chunk, Reject, with_positions
from citybrain.ingest.connectors.jsonl import records_table
from citybrain.ingest.contract import PushConnector, SourceContract
from citybrain.ingest.load import StreamReader, land_stream
from citybrain.ingest.manifest import Manifest
from citybrain.ingest.rawzone import RawZone

# -------------------------------------------------------------------------------------------------
# records in memory (push requests, MQTT micro-batches, API pages) as chunks


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
    """Chunks already in hand (a push body, an MQTT micro-batch)."""

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


def parse_body(body: bytes, batch_rows: int) -> list[Chunk]:
    """A JSON array, or NDJSON (one object per line; a bad line is quarantined with its line).

    Raises :class:`UserError` when a JSON array body does not parse: nothing of it can land.
    """
    text = body.decode("utf-8-sig", "replace")
    if text.lstrip().startswith("["):
        try:
            values: list[Any] = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(
                f"body is not a valid JSON array: {exc.msg} "
                f"at line {exc.lineno}, column {exc.colno}",
                hint="send a JSON array of objects, or NDJSON with one object per line",
            ) from None
        return [
            records_chunk(values[i : i + batch_rows], first_row=i + 1)
            for i in range(0, len(values), batch_rows)
        ] or [records_chunk([], first_row=1)]
    return list(_ndjson_chunks(text.splitlines(), batch_rows))


def _ndjson_chunks(lines: list[str], batch_rows: int) -> Iterable[Chunk]:
    objects: list[dict[str, Any]] = []
    rows: list[int] = []
    numbers: list[int] = []
    rejects: list[Reject] = []
    row = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        row += 1
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            rejects.append(Reject(row, number, f"bad_json:{exc.msg}", line))
        else:
            if isinstance(value, dict):
                objects.append(value)
                rows.append(row)
                numbers.append(number)
            else:
                rejects.append(Reject(row, number, "not_an_object", line))
        if len(objects) + len(rejects) >= batch_rows:
            yield _lines_chunk(objects, rows, numbers, rejects)
            objects, rows, numbers, rejects = [], [], [], []
    if objects or rejects or row == 0:
        yield _lines_chunk(objects, rows, numbers, rejects)


def _lines_chunk(
    objects: list[dict[str, Any]], rows: list[int], numbers: list[int], rejects: list[Reject]
) -> Chunk:
    table = with_positions(
        records_table(objects), pa.array(rows, pa.int64()), pa.array(numbers, pa.int64())
    )
    return Chunk(table, rejects)


# -------------------------------------------------------------------------------------------------
# one pushed body as one load


def push_load(
    lake: Path, contract: SourceContract, body: bytes, *, source: str = "push"
) -> Manifest:
    """Land one pushed body (JSON array or NDJSON) as one load; a JSON array that does not parse
    raises :class:`UserError` and lands nothing."""
    connector = contract.connector
    batch_rows = connector.batch_rows if isinstance(connector, PushConnector) else 10_000
    digest = "sha256:" + hashlib.sha256(body).hexdigest()

    # Parsed before the load starts: a body that is not JSON at all is the sender's error (HTTP 400,
    # send again), not a load of this source that failed.
    parts = parse_body(body, batch_rows)
    if parts:
        parts[0].bytes_read = len(body)

    def open_reader(zone: RawZone) -> StreamReader:
        return MemoryReader(source, parts, digest)

    return land_stream(lake, contract, open_reader)
