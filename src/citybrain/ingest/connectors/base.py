"""What every connector yields: chunks of Arrow data with row positions, plus rejects.

A file connector is a :class:`FileReader`; a source that is read or received rather than
delivered as a file (SQL, HTTP, NGSI-LD, MQTT, push) is a :class:`StreamReader`. Connectors only
read: landing what they yield is :mod:`citybrain.ingest.load`'s, and :mod:`citybrain.ingest.streams`
joins the two for stream sources.

A chunk's table holds the delivered columns and three internal columns: ``__cb_row`` (1-based
record number in the file), ``__cb_line`` (physical line or sheet row, null when unknown) and
``__cb_reason`` (null, or why the connector already knows the row cannot land, e.g.
``undecodable_bytes``). Records that could not even be split into columns are *rejects*: they keep
their raw text and position.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.errors import UserError
from citybrain.ingest.contract import SourceContract

ROW = "__cb_row"
LINE = "__cb_line"
REASON = "__cb_reason"
INTERNAL = (ROW, LINE, REASON)
DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024
DEFAULT_CHUNK_ROWS = 100_000


class SourceUnreadable(UserError):
    """A file that cannot be read at all; the message names the file and what to do."""


@dataclass(frozen=True)
class Reject:
    """A record that could not be parsed into columns."""

    row: int | None
    line: int | None
    reason: str
    raw: str


@dataclass
class Chunk:
    table: pa.Table
    rejects: list[Reject] = field(default_factory=list)
    bytes_read: int = 0

    @property
    def records(self) -> int:
        return int(self.table.num_rows) + len(self.rejects)


class FileReader(Protocol):
    """A connector reading one file; ``columns`` is known after construction for fixed layouts."""

    @property
    def path(self) -> Path: ...

    @property
    def columns(self) -> list[str]: ...

    @property
    def fixed_columns(self) -> bool: ...

    @property
    def encoding(self) -> str | None: ...

    def chunks(self) -> Iterator[Chunk]: ...


class StreamReader(Protocol):
    """A connector reading a stream source once: what :func:`~citybrain.ingest.load.land_stream`
    lands as one load."""

    @property
    def source(self) -> str: ...  # what the manifest names as read: a URL, a table, a topic

    @property
    def fixed_columns(self) -> bool: ...

    def chunks(self) -> Iterator[Chunk]: ...

    def digest(self) -> str: ...  # checksum of the bytes received, "" when there were none

    def watermark(self) -> str | None: ...  # the newest source watermark read, if tracked

    def notes(self) -> list[str]: ...  # warnings for the manifest, e.g. pages retried


def header_names(cells: list[str | None]) -> list[str]:
    """Column names from a header row: a blank cell is named by its position (``column_3``) and a
    repeated name gets its occurrence (``备注``, ``备注_3`` when ``备注_2`` is delivered too), so
    every delivered column can be mapped by name and none is lost to its twin."""
    written = [(cell or "").strip() or f"column_{i + 1}" for i, cell in enumerate(cells)]
    taken = set(written)  # names delivered later are kept as they are
    names: list[str] = []
    used: set[str] = set()
    for name in written:
        unique, n = name, 1
        while unique in used or (unique != name and unique in taken):
            n += 1
            unique = f"{name}_{n}"
        used.add(unique)
        names.append(unique)
    return names


def source_watermark_column(contract: SourceContract) -> str | None:
    """The delivered column behind an incremental contract's watermark (a target column name)."""
    if contract.refresh.mode != "incremental":
        return None
    target = contract.refresh.watermark
    if target is None:
        raise UserError(
            f"source {contract.id}: refresh.mode incremental needs refresh.watermark",
            hint="name the column that only grows, e.g. updated_at",
        )
    for column in contract.mapping.columns:
        if column.target == target:
            return column.source
    return target


def with_positions(
    table: pa.Table, rows: pa.Array, lines: pa.Array | None, reasons: pa.Array | None = None
) -> pa.Table:
    table = table.append_column(ROW, rows.cast(pa.int64()))
    n = table.num_rows
    table = table.append_column(
        LINE, lines.cast(pa.int64()) if lines is not None else pa.nulls(n, pa.int64())
    )
    return table.append_column(REASON, reasons if reasons is not None else pa.nulls(n, pa.string()))


def to_text(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Any Arrow column as text: primitives by Arrow's cast, nested values as JSON."""
    kind = array.type
    if pa.types.is_string(kind):
        return array
    if pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        return pc.cast(array, pa.string())
    if pa.types.is_nested(kind):
        values = [
            None if v is None else json.dumps(v, ensure_ascii=False, default=str)
            for v in array.to_pylist()
        ]
        return pa.array(values, pa.string())
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return pa.array(
            [None if v is None else v.decode("utf-8", "replace") for v in array.to_pylist()],
            pa.string(),
        )
    return pc.cast(array, pa.string())


def text_table(table: pa.Table) -> pa.Table:
    return pa.table({name: to_text(table.column(name)) for name in table.column_names})


def python_text(value: Any) -> str | None:
    """One cell value from a spreadsheet or a JSON document as text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    iso = getattr(value, "isoformat", None)
    if iso is not None:
        text: str = iso()
        return text.replace("T", " ").removesuffix(" 00:00:00")
    return str(value)


def records_table(records: list[dict[str, Any]]) -> pa.Table:
    """JSON objects as a table of text columns, in the order their keys first appear."""
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    return pa.table(
        {name: pa.array([python_text(r.get(name)) for r in records], pa.string()) for name in names}
    )
