"""The stream consumer follows push sources: loads the API's push endpoint lands (in another
process) reach the detectors and the live feed in commit order, and loads pushed while the consumer
was down are taken in when it starts again, once each."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from citybrain.api.live import StreamEvents
from citybrain.core.opsdb import connect, upgrade
from citybrain.core.workspace import Workspace
from citybrain.ingest import SourceContract, load_contract
from citybrain.ingest.streams import push_load
from citybrain.stream import StreamBatch, StreamEvent
from citybrain.stream.runner import StreamRunner
from citybrain.stream.store import StreamStore

SYSTEM = "bike_positions"


class PerBike:
    """Positions counted per bike; an event for each bike seen for the first time."""

    name = "per_bike"
    sources = (SYSTEM,)

    def initial_state(self) -> dict[str, Any]:
        return {"seen": {}}

    def process(self, batch: StreamBatch, state: dict[str, Any]) -> Sequence[StreamEvent]:
        seen: dict[str, int] = state["seen"]
        new = []
        for bike in batch.table.column("bike_id").to_pylist() if batch.table.num_rows else []:
            if bike not in seen:
                new.append(StreamEvent("bike.appeared", {"bike_id": bike}, grid_id="G01"))
            seen[bike] = seen.get(bike, 0) + 1
        return new


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    upgrade(ws.ops_db_url)
    return ws


@pytest.fixture
def contract(workspace: Workspace) -> SourceContract:
    path = workspace.root / "sources" / f"{SYSTEM}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        f"id: {SYSTEM}\nname: 共享单车位置\nowner: 交通运输局\nconnector:\n  kind: push\n",
        encoding="utf-8",
    )
    return load_contract(path)


def body(*bikes: str) -> bytes:
    return "\n".join(json.dumps({"bike_id": b, "lat": 30.2, "lng": 120.1}) for b in bikes).encode()


def run_until(runner: StreamRunner, done: Any) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not done():
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(20)


def test_pushed_loads_reach_the_detectors_once_even_across_a_restart(
    workspace: Workspace, contract: SourceContract
) -> None:
    store = StreamStore(connect(workspace.ops_db_url))
    push_load(workspace.lake, contract, body("B0"))  # before the detector existed: not replayed

    def counted() -> dict[str, int]:
        saved = store.load("per_bike")
        return saved.state["seen"] if saved else {}

    first = StreamRunner(workspace, [contract], [PerBike()], store=store)
    pushed: list[bool] = []

    def pushed_while_running() -> bool:
        if not pushed and first.followers:
            pushed.append(True)
            push_load(workspace.lake, contract, body("B1", "B2"))
            push_load(workspace.lake, contract, body("B2"))
        return sum(counted().values()) == 3

    run_until(first, pushed_while_running)
    assert counted() == {"B1": 1, "B2": 2}
    push_load(workspace.lake, contract, body("B3", "B1"))  # while no consumer runs
    second = StreamRunner(workspace, [contract], [PerBike()], store=store)
    run_until(second, lambda: sum(counted().values()) == 5)
    time.sleep(1.5)  # another look at the raw zone would count something twice now
    assert counted() == {"B1": 2, "B2": 2, "B3": 1}
    events = StreamEvents(store.ops_engine).fetch(0, 100)
    appeared = [e.data["bike_id"] for e in events if e.type == "bike.appeared"]
    assert appeared == ["B1", "B2", "B3"]
    assert all(
        e.place is not None and e.place.grid == "G01" for e in events if e.type == "bike.appeared"
    )
    feed = [e.data["rows_landed"] for e in events if e.type == "stream.batch"]
    assert feed == [2, 1, 2]  # one event per load, B0's (before any consumer) not among them


class FailsOnce(PerBike):
    """Raises on its first batch, after changing its state: the change must not be kept."""

    name = "fails_once"

    def __init__(self) -> None:
        self.failed = False

    def process(self, batch: StreamBatch, state: dict[str, Any]) -> Sequence[StreamEvent]:
        events = super().process(batch, state)
        if not self.failed:
            self.failed = True
            raise RuntimeError("a bug in the detector")
        return events


def test_a_failing_detector_keeps_its_last_good_state_and_takes_the_batch_again_later(
    workspace: Workspace, contract: SourceContract
) -> None:
    store = StreamStore(connect(workspace.ops_db_url))
    detector = FailsOnce()
    runner = StreamRunner(workspace, [contract], [detector], store=store)

    def seen() -> dict[str, int]:
        saved = store.load("fails_once")
        return saved.state["seen"] if saved else {}

    pushed: list[int] = []

    def push_twice() -> bool:
        if runner.followers and not pushed:
            pushed.append(1)
            push_load(workspace.lake, contract, body("B1"))  # the detector fails on this one
        elif pushed == [1] and runner.status.errors:
            assert seen() == {}  # the half-applied batch was not saved
            pushed.append(2)
            push_load(workspace.lake, contract, body("B2"))  # it takes B1's load again first
        return sum(seen().values()) == 2

    run_until(runner, push_twice)
    assert seen() == {"B1": 1, "B2": 1} and not runner.status.errors
    events = StreamEvents(store.ops_engine).fetch(0, 100)
    assert [e.data["bike_id"] for e in events if e.type == "bike.appeared"] == ["B1", "B2"]
