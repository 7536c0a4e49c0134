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

from sqlalchemy import Connection, Table, insert, select, update
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
        values = {
            "state": saved.state,
            "cursor": saved.cursor,
            "batches": saved.batches,
            "updated_at": now,
        }
        states = cast(Table, DetectorStateRecord.__table__)
        with session(self.ops_engine) as db:
            done = db.execute(update(states).where(states.c.name == name).values(values))
            if not done.rowcount:  # type: ignore[attr-defined]
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
                connection = db.connection()
                if connection.dialect.name == "sqlite":
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


_EVENT_KEYS = ("at", "type", "permission", "system", "load_id", "street_id", "community_id",
               "grid_id", "data")  # fmt: skip


def _insert_events(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """``rows`` into ``live_event`` with one DB-API ``executemany``, each value passed through
    its column type's own bind processor (the stored text is what the ORM insert writes) —
    SQLAlchemy's per-row parameter handling cost about three times the insert itself (~20 us a
    row, thousands of position events a batch)."""
    table = cast(Table, LiveEventRecord.__table__)
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(_EVENT_KEYS))
    order = compiled.positiontup or []
    if sorted(order) != sorted(_EVENT_KEYS):  # not a positional statement of these columns
        connection.execute(insert(table), rows)
        return
    processors = [table.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in order]
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
