"""The streaming path's ops-database side: detector state and live events, saved together.

:meth:`StreamStore.save` writes one detector's new state and cursor and the events it emitted for
one batch in a single transaction. The API reads the events back by id (``citybrain.api.live``,
source ``stream``), so an event written here reaches every browser whichever process wrote it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import JSON, Connection, String, Table, insert, select, type_coerce, update
from sqlalchemy import Engine as SqlEngine

from citybrain.core.opsdb import session
from citybrain.stream.detector import StreamEvent
from citybrain.stream.opsdb_models import DetectorStateRecord, LiveEventRecord


@dataclass
class Saved:
    """A detector's state as last committed."""

    state: dict[str, Any]
    cursor: dict[str, Any]  # system → {"finished_at": iso, "load_id": …} of the last load taken in
    batches: int


@dataclass
class StreamStore:
    ops_engine: SqlEngine

    def load(self, name: str) -> Saved | None:
        with session(self.ops_engine) as db:
            row = db.get(DetectorStateRecord, name)
            if row is None:
                return None
            return Saved(dict(row.state), dict(row.cursor), row.batches)

    def save(
        self,
        name: str,
        saved: Saved,
        events: Sequence[StreamEvent],
        *,
        system: str | None = None,
        load_id: str | None = None,
    ) -> None:
        """The state, cursor and events of one batch: all committed, or none.

        Written with Core statements: loading the row (the ORM's way) read the whole previous
        state back from JSON on every batch only to replace it."""
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "state": saved.state,
            "cursor": saved.cursor,
            "batches": saved.batches,
            "updated_at": now,
        }
        states = cast(Table, DetectorStateRecord.__table__)
        with session(self.ops_engine) as db:
            connection = db.connection()
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:  # the JSON as text written by json_text (SQLite stores JSON as text)
                for key in ("state", "cursor"):
                    values[key] = type_coerce(json_text(values[key]), String)
            done: Any = db.execute(update(states).where(states.c.name == name).values(values))
            if not done.rowcount:
                db.execute(insert(states).values(name=name, **values))
            if events:  # one executemany: a batch can move thousands of vehicles
                rows = [
                    {
                        "at": now,
                        "type": e.type,
                        "permission": e.permission,
                        "system": system,
                        "load_id": load_id,
                        "street_id": e.street_id,
                        "community_id": e.community_id,
                        "grid_id": e.grid_id,
                        "data": dict(e.data),
                    }
                    for e in events
                ]
                if sqlite:
                    _insert_events(connection, rows)
                else:
                    db.execute(insert(cast(Table, LiveEventRecord.__table__)), rows)

    def events(self, after: int = 0, limit: int = 1000) -> list[LiveEventRecord]:
        with session(self.ops_engine) as db:
            query = (
                select(LiveEventRecord)
                .where(LiveEventRecord.id > after)
                .order_by(LiveEventRecord.id)
                .limit(limit)
            )
            return list(db.scalars(query))


def json_text(value: Any) -> str:
    """``value`` as JSON text, as the JSON columns store it on SQLite: orjson, several times
    faster than the standard library's encoder on a muck-truck detector's state (5,000 trucks,
    ~0.8 MB: 15 ms a batch, two batches a second) and on thousands of position events. Keys that
    are not text become text and NaN becomes null, as a JSON reader expects."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _bind(connection: Connection, table: Table, keys: Sequence[str]) -> list[Any]:
    """Each column's bind processor (None where it has none), JSON columns by :func:`json_text`."""
    dialect = connection.dialect
    out: list[Any] = []
    for key in keys:
        kind = table.c[key].type
        if isinstance(kind, JSON):
            out.append(json_text)
        else:
            out.append(kind.dialect_impl(dialect).bind_processor(dialect))
    return out


_EVENT_KEYS = ("at", "type", "permission", "system", "load_id", "street_id", "community_id",
               "grid_id", "data")  # fmt: skip


def _insert_events(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """``rows`` into ``live_event`` with one DB-API ``executemany``, each value passed through
    its column type's own bind processor (JSON by :func:`json_text`) — SQLAlchemy's per-row
    parameter handling cost about three times the insert itself (~20 us a row, thousands of
    position events a batch)."""
    table = cast(Table, LiveEventRecord.__table__)
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(_EVENT_KEYS))
    order = compiled.positiontup or []
    if sorted(order) != sorted(_EVENT_KEYS):  # not a positional statement of these columns
        connection.execute(insert(table), rows)
        return
    processors = _bind(connection, table, order)
    constant = {"at", "system", "load_id"}  # the same in every row of one batch
    fixed = {
        key: proc(rows[0][key]) if proc is not None else rows[0][key]
        for key, proc in zip(order, processors, strict=True)
        if key in constant
    }
    steps = [
        (i, key, proc)
        for i, (key, proc) in enumerate(zip(order, processors, strict=True))
        if key not in constant
    ]
    template = [fixed.get(key) for key in order]
    values = []
    for row in rows:
        out = template.copy()
        for i, key, proc in steps:
            out[i] = row[key] if proc is None else proc(row[key])
        values.append(tuple(out))
    connection.exec_driver_sql(str(compiled), values)
