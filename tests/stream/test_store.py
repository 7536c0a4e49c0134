"""The stream store: a detector's state, cursor and events round-trip through the ops database
(SQLite's fast path and PostgreSQL's), all or nothing per batch."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from citybrain.core.opsdb import connect, session, upgrade
from citybrain.stream.detector import StreamEvent
from citybrain.stream.opsdb_models import LiveEventRecord
from citybrain.stream.store import Saved, StreamStore, json_text

STATE: dict[str, Any] = {
    "last": {"川A12345": [1796611987.431, 104.00076, 30.55], "鄂B0001": [1.0, None, -0.5]},
    "days": {"川A12345|20794": [0, None, None, 0, 30.0]},
    "flagged": ["川A12345|20794|outside_hours"],
    "counts": {"received": 10_000, "late": 0},
    "note": "深夜 “引号” \\ 反斜杠\n换行",
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StreamStore]:
    url: Any = f"sqlite:///{tmp_path / 'ops.db'}"
    if request.param == "postgresql":
        url = request.getfixturevalue("fresh_postgres_url")
    engine = connect(url)
    upgrade(engine)
    yield StreamStore(engine)
    engine.dispose()


def test_state_cursor_and_events_round_trip(store: StreamStore) -> None:
    cursor = {"muck_truck_gps_live": {"finished_at": "2026-12-07T03:00:00+00:00", "load_id": "L1"}}
    events = [
        StreamEvent("vehicle.position", {"plate": "川A12345", "lon": 104.1, "speed": None}),
        StreamEvent("truck.violation", {"plate": "川A12345", "kinds": ["outside_hours"]}),
    ]
    store.save("muck_trucks", Saved(STATE, cursor, 1), events, system="s", load_id="L1")
    loaded = store.load("muck_trucks")
    assert loaded is not None
    assert (loaded.state, loaded.cursor, loaded.batches) == (STATE, cursor, 1)
    stored = store.events()
    assert [(e.type, e.data, e.load_id) for e in stored] == [(e.type, e.data, "L1") for e in events]
    # a second save replaces the row (no second row, the newer state read back)
    newer = {**STATE, "counts": {"received": 20_000, "late": 1}}
    store.save("muck_trucks", Saved(newer, cursor, 2), [])
    again = store.load("muck_trucks")
    assert again is not None and again.state == newer and again.batches == 2
    with session(store.ops_engine) as db:
        names = db.execute(text("SELECT name FROM stream_detector_state")).scalars().all()
        assert names == ["muck_trucks"]
        assert len(db.scalars(select(LiveEventRecord)).all()) == 2


def test_a_failed_save_writes_nothing(store: StreamStore) -> None:
    store.save("d", Saved({"n": 1}, {}, 1), [])
    with pytest.raises(TypeError):  # not JSON: the whole batch's save is rolled back
        store.save("d", Saved({"n": 2, "bad": object()}, {}, 2), [StreamEvent("x", {"a": 1})])
    loaded = store.load("d")
    assert loaded is not None and loaded.state == {"n": 1} and loaded.batches == 1
    assert store.events() == []


def test_json_text_reads_back_as_the_standard_library_writes_it() -> None:
    import json

    assert json.loads(json_text(STATE)) == STATE
    assert json.loads(json_text({1: "a", "b": math.nan})) == {"1": "a", "b": None}
