"""JSON Lines built as Arrow string arrays (no Python per row)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.formats.batches import Batches, aside, iter_batches
from citybrain.sim.formats.dates import format_dates, strftime

_SPECIAL = np.zeros(256, dtype=np.bool_)
_SPECIAL[[0x5C, 0x22, 0x0A, 0x0D, 0x09]] = True  # \\ " newline, carriage return, tab


def _escape_json(text: pa.Array) -> pa.Array:
    """Escape backslash (first), quote and the control characters that occur in real text.

    Most columns hold none of them, which one pass over the data buffer shows; otherwise the
    escaping runs on the distinct values when there are few enough, and is taken back onto rows.
    """
    data = text.buffers()[2]
    if data is None or not _SPECIAL[np.frombuffer(data, dtype=np.uint8)].any():
        return text
    encoded = pc.dictionary_encode(text)
    few = len(encoded.dictionary) * 2 < len(text)
    work = encoded.dictionary if few else text
    for raw, esc in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        work = pc.replace_substring(work, raw, esc)
    return work.take(encoded.indices) if few else work


def _json_strings(col: pa.Array) -> pa.Array:
    """Encode a column's values as JSON text, vectorised; nulls (and NaN) become `null`."""
    t = col.type
    if pa.types.is_dictionary(t):  # encode each distinct value once
        return pc.fill_null(_json_strings(col.dictionary).take(col.indices), "null")
    if pa.types.is_boolean(t):
        out = pc.if_else(col, "true", "false")
    elif pa.types.is_integer(t) or pa.types.is_decimal(t):
        out = col.cast(pa.string())
    elif pa.types.is_floating(t):
        finite = pc.is_finite(col)
        out = pc.if_else(finite, col.cast(pa.string()), pa.scalar(None, pa.string()))
    else:
        if pa.types.is_timestamp(t):
            # ISO 8601 to the second; an aware timestamp in its own zone's local time.
            text = strftime(col, "%Y-%m-%dT%H:%M:%S")
        elif pa.types.is_temporal(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
            text = col.cast(pa.string())
        else:
            raise TypeError(f"JSON Lines writer does not handle column type {t}")
        text = _escape_json(text)
        out = pc.binary_join_element_wise('"', text, '"', "")
    return pc.fill_null(out, "null")


def json_objects(batch: pa.RecordBatch, date_formats: Mapping[str, str] | None = None) -> pa.Array:
    """Each row as one compact JSON object string (keys in schema order, non-ASCII kept),
    built column-wise with Arrow compute; dates and timestamps become ISO text."""
    batch = format_dates(batch, date_formats or {})
    parts: list[Any] = []
    for i, name in enumerate(batch.schema.names):
        key = json.dumps(name, ensure_ascii=False) + ":"
        parts += [("{" if i == 0 else ",") + key, _json_strings(batch.column(i))]
    if not parts:
        return pa.repeat(pa.scalar("{}"), batch.num_rows)
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


def joined_bytes(lines: pa.Array) -> bytes:
    """All strings of a (null-free) string array back to back, straight from its data buffer."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    data = lines.buffers()[2]
    return b"" if data is None else data.to_pybytes()[start:end]


def write_jsonl(
    path: Path,
    data: Batches,
    *,
    date_formats: Mapping[str, str] | None = None,
    encoding: Literal["utf-8", "gbk", "gb18030"] = "utf-8",
) -> int:
    """Write one JSON object per line, built vectorised and written a chunk at a time."""
    rows = 0
    with aside(path) as tmp, tmp.open("wb") as out:
        for batch in iter_batches(data):
            if batch.num_rows == 0:
                continue
            lines = pc.binary_join_element_wise(json_objects(batch, date_formats), "\n", "")
            chunk = joined_bytes(lines)
            if encoding != "utf-8":
                chunk = chunk.decode("utf-8").encode(encoding)
            out.write(chunk)
            rows += batch.num_rows
    return rows
