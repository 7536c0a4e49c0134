"""Map layers: area polygons and buildings from the register, cases, findings as points or H3."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from api.conftest import Harness
from api.scoped_data import TOPIC, findings_table, seed, write_findings
from citybrain.api.routers.map_layers import resolution_for_zoom


def _square(x: float, y: float, size: float) -> str:
    return f"POLYGON(({x} {y},{x + size} {y},{x + size} {y + size},{x} {y + size},{x} {y}))"


@pytest.fixture
def map_api(api: Harness) -> Harness:
    admin = pa.table(
        {
            "level": ["street", "community", "grid", "grid"],
            "code": ["S1", "C1", "G1", "G2"],
            "name": ["科技园街道", "锦城社区", "一网格", "二网格"],
            "parent_code": [None, "S1", "C1", "C1"],
            "geometry": [_square(104.0, 30.5, 0.1), _square(104.0, 30.5, 0.05),
                         _square(104.0, 30.5, 0.02), "not wkt"],
        }
    )  # fmt: skip
    register = pa.table(
        {
            "address_id": ["B1", "B2", "U1"],
            "level": ["building", "building", "unit"],
            "full_address": ["天府大道1号锦城小区3栋", "天府大道1号锦城小区4栋", "3栋2单元"],
            "estate_name": ["锦城小区"] * 3,
            "building_no": ["3", "4", "3"],
            "grid_code": ["G1", "G1", "G1"],
            "lon": [104.01, 104.3, 104.01],
            "lat": [30.51, 30.9, 30.51],
        }
    )
    with api.workspace.engine() as engine:
        engine.write(admin, "std", "admin_area")
        engine.write(register, "std", "standard_address")
    return api


def test_areas_as_geojson_polygons(map_api: Harness) -> None:
    headers = map_api.as_role("clerk", ["street:S1"])
    grids = map_api.client.get("/api/v1/map/areas", params={"level": "grid"}, headers=headers)
    body = grids.json()
    assert body["type"] == "FeatureCollection" and body["total"] == 2
    first, broken = body["features"]
    assert first["geometry"]["type"] == "Polygon"
    assert first["properties"] == {"code": "G1", "name": "一网格", "level": "grid",
                                   "parent_code": "C1"}  # fmt: skip
    assert broken["geometry"] is None  # bad WKT in the register: no shape, no 500
    simplified = map_api.client.get(
        "/api/v1/map/areas", params={"level": "street", "simplify": 0.001}, headers=headers
    )
    assert simplified.json()["features"][0]["properties"]["code"] == "S1"


def test_buildings_as_points_in_a_box(map_api: Harness) -> None:
    headers = map_api.as_role("leader")
    every = map_api.client.get("/api/v1/map/buildings", headers=headers).json()
    assert every["total"] == 2  # the unit-level address is not a building
    boxed = map_api.client.get(
        "/api/v1/map/buildings", params={"bbox": "104.0,30.5,104.1,30.6"}, headers=headers
    ).json()
    assert [f["properties"]["address_id"] for f in boxed["features"]] == ["B1"]
    assert boxed["features"][0]["geometry"] == {"type": "Point", "coordinates": [104.01, 30.51]}
    swapped = map_api.client.get(
        "/api/v1/map/buildings", params={"bbox": "104.1,30.6,104.0,30.5"}, headers=headers
    ).json()
    assert swapped["total"] == 1  # corners the wrong way round are read the right way
    for bad in ("1,2,3", "a,b,c,d", "1,2,3,4;drop"):
        response = map_api.client.get(
            "/api/v1/map/buildings", params={"bbox": bad}, headers=headers
        )
        assert response.status_code == 422, bad


def test_empty_lake_gives_empty_layers(api: Harness) -> None:
    headers = api.as_role("admin")
    for path in ("/api/v1/map/areas", "/api/v1/map/buildings", "/api/v1/map/cases"):
        assert api.client.get(path, headers=headers).json()["features"] == []


def test_cases_and_findings_points_are_area_scoped(map_api: Harness) -> None:
    seed(map_api.workspace, map_api.security.ops_engine)
    clerk = map_api.as_role("clerk", ["street:S-IN"])
    cases = map_api.client.get("/api/v1/map/cases", headers=clerk).json()
    assert [f["properties"]["id"] for f in cases["features"]] == [1]
    points = map_api.client.get(f"/api/v1/map/topics/{TOPIC}/findings", headers=clerk).json()
    assert points["kind"] == "points" and points["total"] == 1
    assert "subject_id" not in points["features"][0]["properties"]


def test_many_findings_are_counted_into_h3_cells(api: Harness) -> None:
    n = 5000
    rng = np.random.default_rng(7)
    table = findings_table([{"subject_id": "X"}])
    table = table.take(np.zeros(n, dtype=np.int64))
    table = table.set_column(2, "subject_id", pa.array([f"E{i}" for i in range(n)]))
    for name, values in (("lon", 104.0 + rng.random(n) * 0.1), ("lat", 30.5 + rng.random(n) * 0.1)):
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(values))
    write_findings(api.workspace, table)
    headers = api.as_role("leader")
    url = f"/api/v1/map/topics/{TOPIC}/findings"
    coarse = api.client.get(url, params={"zoom": 10}, headers=headers).json()
    fine = api.client.get(url, params={"zoom": 14}, headers=headers).json()
    assert coarse["kind"] == "h3" and coarse["h3_resolution"] == resolution_for_zoom(10) == 7
    assert sum(f["properties"]["count"] for f in coarse["features"]) == n
    assert len(fine["features"]) > len(coarse["features"])
    ring = coarse["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) >= 7
    forced = api.client.get(url, params={"aggregate": "points"}, headers=headers).json()
    assert forced["kind"] == "points" and forced["truncated"] is True


def test_h3_cells_are_computed_once_per_run_and_resolution() -> None:
    from citybrain.api.routers.map_layers import cells_of

    table = findings_table(
        [{"subject_id": "A", "lon": 104.01}, {"subject_id": "B", "lon": None},
         {"subject_id": "C", "lon": 104.02}]
    )  # fmt: skip
    cells = cells_of("cache_probe", table, 8)
    assert cells.null_count == 1 and cells[1].as_py() is None  # no point, no cell
    assert cells_of("cache_probe", table, 8) is cells  # the same run again: from the cache
    assert cells_of("cache_probe", table, 7) is not cells
    rerun = table.set_column(table.schema.get_field_index("score"), "score",
                             pa.array([0.5, 0.5, 0.5]))  # fmt: skip
    assert cells_of("cache_probe", rerun, 8) is not cells  # a new run: computed afresh
