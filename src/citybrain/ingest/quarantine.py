"""Rows that cannot land, in one layout: delivered columns as text plus where and why.

Columns: the delivered columns, then ``_file``, ``_load_id``, ``_row`` (1-based record number),
``_line`` (physical line or sheet row, when known), ``_reason`` and ``_raw`` (the raw text of a
record that could not be split into columns).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.ingest.connectors.base import LINE, REASON, ROW, Reject


def quarantine_table(
    rows: pa.Table | None, rejects: Sequence[Reject], *, file: str, load_id: str
) -> pa.Table:
    """Value failures (``rows``, with internal position columns) and rejects as one table."""
    parts: list[pa.Table] = []
    if rows is not None and rows.num_rows:
        n = rows.num_rows
        data = rows.drop_columns([ROW, LINE, REASON])
        parts.append(
            _tail(data, n, file, load_id, rows.column(ROW), rows.column(LINE), rows.column(REASON))
        )
    if rejects:
        n = len(rejects)
        parts.append(
            _tail(
                pa.table({}),
                n,
                file,
                load_id,
                pa.array([r.row for r in rejects], pa.int64()),
                pa.array([r.line for r in rejects], pa.int64()),
                pa.array([r.reason for r in rejects], pa.string()),
                pa.array([r.raw for r in rejects], pa.string()),
            )
        )
    if not parts:
        return pa.table({})
    return pa.concat_tables(parts, promote_options="default") if len(parts) > 1 else parts[0]


def _tail(
    data: pa.Table,
    n: int,
    file: str,
    load_id: str,
    row: pa.Array | pa.ChunkedArray,
    line: pa.Array | pa.ChunkedArray,
    reason: pa.Array | pa.ChunkedArray,
    raw: pa.Array | None = None,
) -> pa.Table:
    columns = {name: data.column(name) for name in data.column_names}
    columns["_file"] = pa.array([file] * n, pa.string())
    columns["_load_id"] = pa.array([load_id] * n, pa.string())
    columns["_row"] = row
    columns["_line"] = line
    columns["_reason"] = reason
    columns["_raw"] = raw if raw is not None else pa.nulls(n, pa.string())
    return pa.table(columns)


def count_reasons(reasons: pa.Array | pa.ChunkedArray) -> Counter[str]:
    """Rows per reason, counted vectorised."""
    counts: Counter[str] = Counter()
    if len(reasons) == 0:
        return counts
    for item in pc.value_counts(reasons).to_pylist():
        counts[str(item["values"])] += int(item["counts"])
    return counts
