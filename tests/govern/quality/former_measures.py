"""The quality measures as they were up to 31a81fd: the filled values by a strip of every text
value, the event times in a query of their own. The oracle `table_counts` is compared with
(tests/govern/quality/test_measures.py)."""

from __future__ import annotations

import ibis.expr.types as ir

from citybrain.core.engine import Engine
from citybrain.core.stdmodel import StdTable
from citybrain.govern.quality.measures import Counts, EventTimes, event_column


def filled_counts(engine: Engine, table: ir.Table, std: StdTable) -> Counts:
    """Rows and non-empty values per column, by source and load."""
    metrics = {"_rows": table.count()}
    for column in std.columns:
        value = table[column.name]
        filled = value.notnull()
        if column.type == "string":
            filled = filled & (value.strip().length() > 0)
        metrics[column.name] = filled.sum()
    grouped = table.group_by("source_system", "load_id").agg(**metrics)
    out: Counts = {}
    for row in engine.to_arrow(grouped).to_pylist():
        key = (row.pop("source_system"), row.pop("load_id"))
        out[key] = {k: int(v or 0) for k, v in row.items()}
    return out


def event_times(engine: Engine, table: ir.Table, std: StdTable) -> dict[str, EventTimes]:
    """Per source: rows, rows with an event time, the latest event time — in the engine."""
    column = event_column(std)
    if column is None:
        return {}
    value = table[column]
    grouped = table.group_by("source_system").agg(
        rows=table.count(), timed=value.notnull().sum(), latest=value.max()
    )
    return {
        row["source_system"]: EventTimes(int(row["rows"]), int(row["timed"] or 0), row["latest"])
        for row in engine.to_arrow(grouped).to_pylist()
    }
