"""Live updates (GET /events): case changes and topic runs from the ops database, per role and area,
as JSON since a cursor and as server-sent events from a served app."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from api.conftest import Harness
from api.scoped_data import findings_table, write_findings
from citybrain.api import create_app
from citybrain.api.live import Bus, CaseChanges, Cursor
from citybrain.api.security import accounts, tokens
from citybrain.cases import CaseSettings, open_cases
from citybrain.core import Workspace
from citybrain.core.catalog import Catalog, DatasetSpec
from citybrain.core.opsdb import connect, session, upgrade, utcnow
from fixtures.browser import serve_in_thread

IN = {"street_id": "S-IN", "grid_id": "G-IN"}
OUT = {"street_id": "S-OUT", "grid_id": "G-OUT", "lon": 104.2}


def _open(engine: Engine, *rows: dict[str, object]) -> None:
    """Open cases as ``citybrain run`` does: through its own connection to the ops database."""
    full = [{"subject_id": f"P{i}"} | row for i, row in enumerate(rows, start=1)]
    open_cases(engine, findings_table(full).drop(["run_id"]), settings=CaseSettings())


def _events(api: Harness, headers: dict[str, str], since: str | None = None) -> dict[str, object]:
    response = api.client.get("/api/v1/events", params={"since": since} if since else {},
                              headers=headers)  # fmt: skip
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_case_changes_reach_each_listener_in_its_area(api_any_db: Harness) -> None:
    api = api_any_db
    inside = api.as_role("clerk", ["street:S-IN"])
    elsewhere = api.as_role("clerk", ["street:S-ELSEWHERE"])
    leader = api.as_role("leader")
    start = _events(api, leader)
    assert start["events"] == [] and start["cursor"] == "case:0,finding:0,stream:0"

    other = connect(api.workspace.ops_db_url)  # another process's connection
    _open(other, IN, OUT)
    other.dispose()

    everything = _events(api, leader, since=str(start["cursor"]))
    seen = everything["events"]
    assert isinstance(seen, list)
    types = [e["type"] for e in seen]
    assert types.count("case.create") == 2
    created = next(e for e in seen if e["type"] == "case.create")
    assert created["data"]["status"] == "new" and created["data"]["topic"] == "probe"
    assert everything["cursor"] == seen[-1]["id"]

    mine = _events(api, inside, since="case:0")["events"]
    assert isinstance(mine, list) and mine
    assert {e["data"]["street_id"] for e in mine} == {"S-IN"}
    assert _events(api, elsewhere, since="case:0")["events"] == []
    # polling on from the cursor returned: nothing new
    assert _events(api, leader, since=str(everything["cursor"]))["events"] == []
    # A Last-Event-ID resumes like ?since=; a garbled one is dropped, not refused.
    resumed = api.client.get("/api/v1/events", headers={**leader, "Last-Event-ID": "case:0"})
    assert [e["type"] for e in resumed.json()["events"]].count("case.create") == 2
    garbled = api.client.get("/api/v1/events", headers={**leader, "Last-Event-ID": "null"})
    assert garbled.status_code == 200 and garbled.json()["events"] == []


def test_a_topic_run_is_counted_in_the_listener_area(api: Harness) -> None:
    inside = api.as_role("clerk", ["street:S-IN"])
    leader = api.as_role("leader")
    start = str(_events(api, leader)["cursor"])
    write_findings(api.workspace, findings_table([
        {"subject_id": "P1", **IN}, {"subject_id": "P2", **IN}, {"subject_id": "P3", **OUT},
    ], run_id="run-7"))  # fmt: skip
    catalog = Catalog(connect(api.workspace.ops_db_url))
    catalog.register_dataset(DatasetSpec(zone="topic", name="probe_findings"))
    catalog.record_stats(("topic", "probe_findings"), rows=3, run_id="run-7")

    (city,) = _events(api, leader, since=start)["events"]  # type: ignore[misc]
    assert city["type"] == "finding.published"
    assert city["data"] | {"at": None} == {"topic": "probe", "run_id": "run-7", "count": 3,
                                            "at": None}  # fmt: skip
    (street,) = _events(api, inside, since=start)["events"]  # type: ignore[misc]
    assert street["data"]["count"] == 2


def test_a_role_without_case_reading_is_refused(api: Harness) -> None:
    response = api.client.get("/api/v1/events", headers=api.as_role("auditor"))
    assert response.status_code == 403
    assert api.client.get("/api/v1/events").status_code == 401
    bad = api.client.get(
        "/api/v1/events", params={"since": "case:x"}, headers=api.as_role("leader")
    )
    assert bad.status_code == 422


def test_cursor_text_round_trips_and_ignores_junk() -> None:
    assert str(Cursor.parse("finding:3,case:12")) == "case:12,finding:3"
    assert Cursor.parse("case:1,bogus,:4,x:y") == {"case": 1}
    assert Cursor.parse(None) == {}


def test_a_listener_behind_the_buffer_is_served_from_the_database(api: Harness) -> None:
    bus = Bus([CaseChanges(api.security.ops_engine)], buffer=2)
    _open(api.security.ops_engine, IN, IN | {"subject_id": "P9"}, OUT)  # created and dispatched
    assert bus.poll() == 6
    events, after = bus.since(Cursor(case=0))
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]  # 4 of them read back from the table
    assert after == {"case": 6}
    assert [e.seq for e in bus.since(Cursor(case=4))[0]] == [5, 6]  # from the buffer
    assert bus.since(after) == ([], after)


# --- a served app: the event stream itself -------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, Workspace]]:
    monkeypatch.setenv("CITYBRAIN_LIVE_POLL_SECONDS", "0.1")
    monkeypatch.setenv("CITYBRAIN_LIVE_HEARTBEAT_SECONDS", "0.5")
    workspace = Workspace.init(tmp_path / "ws", name="示例高新区")
    upgrade(workspace.ops_db_url)
    app = create_app(workspace)
    with session(app.state.security.ops_engine) as db:
        user = accounts.create_user(
            db, "street-clerk", role="clerk", password=None, scope=["street:S-IN"]
        )
        user_id = user.id
    token = tokens.issue_access_token(
        app.state.security.signing_key, user_id, utcnow(), timedelta(minutes=15)
    )
    for url in serve_in_thread(app):
        yield url, token, workspace


def _read_events(
    url: str, token: str, out: list[dict[str, object]], ready: threading.Event
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    with httpx.stream("GET", f"{url}/api/v1/events", headers=headers, timeout=20) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        block: dict[str, str] = {}
        for line in response.iter_lines():
            if line.startswith(": live since"):
                ready.set()
            elif line == "":
                if "event" in block:
                    out.append({"id": block.get("id"), "type": block["event"],
                                "data": json.loads(block["data"])})  # fmt: skip
                    return
                block = {}
            elif ":" in line and not line.startswith(":"):
                name, _, value = line.partition(":")
                block[name] = value.removeprefix(" ")


@pytest.mark.slow
def test_the_stream_delivers_a_case_opened_by_another_connection(
    served: tuple[str, str, Workspace],
) -> None:
    url, token, workspace = served
    received: list[dict[str, object]] = []
    ready = threading.Event()
    reader = threading.Thread(target=_read_events, args=(url, token, received, ready), daemon=True)
    reader.start()
    assert ready.wait(10), "the stream did not open"
    started = time.monotonic()
    other = connect(workspace.ops_db_url)
    _open(other, OUT, IN)  # only the second is in the clerk's street
    other.dispose()
    reader.join(timeout=10)
    assert received, "no event within 10 s"
    (event,) = received
    assert event["type"] == "case.create"
    assert event["data"]["street_id"] == "S-IN"  # type: ignore[index]
    assert str(event["id"]).startswith("case:")
    assert time.monotonic() - started < 5


def test_an_in_process_channel_shares_the_bus(api: Harness) -> None:
    """Vehicle positions (later) go on the same bus; listeners see those in their area."""
    from citybrain.api.live import Event, Place
    from citybrain.api.security.roles import Permission, Role
    from citybrain.api.security.scope import Scope

    bus = Bus([CaseChanges(api.security.ops_engine)])
    start = bus.now()
    for vehicle, street in (("川A001", "S-IN"), ("川A002", "S-OUT")):
        bus.publish("vehicle", lambda seq, v=vehicle, s=street: Event(
            type="vehicle.position", source="vehicle", seq=seq,
            data={"vehicle": v, "lon": 104.06, "lat": 30.55},
            permission=Permission.MAP_READ, place=Place(s, None, None),
        ))  # fmt: skip
    events, after = bus.since(start)
    assert [e.seq for e in events] == [1, 2] and after["vehicle"] == 2
    street = Scope.for_user(Role.CLERK, ["street:S-IN"])
    seen = [e.seen_by(Role.CLERK, street) for e in events]
    assert [s["data"]["vehicle"] for s in seen if s] == ["川A001"]
    assert all(e.seen_by(Role.AUDITOR, Scope(citywide=True)) is None for e in events)


def test_stream_events_from_another_process_reach_listeners_in_their_area(api: Harness) -> None:
    from citybrain.stream import StreamEvent
    from citybrain.stream.store import Saved, StreamStore

    leader = api.as_role("leader")
    elsewhere = api.as_role("clerk", ["street:S-ELSEWHERE"])
    start = str(_events(api, leader)["cursor"])
    other = connect(api.workspace.ops_db_url)  # `citybrain stream`'s own connection
    batch = StreamEvent("stream.batch", {"system": "truck_gps"}, permission="catalog.read")
    StreamStore(other).save(
        "trucks",
        Saved({"open_trips": 1}, {}, 1),
        [
            batch,
            StreamEvent("truck.violation", {"plate": "浙A12345"}, street_id="S-IN"),
        ],
        system="truck_gps",
        load_id="load-1",
    )
    other.dispose()
    seen = _events(api, leader, since=start)["events"]
    assert isinstance(seen, list)
    assert [e["type"] for e in seen] == ["stream.batch", "truck.violation"]
    assert seen[1]["data"]["plate"] == "浙A12345" and str(seen[1]["id"]).startswith("case:")
    assert "stream:" in str(seen[1]["id"])
    theirs = _events(api, elsewhere, since=start)["events"]
    assert isinstance(theirs, list) and "truck.violation" not in [e["type"] for e in theirs]
    inside = _events(api, api.as_role("clerk", ["street:S-IN"]), since=start)["events"]
    assert isinstance(inside, list) and [e["type"] for e in inside] == ["truck.violation"]
