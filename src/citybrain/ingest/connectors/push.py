"""Pushed bodies (a JSON array, or NDJSON) parsed into chunks.

Landing one body as one load is :func:`citybrain.ingest.streams.push_load`; the HTTP route that
receives pushed bodies is the API's (``citybrain.api.routers.push``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from citybrain.core.errors import UserError
from citybrain.ingest.connectors.base import Chunk
from citybrain.ingest.connectors.jsonl import lines_chunk
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


def _ndjson_chunks(lines: list[str], batch_rows: int) -> Iterator[Chunk]:
    numbered = [(number, line) for number, line in enumerate(lines, 1) if line.strip()]
    for start in range(0, len(numbered), batch_rows):
        yield lines_chunk(numbered[start : start + batch_rows], first_row=start + 1)
    if not numbered:
        yield lines_chunk([], first_row=1)
