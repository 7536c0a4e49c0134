"""The live muck-truck detector (``stream/detectors/muck_trucks.py``): the same violations as the
batch rules on the same tracks fed in micro-batches, state that survives a JSON round trip (a
restart) between any two batches, and noise that raises nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from citybrain.stream import StreamBatch, StreamDetector
from citybrain.stream.detectors.muck_trucks import MuckTruckDetector
from topics.builtin.gps_noise import add_noise
from topics.builtin.test_muck_trucks_rules import (
    DAY,
    DUMP,
    FIELD,
    SITE,
    leg,
    night,
    sparse_terminals,
)

SITES = pd.DataFrame({"lon": [SITE[0], DUMP[0]], "lat": [SITE[1], DUMP[1]]})


def raw(pings: pa.Table) -> pa.Table:
    """Pings as the terminals deliver them (the muck_truck_gps contract's columns, UTC ms)."""
    local_ms = pc.cast(pc.cast(pings["ts"], pa.timestamp("ms")), pa.int64())
    return pa.table(
        {
            "vehicle_no": pings["plate"],
            "gps_time": pc.subtract(local_ms, 8 * 3600 * 1000),
            "lng": pings["lon"],
            "lat": pings["lat"],
            "speed": pings["speed"],
            "load_status": pc.cast(pings["loaded"], pa.int8()),
        }
    )


def feed(
    pings: pa.Table, batch_rows: int = 7, *, late_ms: int = 0, restart: bool = True
) -> set[tuple[str, str, str]]:
    """Violations raised when ``pings`` arrive in batches: in time order, each up to ``late_ms``
    late (so some arrive after newer ones), with a restart after every batch."""
    detector = MuckTruckDetector(sources=("gps",), sites=SITES)
    state: dict[str, Any] = detector.initial_state()
    table = raw(pings)
    delay = np.random.default_rng(0).integers(0, late_ms + 1, table.num_rows)
    arrival = pc.add(table["gps_time"], pa.array(delay))
    table = table.take(pc.sort_indices(arrival))
    found: set[tuple[str, str, str]] = set()
    for start in range(0, table.num_rows, batch_rows):
        batch = StreamBatch("gps", f"load-{start}", table.slice(start, batch_rows))
        events = detector.process(batch, state)
        for e in events:
            if e.type == "truck.violation":
                found.add((e.data["plate"], e.data["kind"], e.data["day"]))
        if restart:  # what the runner saves and loads back
            state = json.loads(json.dumps(state))
            detector = MuckTruckDetector(sources=("gps",), sites=SITES)
    return found


def test_is_a_stream_detector() -> None:
    assert isinstance(MuckTruckDetector(), StreamDetector)


def test_a_lawful_night_raises_nothing() -> None:
    assert feed(night("川A00001", DAY)) == set()


def test_driving_by_day_is_raised_once() -> None:
    day = leg("川A00001", DAY.replace(hour=10), SITE, DUMP, n=12, minutes=5)
    track = pa.concat_tables([night("川A00001", DAY), day])
    assert feed(track, batch_rows=3) == {("川A00001", "outside_hours", "2023-03-14")}


def test_a_loaded_stop_in_a_field_across_batches() -> None:
    t0 = DAY.replace(hour=23)
    stop = leg("川A00001", t0 + timedelta(minutes=30), FIELD, FIELD, n=4, minutes=5, speed=0.0)
    back = leg("川A00001", t0 + timedelta(minutes=50), FIELD, SITE, n=6)
    track = pa.concat_tables([leg("川A00001", t0, SITE, FIELD, n=6), stop, back])
    # 11: the stop's last point is judged in one batch, the point that ends it (held back as the
    # truck's newest) only in the next — the stop was once dropped there unjudged
    for rows in (2, 5, 11, 100):
        assert feed(track, batch_rows=rows) == {("川A00001", "illegal_dumping", "2023-03-14")}


def test_stops_of_sparse_terminals_as_the_nightly_run() -> None:
    """One rule (``rules.new_stop``, ``rules.dwell_minutes``): the tracks the batch test judges
    (test_muck_trucks_rules.py::test_stops_of_a_sparse_terminal) give the same dumping stops
    live, whether a stop's closing point comes in its batch or the next."""
    track, dumped = sparse_terminals()
    track = track.take(pc.sort_indices(track, [("ts", "ascending"), ("plate", "ascending")]))
    want = {(p, "illegal_dumping", "2023-03-14") for p in dumped}
    for rows in (3, 1000):
        assert feed(track, batch_rows=rows) == want


def test_speeding() -> None:
    one = leg("川A00001", DAY.replace(hour=23), SITE, DUMP, n=12, minutes=5)
    speeds = one["speed"].to_numpy().copy()
    speeds[5:7] = [80.0, 90.0]
    assert feed(one.set_column(4, "speed", pa.array(speeds))) == {
        ("川A00001", "speeding", "2023-03-14")
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_noise_raises_nothing(seed: int) -> None:
    days = [DAY + timedelta(days=d) for d in range(3)]
    clean = pa.concat_tables([night(p, d) for p in ("川A00001", "川A00003") for d in days])
    parked = leg("川A00003", DAY.replace(hour=8), DUMP, DUMP, n=60, minutes=6, speed=0.0)
    drift = np.random.default_rng(seed).normal(0, 0.0002, (2, parked.num_rows))
    parked = parked.set_column(2, "lon", pa.array(parked["lon"].to_numpy() + drift[0]))
    parked = parked.set_column(3, "lat", pa.array(parked["lat"].to_numpy() + drift[1]))
    noisy = add_noise(pa.concat_tables([clean, parked]), seed=seed, share=0.05)
    # delivered as they come: up to 20 minutes late, so some after newer ones
    late = feed(noisy, batch_rows=50, late_ms=20 * 60_000)
    assert late == set()
    assert feed(noisy, batch_rows=50) == set()


def test_broken_rows_are_counted_not_fatal() -> None:
    detector = MuckTruckDetector(sources=("gps",))
    state = detector.initial_state()
    bad = pa.table(
        {
            "vehicle_no": [None, "川A00001", "川A00001"],
            "gps_time": ["soon", "2023-03-14T22:00:00", None],
            "lng": [104.0, 0.0, 104.0],
            "lat": [30.5, 0.0, 30.5],
        }
    )
    assert [e.type for e in detector.process(StreamBatch("gps", "l1", bad), state)] == []
    assert state["counts"]["unusable"] == 3
    assert state["counts"]["received"] == 3
    json.dumps(state)


def test_positions_for_the_map() -> None:
    detector = MuckTruckDetector(sources=("gps",))
    state = detector.initial_state()
    pings = raw(night("川A00001", datetime(2023, 3, 1)))
    events = detector.process(StreamBatch("gps", "l1", pings), state)
    positions = [e for e in events if e.type == "vehicle.position"]
    assert len(positions) == 1 and positions[0].data["plate"] == "川A00001"
