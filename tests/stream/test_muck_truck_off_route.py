"""The live muck-truck detector's off-route rule (``stream/detectors/muck_trucks.py``): a detour
off the permit's route is raised once, whatever the batches and restarts; GPS noise and one or two
stray fixes raise nothing; a plate without a route is not judged."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.stream import StreamBatch
from citybrain.stream.detectors.muck_trucks import MuckTruckDetector
from stream.detectors.test_muck_trucks import SITES, raw
from topics.builtin.gps_noise import add_noise
from topics.builtin.muck_trucks.test_corridor import ROUTE, detour, strays
from topics.builtin.test_muck_trucks_rules import DAY, night

ROUTES = dict.fromkeys(("川A00001", "川A00002", "川A00003", "川A00004"), ROUTE)


def off_route(pings: pa.Table, batch_rows: int, routes: dict[str, str] = ROUTES) -> set[str]:
    """Plates raised off route when ``pings`` arrive in time order, restarting after each batch."""

    def make() -> MuckTruckDetector:
        return MuckTruckDetector(sources=("gps",), sites=SITES, routes=routes)

    detector = make()
    state: dict[str, Any] = detector.initial_state()
    table = raw(pings)
    table = table.take(pc.sort_indices(table["gps_time"]))
    found: set[str] = set()
    for start in range(0, table.num_rows, batch_rows):
        batch = StreamBatch("gps", f"load-{start}", table.slice(start, batch_rows))
        for e in detector.process(batch, state):
            if e.type == "truck.violation" and e.data["kind"] == "off_route":
                found.add(e.data["plate"])
                assert (
                    e.finding is not None
                    and "偏离核准运输线路" in e.finding["reasons"][0]["text_zh"]
                )
        state = json.loads(json.dumps(state))  # what the runner saves and loads back
        detector = make()
    return found


def test_a_detour_is_raised_once_and_strays_or_noise_are_not() -> None:
    tracks = pa.concat_tables(
        [
            add_noise(night("川A00001", DAY), seed=3, share=0.05),
            detour("川A00002"),
            strays("川A00003", 1),
            strays("川A00004", 2),
            detour("川A00005"),  # no route for this plate: not judged
        ]
    )
    for rows in (16, 1000):  # runs across batches (and restarts), and all in one
        assert off_route(tracks, rows) == {"川A00002"}
