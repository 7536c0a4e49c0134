"""Pushed bodies (a JSON array, or NDJSON) parsed into chunks.

Landing one body as one load is :func:`citybrain.ingest.streams.push_load`; the HTTP route that
receives pushed bodies is the API's (``citybrain.api.routers.push``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from citybrain.core.errors import UserError
from citybrain.ingest.connectors.base import Chunk, Reject, with_positions
from citybrain.ingest.connectors.jsonl import records_table
from citybrain.ingest.connectors.memory import records_chunk


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
