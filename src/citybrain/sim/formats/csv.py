"""CSV in UTF-8, UTF-8 with BOM, GBK or GB18030, written by Arrow chunk by chunk."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pacsv

from citybrain.sim.formats.batches import Batches, aside, iter_batches
from citybrain.sim.formats.dates import format_dates

CsvEncoding = Literal["utf-8", "utf-8-sig", "gbk", "gb18030"]
Quoting = Literal["needed", "all", "none"]


def write_csv(
    path: Path,
    data: Batches,
    *,
    encoding: CsvEncoding = "utf-8",
    delimiter: str = ",",
    quoting: Quoting = "needed",
    header: bool = True,
    date_formats: Mapping[str, str] | None = None,
    eol: str = "\n",
    null: str = "",
    errors: Literal["strict", "replace"] = "strict",
) -> int:
    """Write CSV with Arrow's writer; non-UTF-8 encodings re-encode whole chunks, never rows.

    `errors="replace"` writes "?" for a character the encoding lacks (as many export tools do);
    with "strict" such a character raises UnicodeEncodeError.
    """
    style = {"needed": "needed", "all": "all_valid", "none": "none"}[quoting]
    rows = 0
    first = True
    with aside(path) as tmp, tmp.open("wb") as out:
        if encoding == "utf-8-sig":
            out.write(b"\xef\xbb\xbf")
        for batch in iter_batches(data):
            batch = format_dates(batch, date_formats or {})
            opts = pacsv.WriteOptions(
                include_header=header and first,
                delimiter=delimiter,
                quoting_style=style,
                eol=eol,
                null_string=null,
            )
            sink = pa.BufferOutputStream()
            pacsv.write_csv(batch, sink, write_options=opts)
            chunk = sink.getvalue().to_pybytes()
            if encoding in ("gbk", "gb18030"):
                chunk = chunk.decode("utf-8").encode(encoding, errors=errors)
            out.write(chunk)
            rows += batch.num_rows
            first = False
    return rows
