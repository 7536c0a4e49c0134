"""Live updates: ``GET /events`` as server-sent events (or, for a client that does not ask for an
event stream, the events since a cursor as JSON).

One bus per app (``citybrain.api.live``) polls the ops database's change sequences, so cases
opened by ``citybrain run`` in another process reach every browser. Each listener gets only what
its role may read and what lies in its area; the stream ends after ``stream_seconds`` and the
browser reconnects with ``Last-Event-ID``, which re-checks its sign-in.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio.to_thread
import pyarrow as pa
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from citybrain.api.deps import Lake, LakeDep, OpsEngine, Principal, ScopeDep, require
from citybrain.api.live import Bus, CaseChanges, Cursor, Event, FindingRuns, Source, StreamEvents
from citybrain.api.live.sources import AreaCounts
from citybrain.api.security.roles import Permission
from citybrain.api.security.scope import Scope
from citybrain.topics.runner import findings_table_name

router = APIRouter(tags=["events"])

CURSOR_PATTERN = r"^[a-z_]{1,32}:\d{1,18}(,[a-z_]{1,32}:\d{1,18}){0,15}$"
AREA_COLUMNS = ["street_id", "community_id", "grid_id"]


class LiveSettings(BaseSettings):
    """From the environment (``CITYBRAIN_LIVE_...``)."""

    model_config = SettingsConfigDict(env_prefix="CITYBRAIN_LIVE_", frozen=True, extra="ignore")

    poll_seconds: float = Field(1.0, gt=0, le=60)
    heartbeat_seconds: float = Field(15.0, gt=0, le=300)
    stream_seconds: float = Field(300.0, gt=0, le=3600)


class LiveEvent(BaseModel):
    id: str  # the cursor after this event: send it back as Last-Event-ID or ?since=
    type: str
    data: dict[str, Any]


class EventPage(BaseModel):
    events: list[LiveEvent]
    cursor: str


def _area_counts(lake: Lake) -> AreaCounts:
    def count(topic: str, run_id: str) -> pa.Table:
        name = findings_table_name(topic)
        with lake.engine() as engine:
            if not engine.exists("topic", name):
                return pa.table({c: pa.array([], pa.string()) for c in AREA_COLUMNS})
            table = engine.table("topic", name)
            run = table.filter(table.run_id == run_id)
            grouped = run.group_by(AREA_COLUMNS).aggregate(count=run.count())
            return engine.to_arrow(grouped)

    return count


_BUS_LOCK = threading.Lock()


def get_bus(request: Request, ops_engine: OpsEngine, lake: LakeDep) -> Bus:
    state = request.app.state
    with _BUS_LOCK:
        bus: Bus | None = getattr(state, "live_bus", None)
        if bus is None:
            settings = LiveSettings()
            sources: list[Source] = [
                CaseChanges(ops_engine),
                FindingRuns(ops_engine, _area_counts(lake)),
                StreamEvents(ops_engine),  # written by `citybrain stream`, maybe elsewhere
            ]
            bus = Bus(sources, poll_seconds=settings.poll_seconds)
            state.live_bus = bus
            state.live_settings = settings
    return bus


def _visible(
    events: list[Event], start: Cursor, principal: Principal, scope: Scope
) -> list[LiveEvent]:
    """Each event the listener may see, with the cursor just after it as its id."""
    cursor = Cursor(start)
    out = []
    for event in events:
        cursor[event.source] = event.seq
        seen = event.seen_by(principal.role, scope)
        if seen is not None:
            out.append(LiveEvent(id=str(cursor), **seen))
    return out


def _sse(event: LiveEvent) -> str:
    data = json.dumps(event.data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n"


@router.get(
    "/events",
    responses={200: {"content": {"text/event-stream": {}}, "description": "an event stream"}},
)
async def events(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.CASES_READ))],
    scope: ScopeDep,
    bus: Annotated[Bus, Depends(get_bus)],
    since: Annotated[
        str | None,
        Query(pattern=CURSOR_PATTERN, max_length=600, description="a cursor: case:12,finding:3"),
    ] = None,
    last_event_id: Annotated[
        str,
        Header(
            max_length=600,
            description="the id of the last event seen; one that is not a cursor is ignored",
        ),
    ] = "",
) -> Any:
    """New cases, case changes (``case.<action>``), topic runs (``finding.published``) and what
    ``citybrain stream`` emits (``stream.batch`` per landed load, its detectors' alerts) in the
    caller's area. ``Accept: text/event-stream`` streams them; otherwise the events after
    ``since`` come back at once as JSON with the cursor to poll from next."""
    # A browser echoes whatever id it last saw; a garbled one is a hint to drop, not an error.
    resumed = last_event_id if re.fullmatch(CURSOR_PATTERN, last_event_id) else None
    given = resumed or since
    start = Cursor.parse(given) if given else bus.now()
    # Content negotiation, not an API parameter: Accept stays out of the OpenAPI document.
    if "text/event-stream" not in request.headers.get("accept", ""):
        await anyio.to_thread.run_sync(bus.poll)  # a poller asks "what is new": look now
        found, after = await anyio.to_thread.run_sync(bus.since, start)
        return EventPage(events=_visible(found, start, principal, scope), cursor=str(after))
    settings: LiveSettings = request.app.state.live_settings
    return StreamingResponse(
        _stream(bus, start, principal, scope, settings),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _stream(
    bus: Bus, cursor: Cursor, principal: Principal, scope: Scope, settings: LiveSettings
) -> AsyncIterator[str]:
    # The cursor in the first comment lets a client that saw no event yet resume from here.
    yield f"retry: 3000\nid: {cursor}\n: live since {cursor}\n\n"
    deadline = time.monotonic() + settings.stream_seconds
    while time.monotonic() < deadline:
        found, after = await anyio.to_thread.run_sync(bus.since, cursor)
        for event in _visible(found, cursor, principal, scope):
            yield _sse(event)
        if str(after) != str(cursor):
            cursor = after
            yield f"id: {cursor}\n\n"  # skip past events this listener may not see
        if not await bus.wait(cursor, min(settings.heartbeat_seconds, deadline - time.monotonic())):
            yield ": keep-alive\n\n"
