"""The event bus: sources polled by one thread per process, a ring buffer, per-listener filters.

A *source* is a change sequence (``case_event.id`` for cases, ``catalog_dataset_stats.id`` for
topic runs) or an in-process channel fed by ``Bus.publish``. A listener holds a *cursor*, the last
sequence number it saw per source (``case:12,finding:3`` on the wire, the SSE event id), so a
reconnecting browser resumes where it stopped, from the buffer or, when the buffer has moved on,
from the database itself.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from citybrain.api.security.roles import Permission, Role, allows
from citybrain.api.security.scope import Scope
from citybrain.core.logging import get_logger

log = get_logger("citybrain.api.live")

BUFFER = 5000  # events kept in memory for listeners that fall behind or reconnect
FETCH_LIMIT = 2000  # rows read from a source per poll (a pipeline run may open thousands)
IDLE_SECONDS = 30.0  # the polling thread stops after this long with nobody listening


class Place(NamedTuple):
    street: str | None
    community: str | None
    grid: str | None


@dataclass(frozen=True)
class Event:
    """One thing that happened. ``type`` is ``<channel>.<what>`` (``case.create``,
    ``finding.published``, ``vehicle.position``); ``permission`` is what a listener's role needs.

    ``place`` ties the event to one area; ``counts`` spreads a count over areas (a topic run's
    findings per grid) and a listener sees ``data["count"]`` summed over its own areas. An event
    with neither concerns no area and goes to every listener with the permission.
    """

    type: str
    source: str
    seq: int
    data: Mapping[str, Any]
    permission: Permission
    place: Place | None = None
    counts: tuple[tuple[Place, int], ...] | None = None

    def seen_by(self, role: Role, scope: Scope) -> dict[str, Any] | None:
        """The event as this listener may see it, or None when it is not theirs to see."""
        if not allows(role, self.permission):
            return None
        if self.place is not None:
            street, community, grid = self.place
            if not scope.allows(street=street, community=community, grid=grid):
                return None
        data = dict(self.data)
        if self.counts is not None:
            count = sum(
                n
                for (street, community, grid), n in self.counts
                if scope.allows(street=street, community=community, grid=grid)
            )
            if count == 0:
                return None
            data["count"] = count
        return {"type": self.type, "data": data}


class Cursor(dict[str, int]):
    """Last sequence seen per source; ``case:12,finding:3`` as text. Unknown parts are ignored."""

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        cursor = cls()
        for part in (text or "").split(","):
            name, sep, value = part.strip().partition(":")
            if sep and name and value.isdigit() and len(value) <= 18:
                cursor[name] = int(value)
        return cursor

    def __str__(self) -> str:
        return ",".join(f"{name}:{seq}" for name, seq in sorted(self.items()))


class Source(Protocol):
    """A change sequence in the ops database: its name, its head, the events after a number."""

    name: str

    def head(self) -> int: ...

    def fetch(self, after: int, limit: int) -> Sequence[Event]: ...


@dataclass
class _Channel:
    polled: int  # highest sequence taken into the buffer
    floor: int  # the buffer holds every event of this channel after this sequence
    source: Source | None = None  # None: fed by publish() in this process only

    @property
    def start(self) -> int:
        """Where a listener whose cursor does not name this channel begins: a database source at
        the present (no replay of its history); a channel opened since, at its first event."""
        return self.polled if self.source is not None else self.floor


@dataclass
class Bus:
    """Polls its sources every ``poll_seconds`` in one thread while anyone listens."""

    sources: Sequence[Source]
    poll_seconds: float = 1.0
    buffer: int = BUFFER  # events kept in memory
    _channels: dict[str, _Channel] = field(default_factory=dict)
    _buffer: deque[Event] = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = field(default_factory=set)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _last_listened: float = field(default_factory=time.monotonic)
    _poll_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._buffer = deque(maxlen=self.buffer)
        for source in self.sources:
            head = source.head()
            self._channels[source.name] = _Channel(polled=head, floor=head, source=source)

    # --- producers -------------------------------------------------------------------------------

    def publish(self, channel: str, make: Callable[[int], Event]) -> Event:
        """Put an in-process event on ``channel``; ``make`` receives its sequence number."""
        with self._lock:
            state = self._channels.setdefault(channel, _Channel(polled=0, floor=0))
            event = make(state.polled + 1)
            self._append([event])
        self._wake()
        return event

    def poll(self) -> int:
        """Read every source once; returns how many new events came in."""
        with self._poll_lock:  # the thread and a refresh() never read the same rows twice
            return self._poll()

    def _poll(self) -> int:
        added = 0
        for name, state in list(self._channels.items()):
            if state.source is None:
                continue
            try:
                events = state.source.fetch(state.polled, FETCH_LIMIT)
            except Exception:  # a database that is briefly away must not end the live feed
                log.exception("live source failed", extra={"source": name})
                continue
            with self._lock:
                self._append(events)
            added += len(events)
        if added:
            self._wake()
        return added

    def _append(self, events: Sequence[Event]) -> None:
        for event in events:
            if len(self._buffer) == self._buffer.maxlen:
                gone = self._buffer[0]
                self._channels[gone.source].floor = gone.seq
            self._buffer.append(event)
            state = self._channels[event.source]
            state.polled = max(state.polled, event.seq)

    # --- listeners -------------------------------------------------------------------------------

    def now(self) -> Cursor:
        """A cursor at the present: a new listener hears what happens from here on."""
        with self._lock:
            return Cursor({name: state.polled for name, state in self._channels.items()})

    def since(self, cursor: Cursor, limit: int = FETCH_LIMIT) -> tuple[list[Event], Cursor]:
        """Events after ``cursor`` (a source it does not name starts now), and the cursor after."""
        out: list[Event] = []
        after = Cursor(cursor)
        with self._lock:
            channels = dict(self._channels)
            buffered = list(self._buffer)
        for name, state in channels.items():
            seen = after.setdefault(name, state.start)
            if seen >= state.polled:
                continue
            if seen >= state.floor or state.source is None:
                events = [e for e in buffered if e.source == name and e.seq > seen][:limit]
            else:  # fell behind the buffer: read the database
                events = [e for e in state.source.fetch(seen, limit) if e.seq <= state.polled]
            if events:
                after[name] = events[-1].seq
            out.extend(events)
        return out, after

    async def wait(self, cursor: Cursor, timeout: float) -> bool:
        """Sleep until there are events after ``cursor`` or ``timeout`` passes; True for events."""
        woken = asyncio.Event()
        waiter = (asyncio.get_running_loop(), woken)
        with self._lock:
            self._waiters.add(waiter)
            self._last_listened = time.monotonic()
            if any(s.polled > cursor.get(n, s.start) for n, s in self._channels.items()):
                woken.set()  # arrived between the listener's last read and now
        self._ensure_polling()
        try:
            await asyncio.wait_for(woken.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                self._waiters.discard(waiter)
                self._last_listened = time.monotonic()

    def _wake(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, woken in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(woken.set)

    # --- the polling thread ----------------------------------------------------------------------

    def _ensure_polling(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="citybrain-live", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            with self._lock:
                idle = not self._waiters and time.monotonic() - self._last_listened > IDLE_SECONDS
            if idle:
                return
            self.poll()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
