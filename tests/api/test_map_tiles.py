"""The offline base map: style.json, vector tiles from the register (rebuilt when it changes), and
the place search."""

from __future__ import annotations

import gzip
import json
import math
from typing import Any

import mapbox_vector_tile  # type: ignore[import-untyped]
import pyarrow as pa
import pytest

from api.conftest import Harness

ROAD = "LINESTRING(104.00 30.515, 104.06 30.515)"


def _square(x: float, y: float, size: float) -> str:
    return f"POLYGON(({x} {y},{x + size} {y},{x + size} {y + size},{x} {y + size},{x} {y}))"


def _write(api: Harness, community: str = "锦城社区") -> None:
    admin = pa.table(
        {
            "level": ["street", "community", "grid"],
            "code": ["S1", "C1", "G1"],
            "name": ["科技园街道", community, "锦城社区第1网格"],
            "parent_code": [None, "S1", "C1"],
            "geometry": [_square(104.0, 30.5, 0.06), _square(104.0, 30.5, 0.03),
                         _square(104.0, 30.5, 0.015)],
        }
    )  # fmt: skip
    roads = pa.table({"road_id": ["1"], "name": ["天府大道"], "geometry": [ROAD]})
    aliases = pa.table({"road_id": ["1"], "name": ["天府大道"], "old_name": ["人民南路"],
                        "renamed_year": [2001]})  # fmt: skip
    register = pa.table(
        {
            "address_id": ["B1", "B2", "U1"],
            "level": ["building", "building", "unit"],
            "full_address": ["天府大道1号锦城小区3栋", "天府大道1号锦城小区4栋", "3栋2单元"],
            "road_name": ["天府大道"] * 3,
            "road_no": ["1"] * 3,
            "estate_name": ["锦城小区"] * 3,
            "building_no": ["3", "4", "3"],
            "lon": [104.01, 104.012, 104.01],
            "lat": [30.51, 30.51, 30.51],
        }
    )
    with api.workspace.engine() as engine:
        engine.write(admin, "std", "admin_area")
        engine.write(roads, "std", "road")
        engine.write(aliases, "std", "road_alias")
        engine.write(register, "std", "standard_address")


@pytest.fixture
def city(api: Harness) -> Harness:
    _write(api)
    return api


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 1 << z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def _tile(api: Harness, z: int, x: int, y: int) -> dict[str, Any]:
    answer = api.client.get(f"/api/v1/map/tiles/{z}/{x}/{y}.mvt")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    decoded: dict[str, Any] = mapbox_vector_tile.decode(answer.content)  # httpx un-gzips it
    return decoded


def _names(tile: dict[str, Any], layer: str) -> set[str]:
    return {f["properties"].get("name") for f in tile.get(layer, {}).get("features", [])}


def test_style_points_at_our_own_tiles_and_names_no_glyph_server(city: Harness) -> None:
    answer = city.client.get("/api/v1/map/style.json")  # open, like any base map
    assert answer.status_code == 200
    style = answer.json()
    assert "glyphs" not in style and "sprite" not in style
    (source,) = style["sources"].values()
    assert source["tiles"] == ["http://testserver/api/v1/map/tiles/{z}/{x}/{y}.mvt"]
    west, _, _, north = source["bounds"]
    assert west == pytest.approx(104.0, abs=1e-3) and north == pytest.approx(30.56, abs=1e-3)
    urls = [u for u in json.dumps(style).split('"') if "://" in u]
    assert all(u.startswith("http://testserver/") for u in urls)
    ids = {layer["id"] for layer in style["layers"]}
    assert {"base-areas", "base-roads", "base-buildings", "base-labels"} <= ids
    assert (city.workspace.root / "map" / "base.pmtiles").is_file()


def test_tiles_carry_the_register_in_words(city: Harness) -> None:
    city.client.get("/api/v1/map/style.json")
    street = _tile(city, *_tile_of(104.01, 30.51, 16))
    assert _names(street, "buildings") >= {"锦城小区3栋", "锦城小区4栋"}  # buildings, not units
    addresses = {f["properties"]["address"] for f in street["buildings"]["features"]}
    assert "天府大道1号锦城小区3栋" in addresses
    assert _names(_tile(city, *_tile_of(104.01, 30.515, 16)), "roads") == {"天府大道"}
    assert "锦城小区" in _names(street, "estates")
    assert street["buildings"]["features"][0]["geometry"]["type"] == "Polygon"
    overview = _tile(city, *_tile_of(104.01, 30.51, 10))
    assert "科技园街道" in _names(overview, "labels")
    assert "buildings" not in overview and "锦城社区" not in _names(overview, "labels")
    assert _tile(city, *_tile_of(-70.0, 40.0, 12)) == {}  # nothing of the city there: empty


