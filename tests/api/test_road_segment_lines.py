"""road_traffic's speed layer drawn as lines: each segment's WKT line from the topic's table, its
properties and legend colour key; a row whose line cannot be read is drawn at its middle (tests the
lines branch of ``api/routers/map_layers.py`` and road_traffic's layer declaration)."""

from __future__ import annotations

import pyarrow as pa

from api.conftest import Harness
from citybrain.topics.builtin.parking_traffic.traffic import SPEED_TABLE, RoadTraffic

LAYER = f"/api/v1/map/topics/road_traffic/layers/{SPEED_TABLE}"


def test_segments_are_drawn_as_their_lines(api: Harness) -> None:
    (layer,) = [x for x in RoadTraffic().map_layers() if x.source == SPEED_TABLE]
    assert layer.kind == "lines"
    rows = {
        "segment_id": ["1-1", "1-2", "2-1"],
        "road_name": ["天府大道", "天府大道", "锦城路"],
        "lon": [104.0, 104.0, 104.005],
        "lat": [30.505, 30.515, 30.51],
        "geometry": [
            "LINESTRING (104 30.5, 104 30.51)",
            "LINESTRING (104 30.51, 104 30.52)",
            "not a line",
        ],
        "slot": ["2024-05-06 08:00"] * 3,
        "speed_kmh": [12.0, 44.0, 40.0],
        "free_flow_kmh": [45.0, 45.0, 40.0],
        "congestion": [0.73, 0.02, 0.0],
        "level_zh": ["拥堵", "畅通", "畅通"],
        "level": ["congested", "free", "free"],
        "run_id": ["r1"] * 3,
    }
    with api.workspace.engine() as engine:
        engine.write(pa.table(rows), "topic", SPEED_TABLE, partition_by=["run_id"])
    body = api.client.get(LAYER, headers=api.as_role("leader")).json()
    assert (body["kind"], body["total"]) == ("lines", 3)
    drawn = {f["properties"]["segment_id"]: f for f in body["features"]}
    assert drawn["1-1"]["geometry"] == {
        "type": "LineString",
        "coordinates": [[104.0, 30.5], [104.0, 30.51]],
    }
    assert drawn["1-1"]["properties"]["level"] == "congested"
    assert "geometry" not in drawn["1-1"]["properties"]
    assert drawn["2-1"]["geometry"] == {"type": "Point", "coordinates": [104.005, 30.51]}
