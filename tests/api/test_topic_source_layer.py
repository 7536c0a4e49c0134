"""A topic's layer drawn from a table of its own: every air station by its daily AQI category —
the latest run, its latest day, the properties the layer declares, the legend in words; and bike
density as H3 cells whose size follows the zoom."""

from __future__ import annotations

import h3
import pyarrow as pa

from api.conftest import Harness
from citybrain.topics.builtin.air_quality.topic import DAILY_TABLE
from citybrain.topics.builtin.shared_bikes.density import DENSITY_TABLE, RESOLUTION

LAYER = "/api/v1/map/topics/air_quality/layers/air_quality_station_aqi"


def _daily(api: Harness) -> None:
    rows = {  # run r1 is older; in r2 the latest day has a station without a valid AQI
        "sensor_id": ["AQ1", "AQ1", "AQ2", "AQ3", "AQ9"],
        "date": ["2025-03-14", "2025-03-13", "2025-03-14", "2025-03-14", "2025-03-20"],
        "aqi": [42.0, 160.0, 163.0, None, 10.0],
        "category_zh": ["优", "中度污染", "中度污染", None, "优"],
        "category_en": ["Excellent", "Moderately polluted", "Moderately polluted", None, "x"],
        "primary": ["", "pm10", "pm10", "", ""],
        "lon": [104.0, 104.0, 104.02, 104.03, 104.9],
        "lat": [30.6, 30.6, 30.62, 30.63, 30.9],
        "run_id": ["r2", "r2", "r2", "r2", "r1"],
    }
    with api.workspace.engine() as engine:
        engine.write(pa.table(rows), "topic", DAILY_TABLE, partition_by=["run_id"])


def test_stations_of_the_latest_day_with_their_category_and_the_legend(api: Harness) -> None:
    headers = api.as_role("leader")
    empty = api.client.get(LAYER, headers=headers)  # the topic has not run: nothing, not an error
    assert empty.status_code == 200 and empty.json()["total"] == 0
    _daily(api)
    body = api.client.get(LAYER, headers=headers).json()
    assert body["kind"] == "points" and body["total"] == 3
    stations = {f["properties"]["sensor_id"]: f["properties"] for f in body["features"]}
    assert {s: p["category_zh"] for s, p in stations.items()} == {
        "AQ1": "优", "AQ2": "中度污染", "AQ3": None,
    }  # fmt: skip
    assert stations["AQ3"]["aqi"] is None  # no valid AQI stays none, never invented
    assert {p["date"] for p in stations.values()} == {"2025-03-14"}
    topic = api.client.get("/api/v1/topics/air_quality", headers=headers).json()
    layer = next(x for x in topic["map_layers"] if x["id"] == "air_quality_station_aqi")
    assert layer["color_by"] == "category_zh"
    colours = {e["value"]: e["color"] for e in layer["legend"]}
    assert colours["优"] == "#00e400" and colours["严重污染"] == "#7e0023" and "" in colours
    assert all(e["label_zh"] and e["label_en"] for e in layer["legend"])


def test_a_layer_without_a_source_or_permission_is_refused(api: Harness) -> None:
    _daily(api)
    assert api.client.get(LAYER).status_code == 401
    headers = api.as_role("leader")
    alerts = "/api/v1/map/topics/air_quality/layers/air_quality_alerts"  # findings, no source
    assert api.client.get(alerts, headers=headers).status_code == 404
    unknown = LAYER.replace("air_quality/", "nope/")
    assert api.client.get(unknown, headers=headers).status_code == 404


def test_bike_density_cells_follow_the_zoom(api: Harness) -> None:
    near = [(30.55, 104.06), (30.5504, 104.0604), (30.58, 104.09)]  # two close, one 4 km away
    cells = [h3.latlng_to_cell(a, b, RESOLUTION) for a, b in near]
    centres = [h3.cell_to_latlng(c) for c in cells]
    rows = {
        "h3": cells, "lon": [c[1] for c in centres], "lat": [c[0] for c in centres],
        "bikes": [5, 3, 2], "meituan": [4, 0, 2], "hellobike": [1, 3, 0], "qingju": [0, 0, 0],
        "snapshot": ["2023-03-14 08:00"] * 3, "run_id": ["r1"] * 3,
    }  # fmt: skip
    with api.workspace.engine() as engine:
        engine.write(pa.table(rows), "topic", DENSITY_TABLE, partition_by=["run_id"])
    headers = api.as_role("leader")
    url = "/api/v1/map/topics/shared_bikes/layers/shared_bikes_density"
    fine = api.client.get(url, params={"zoom": 17}, headers=headers).json()
    assert (fine["kind"], fine["h3_resolution"], fine["total"]) == ("h3", 10, 3)
    coarse = api.client.get(url, params={"zoom": 8}, headers=headers).json()
    assert coarse["h3_resolution"] == 6 and coarse["total"] <= 2
    top = coarse["features"][0]["properties"]
    assert top["count"] >= 8 and top["density"] == 1.0 and top["meituan"] >= 4
    assert coarse["features"][0]["geometry"]["type"] == "Polygon"
    assert {"meituan", "hellobike", "qingju"} <= set(top)
    props = [f["properties"] for f in fine["features"]]
    cells = sorted((p["count"], p["hellobike"]) for p in props)
    assert cells == [(2.0, 0.0), (3.0, 3.0), (5.0, 1.0)]  # each operator's bikes, cell by cell