def test_tiles_follow_the_register(city: Harness) -> None:
    tile = _tile_of(104.01, 30.51, 14)
    city.client.get("/api/v1/map/style.json")
    assert "锦城社区" in _names(_tile(city, *tile), "labels")
    _write(city, community="天府社区")
    city.client.get("/api/v1/map/style.json")
    labels = _names(_tile(city, *tile), "labels")
    assert "天府社区" in labels and "锦城社区" not in labels


def test_a_tile_outside_the_world_is_not_found(city: Harness) -> None:
    assert city.client.get("/api/v1/map/tiles/3/8/0.mvt").status_code == 404
    assert city.client.get("/api/v1/map/tiles/23/0/0.mvt").status_code == 422


def test_an_empty_workspace_still_has_a_style_and_empty_tiles(api: Harness) -> None:
    assert api.client.get("/api/v1/map/style.json").status_code == 200
    assert _tile(api, 12, 3300, 1700) == {}


@pytest.mark.parametrize(
    ("typed", "kind", "name"),
    [
        ("锦城社区", "community", "锦城社区"),
        ("人民南路", "road", "天府大道"),  # the old name finds the road
        ("天府大道", "road", "天府大道"),  # a road's own entry has no alias
        ("天府大道1号锦城小区3栋2单元501室", "building", "天府大道1号锦城小区3栋"),
        ("锦城小区 4栋", "building", "天府大道1号锦城小区4栋"),
    ],
)
def test_search_finds_a_place_by_its_name(city: Harness, typed: str, kind: str, name: str) -> None:
    headers = city.as_role("clerk", ["street:S1"])
    answer = city.client.get("/api/v1/map/search", params={"q": typed}, headers=headers)
    assert answer.status_code == 200
    first = answer.json()[0]
    assert (first["kind"], first["name"]) == (kind, name)
    assert first["west"] <= first["east"] and first["south"] <= first["north"]
    assert 104.0 <= first["west"] <= 104.06


def test_search_needs_a_signed_in_caller_and_says_when_nothing_matches(city: Harness) -> None:
    assert city.client.get("/api/v1/map/search", params={"q": "锦城"}).status_code == 401
    headers = city.as_role("clerk", ["street:S1"])
    answer = city.client.get("/api/v1/map/search", params={"q": "火星路"}, headers=headers)
    assert answer.json() == []


def test_archive_file_is_gzip_mvt(city: Harness) -> None:
    from pmtiles.reader import MmapSource, Reader

    city.client.get("/api/v1/map/style.json")
    with (city.workspace.root / "map" / "base.pmtiles").open("rb") as f:
        reader = Reader(MmapSource(f))  # type: ignore[no-untyped-call]
        header = reader.header()  # type: ignore[no-untyped-call]
        assert (header["min_zoom"], header["max_zoom"]) == (10, 16)
        data = reader.get(*_tile_of(104.01, 30.51, 16))  # type: ignore[no-untyped-call]
        assert data is not None and "buildings" in mapbox_vector_tile.decode(gzip.decompress(data))


def test_a_finding_point_says_its_place_in_words(city: Harness) -> None:
    from api.scoped_data import TOPIC, findings_table, write_findings

    rows = [{"subject_type": "dwelling", "subject_id": "B1", "street_id": "S1",
             "community_id": "C1", "grid_id": "G1", "lon": 104.01, "lat": 30.51}]  # fmt: skip
    write_findings(city.workspace, findings_table(rows))
    url = f"/api/v1/map/topics/{TOPIC}/findings"
    leader = city.client.get(url, headers=city.as_role("leader")).json()
    (point,) = leader["features"]
    props = point["properties"]
    assert (props["street_name"], props["community_name"], props["grid_name"]) == (
        "科技园街道", "锦城社区", "锦城社区第1网格",
    )  # fmt: skip
    assert props["reasons_zh"].startswith("月用电900度")
    assert "subject_id" not in props and "grid_id" not in props  # no bare codes, nothing personal
    assert props["address"] == "天府大道1号锦城小区3栋"  # a leader sees it cut to its building
