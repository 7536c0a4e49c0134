"""A city's own base map by configuration ([map] in citybrain.toml): a local MBTiles or PMTiles
file served under the register's layers, or an XYZ / WMTS URL on the city's intranet."""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from citybrain.api import basemap, citymap, create_app
from citybrain.api.settings import ApiSettings
from citybrain.core import UserError, Workspace
from citybrain.core.config import parse_config
from citybrain.core.errors import ConfigError
from citybrain.core.opsdb import upgrade

PNG = b"\x89PNG\r\n\x1a\n" + b"tile-12-3271-1705"  # the bytes are served as stored
Z, X, Y = 12, 3231, 1705  # a tile over the district


def _client(tmp_path: Path, section: str) -> Iterator[TestClient]:
    workspace = Workspace.init(tmp_path / "ws", name="示例高新区")
    config = workspace.root / "citybrain.toml"
    config.write_text(config.read_text(encoding="utf-8") + section, encoding="utf-8")
    workspace = Workspace.open(workspace.root)
    upgrade(workspace.ops_db_url)
    app = create_app(workspace, ApiSettings(rate_limit_enabled=False))  # type: ignore[call-arg]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.security.ops_engine.dispose()


def _mbtiles(path: Path, fmt: str, tile: bytes, layers: list[str]) -> None:
    """An MBTiles file as the spec has it: metadata, and tiles with rows counted from the south."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
            "tile_data BLOB)"
        )
        meta = {"name": "城市底图", "format": fmt, "minzoom": "10", "maxzoom": "17",
                "json": json.dumps({"vector_layers": [{"id": n} for n in layers]})}  # fmt: skip
        db.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
        db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (Z, X, (1 << Z) - 1 - Y, tile))
    db.close()


@pytest.fixture
def mbtiles_vector(tmp_path: Path) -> Iterator[TestClient]:
    road = {"geometry": "LINESTRING(0 0, 4096 4096)", "properties": {"name": "天府大道"}}
    tile = gzip.compress(mapbox_vector_tile.encode([{"name": "roads", "features": [road]}]))
    _mbtiles(tmp_path / "city.mbtiles", "pbf", tile, ["roads", "water"])
    section = f'\n[map]\nbase = "mbtiles"\npath = "{tmp_path / "city.mbtiles"}"\n'
    yield from _client(tmp_path, section)


def test_a_local_vector_mbtiles_lies_under_the_registers_layers(
    mbtiles_vector: TestClient,
) -> None:
    style = mbtiles_vector.get("/api/v1/map/style.json").json()
    city = style["sources"]["city"]
    assert city["type"] == "vector" and (city["minzoom"], city["maxzoom"]) == (10, 17)
    assert city["tiles"] == ["http://testserver/api/v1/map/city/{z}/{x}/{y}"]
    ids = [layer["id"] for layer in style["layers"]]
    assert ids[1:7] == ["city-roads-fill", "city-roads-line", "city-roads-point",
                        "city-water-fill", "city-water-line", "city-water-point"]  # fmt: skip
    assert "base" in style["sources"] and "base-labels" in ids and "base-areas" in ids
    hidden = {layer["id"] for layer in style["layers"] if layer.get("layout", {}).get("visibility")}
    assert hidden == set(citymap.HIDDEN)  # the built roads give way to the city's
    answer = mbtiles_vector.get(f"/api/v1/map/city/{Z}/{X}/{Y}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(answer.content)  # the client undid the gzip
    assert decoded["roads"]["features"][0]["properties"]["name"] == "天府大道"
    assert mbtiles_vector.get(f"/api/v1/map/city/{Z}/{X}/{Y + 1}").status_code == 204
    assert mbtiles_vector.get("/api/v1/map/city/1/2/0").status_code == 404


def test_a_local_raster_pmtiles_and_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "city.pmtiles"
    with path.open("wb") as f:
        writer = Writer(f)  # type: ignore[no-untyped-call]
        writer.write_tile(zxy_to_tileid(Z, X, Y), PNG)  # type: ignore[no-untyped-call]
        header = {"tile_type": TileType.PNG, "tile_compression": Compression.NONE,
                  "min_zoom": 11, "max_zoom": 15}  # fmt: skip
        writer.finalize(header, {"name": "城市影像"})  # type: ignore[no-untyped-call]
    section = '\n[map]\nbase = "pmtiles"\npath = "city.pmtiles"\ntile_size = 512\n'
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "city.pmtiles").write_bytes(path.read_bytes())  # relative to the workspace
    for client in _client(tmp_path, section):
        style = client.get("/api/v1/map/style.json").json()
        assert style["sources"]["city"]["type"] == "raster"
        assert style["sources"]["city"]["tileSize"] == 512
        assert [layer["id"] for layer in style["layers"]][:2] == ["background", "city-raster"]
        answer = client.get(f"/api/v1/map/city/{Z}/{X}/{Y}")
        assert (answer.status_code, answer.content) == (200, PNG)
        assert answer.headers["content-type"] == "image/png"
        (tmp_path / "ws" / "city.pmtiles").unlink()
    nowhere = parse_config('[map]\nbase = "mbtiles"\npath = "nowhere.mbtiles"\n').map
    with pytest.raises(UserError, match=r"nowhere\.mbtiles, which is not a file"):
        citymap.tile_file(Workspace(root=tmp_path), nowhere)  # style.json answers it as a 503


@pytest.mark.parametrize(
    ("url", "template"),
    [
        ("http://gis.city.intranet/tiles/{z}/{x}/{y}.png",
         "http://gis.city.intranet/tiles/{z}/{x}/{y}.png"),
        ("http://gis.city.intranet/wmts/vec/GoogleMapsCompatible/{TileMatrix}/{TileRow}/{TileCol}.png",
         "http://gis.city.intranet/wmts/vec/GoogleMapsCompatible/{z}/{y}/{x}.png"),
    ],
)  # fmt: skip
def test_an_intranet_xyz_or_wmts_url_goes_into_the_style(url: str, template: str) -> None:
    kind = "xyz" if "{z}" in url else "wmts"
    config = parse_config(f'[map]\nbase = "{kind}"\nurl = "{url}"\nattribution = "市规划院"\n')
    built = basemap.style(
        "http://host/api/v1/map/tiles/{z}/{x}/{y}.mvt", [104.0, 30.5, 104.1, 30.6]
    )
    style = citymap.with_city_base(built, config.map, citymap.xyz_url(config.map), None)
    city = style["sources"]["city"]
    assert city == {"type": "raster", "tiles": [template], "minzoom": 0, "maxzoom": 18,
                    "tileSize": 256, "attribution": "市规划院"}  # fmt: skip
    assert style["layers"][1]["id"] == "city-raster"


def test_a_url_without_its_tile_marks_is_one_clear_line() -> None:
    with pytest.raises(ConfigError, match=r"base = 'wmts' needs url = .*\{TileMatrix\}"):
        parse_config('[map]\nbase = "wmts"\nurl = "http://gis.city/wmts/{z}/{x}/{y}.png"\n')
