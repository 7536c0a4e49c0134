"""Connectors: from a department's delivery to chunks of Arrow data with positions.

Connectors only read: they import nothing that lands (``load``, ``streams``, ``runner``); the
import-linter contract "Ingest reads top-down" in ``pyproject.toml`` keeps it so."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from citybrain.ingest.connectors.base import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CHUNK_ROWS,
    Chunk,
    FileReader,
    Reject,
    SourceUnreadable,
    StreamReader,
)
from citybrain.ingest.contract import (
    CsvConnector,
    JsonConnector,
    ParquetConnector,
    SourceContract,
    XlsxConnector,
)

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "STREAM_KINDS",
    "Chunk",
    "ConnectorNotImplemented",
    "FileReader",
    "Reject",
    "SourceUnreadable",
    "StreamReader",
    "open_file",
    "source_files",
]


class ConnectorNotImplemented(SourceUnreadable):
    """A connector kind the contract may name but this version cannot run yet."""


def source_files(contract: SourceContract) -> list[Path]:
    """The files a file-based contract points at (a glob, relative to the contract's folder)."""
    connector = contract.connector
    if not isinstance(connector, (CsvConnector, XlsxConnector, JsonConnector, ParquetConnector)):
        raise ConnectorNotImplemented(
            f"source {contract.id}: connector kind {connector.kind!r} "
            "is not available in this version",
            hint="use a file export (csv, xlsx, jsonl, json, parquet) for now",
        )
    pattern = Path(connector.path)
    base = pattern if pattern.is_absolute() else contract.base_dir() / pattern
    if any(ch in connector.path for ch in "*?["):
        anchor = Path(base.anchor)
        found = anchor.glob(str(base.relative_to(anchor)))
        files = sorted(p for p in found if p.is_file() and not _is_temporary(p))
    else:
        files = [base] if base.is_file() else []
    if not files:
        raise SourceUnreadable(
            f"source {contract.id}: no file matches {base}",
            hint="check connector.path in the contract (relative to the contract's folder)",
        )
    return files


def _is_temporary(path: Path) -> bool:
    """Office lock files (~$x.xlsx), hidden files and partial transfers are not deliveries."""
    name = path.name
    return name.startswith(("~$", ".")) or name.endswith((".part", ".tmp", ".crdownload"))


def open_file(
    contract: SourceContract,
    path: Path,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> FileReader:
    connector = contract.connector
    expected: Sequence[str] = [c.source for c in contract.mapping.columns]
    if isinstance(connector, CsvConnector):
        from citybrain.ingest.connectors.csv import CsvReader

        return CsvReader(path, connector, expected, chunk_bytes)
    if isinstance(connector, XlsxConnector):
        from citybrain.ingest.connectors.xlsx import XlsxReader

        return XlsxReader(path, connector, expected, chunk_rows)
    if isinstance(connector, ParquetConnector):
        from citybrain.ingest.connectors.parquet import ParquetReader

        return ParquetReader(path, chunk_rows * 5)
    if isinstance(connector, JsonConnector):
        from citybrain.ingest.connectors.jsonl import JsonDocumentReader, JsonLinesReader

        if connector.kind == "json":
            return JsonDocumentReader(path, connector, chunk_rows)
        return JsonLinesReader(path, chunk_bytes)
    raise ConnectorNotImplemented(
        f"source {contract.id}: connector kind {connector.kind!r} is not available in this version",
        hint="use a file export (csv, xlsx, jsonl, json, parquet) for now",
    )


# Sources that are read or received rather than delivered as files (landed by
# citybrain.ingest.streams); push sources are landed by the push endpoint as bodies arrive, so
# ingest has nothing to read for them.
STREAM_KINDS = ("sql", "http", "ngsi_ld", "mqtt", "push")
