"""Deterministic, streaming file writers for the synthetic city's department systems.

Every writer takes a `Batches` value — one Arrow table or record batch, or an iterator of them — and
streams it to disk chunk by chunk, so memory stays flat at any scale. The same input always gives a
byte-identical file: nothing time-dependent (creation dates, zip timestamps, random ids) is
embedded. Files are written aside and renamed into place, so a killed run never leaves a
half-written file.

One module per format (``csv``, ``parquet``, ``jsonl``, ``xlsx``, ``sqlite``), beside the
shared ``batches`` and ``dates``, the ``connection`` files and the ``broken`` files; everything
public is re-exported here.

Writers return the number of data rows written. Helpers at the end damage a written file on purpose
(truncation, a wrong row width, bytes that are invalid in the declared encoding) so ingest's
broken-file handling has something to catch; each returns a `BrokenFile` record for the truth.
"""

from __future__ import annotations

from citybrain.sim.formats.batches import (
    Batches,
    iter_batches,
)
from citybrain.sim.formats.broken import (
    BrokenFile,
    break_row_width,
    inject_invalid_bytes,
    truncate_file,
)
from citybrain.sim.formats.connection import (
    CONNECTION_FILE,
    ConnectionKind,
    read_connection_file,
    write_connection_file,
)
from citybrain.sim.formats.csv import (
    CsvEncoding,
    Quoting,
    write_csv,
)
from citybrain.sim.formats.dates import (
    format_dates,
    strftime,
)
from citybrain.sim.formats.jsonl import (
    joined_bytes,
    json_objects,
    write_jsonl,
)
from citybrain.sim.formats.parquet import (
    write_parquet,
)
from citybrain.sim.formats.sqlite import (
    write_sqlite,
)
from citybrain.sim.formats.xlsx import (
    FIXED_TIME,
    Sheet,
    write_xlsx,
)

__all__ = [
    "CONNECTION_FILE",
    "FIXED_TIME",
    "Batches",
    "BrokenFile",
    "ConnectionKind",
    "CsvEncoding",
    "Quoting",
    "Sheet",
    "break_row_width",
    "format_dates",
    "inject_invalid_bytes",
    "iter_batches",
    "joined_bytes",
    "json_objects",
    "read_connection_file",
    "strftime",
    "truncate_file",
    "write_connection_file",
    "write_csv",
    "write_jsonl",
    "write_parquet",
    "write_sqlite",
    "write_xlsx",
]
