"""A city's own base map, chosen in ``[map]`` of ``citybrain.toml`` (``MapConfig``).

- ``xyz`` / ``wmts``: a tile URL on the city's intranet goes into the style as it is (a WMTS
  template's ``{TileMatrix}``, ``{TileCol}``, ``{TileRow}`` read as ``{z}``, ``{x}``, ``{y}``: the
  tile matrix set must be Web Mercator, e.g. GoogleMapsCompatible); the browser fetches the tiles.
- ``pmtiles`` / ``mbtiles``: a local file, served by ``GET /api/v1/map/city/{z}/{x}/{y}``; raster
  (PNG, JPEG, WebP) or vector (MVT, drawn with a plain style per layer it lists).

Either way the city's tiles lie under the register's own layers: area boundaries and names,
building names and the invisible building shapes a click finds; the built roads, estates and
buildings' fills are hidden, since the city's map draws its own.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import TileType

from citybrain.core import UserError, Workspace
from citybrain.core.config import MapConfig

MEDIA = {
    "pbf": "application/vnd.mapbox-vector-tile",
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
}
_PMTILES_FORMAT = {TileType.MVT: "pbf", TileType.PNG: "png", TileType.JPEG: "jpg",
                   TileType.WEBP: "webp"}  # fmt: skip
HIDDEN = ("base-estates", "base-roads-casing", "base-roads", "base-road-labels")
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class FileInfo:
    format: str  # pbf, png, jpg, webp
    min_zoom: int
    max_zoom: int
    vector_layers: list[str] = field(default_factory=list)

    @property
    def vector(self) -> bool:
        return self.format == "pbf"


class TileFile:
    """A local PMTiles or MBTiles file of the city's own base map."""

    def __init__(self, path: Path, kind: str) -> None:
        if not path.is_file():
            raise UserError(
                f"[map] path names {path}, which is not a file",
                hint="put the city's PMTiles or MBTiles file there, or change [map] path",
            )
        self.path, self.kind = path, kind
        self.config: MapConfig | None = None  # the [map] settings it was opened for
        self._lock = threading.Lock()
        self._pmtiles: Reader | None = None
        self.info = self._read_info()

    def _read_info(self) -> FileInfo:
        try:
            return self._pmtiles_info() if self.kind == "pmtiles" else self._mbtiles_info()
        except (sqlite3.Error, ValueError, KeyError, OSError) as exc:
            raise UserError(
                f"[map] {self.path} is not a readable {self.kind} file: {exc}"
            ) from None

    def _pmtiles_info(self) -> FileInfo:
        self._pmtiles = Reader(MmapSource(self.path.open("rb")))  # type: ignore[no-untyped-call]
        header = self._pmtiles.header()  # type: ignore[no-untyped-call]
        found = _PMTILES_FORMAT.get(header["tile_type"])
        if found is None:
            raise ValueError(f"tile type {header['tile_type']} is not MVT, PNG, JPEG or WebP")
        meta = self._pmtiles.metadata() if found == "pbf" else {}  # type: ignore[no-untyped-call]
        layers = [str(layer["id"]) for layer in meta.get("vector_layers", [])]
        return FileInfo(found, int(header["min_zoom"]), int(header["max_zoom"]), layers)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)

    def _mbtiles_info(self) -> FileInfo:
        with self._connect() as db:
            meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
            zooms = db.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
        found = {"jpeg": "jpg", "mvt": "pbf"}.get(meta.get("format", ""), meta.get("format", ""))
        if found not in MEDIA:
            raise ValueError(f"format {meta.get('format')!r} is not pbf, png, jpg or webp")
        layers = json.loads(meta.get("json") or "{}").get("vector_layers", [])
        low = int(meta.get("minzoom", zooms[0] or 0))
        return FileInfo(found, low, int(meta.get("maxzoom", zooms[1] or 0)),
                        [str(layer["id"]) for layer in layers])  # fmt: skip

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's bytes as stored (MVT maybe gzip-compressed), or None where there is none."""
        if self._pmtiles is not None:
            with self._lock:
                found = self._pmtiles.get(z, x, y)  # type: ignore[no-untyped-call]
            return bytes(found) if found else None
        with self._connect() as db:  # MBTiles rows count from the south (TMS)
            row = db.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? "
                "AND tile_row = ?",
                (z, x, (1 << z) - 1 - y),
            ).fetchone()
        return bytes(row[0]) if row else None


def tile_file(workspace: Workspace, config: MapConfig) -> TileFile:
    path = Path(config.path or "")
    found = TileFile(path if path.is_absolute() else workspace.root / path, config.base)
    found.config = config
    return found


def xyz_url(config: MapConfig) -> str:
    """The configured URL as MapLibre reads it ({z}/{x}/{y})."""
    url = config.url or ""
    for wmts, xyz in (("{TileMatrix}", "{z}"), ("{TileCol}", "{x}"), ("{TileRow}", "{y}")):
        url = url.replace(wmts, xyz)
    return url


def _city_layers(info: FileInfo | None, config: MapConfig) -> list[dict[str, Any]]:
    if info is None or not info.vector:
        return [{"id": "city-raster", "type": "raster", "source": "city"}]
    layers: list[dict[str, Any]] = []
    for name in info.vector_layers:

        def kind(geometry: str) -> list[Any]:
            return ["==", ["geometry-type"], geometry]

        common = {"source": "city", "source-layer": name}
        layers += [
            {"id": f"city-{name}-fill", "type": "fill", **common, "filter": kind("Polygon"),
             "paint": {"fill-color": "#e6e1d6", "fill-outline-color": "#c9bfae"}},
            {"id": f"city-{name}-line", "type": "line", **common, "filter": kind("LineString"),
             "paint": {"line-color": "#b8ab96", "line-width": 1.5}},
            {"id": f"city-{name}-point", "type": "circle", **common, "filter": kind("Point"),
             "paint": {"circle-radius": 2.5, "circle-color": "#8d8170"}},
        ]  # fmt: skip
    return layers


def with_city_base(
    style: dict[str, Any], config: MapConfig, tiles: str, info: FileInfo | None
) -> dict[str, Any]:
    """``style`` (the built one) with the city's tiles at ``tiles`` under the register's layers."""
    source: dict[str, Any] = {
        "type": "vector" if info is not None and info.vector else "raster",
        "tiles": [tiles],
        "minzoom": info.min_zoom if info else config.min_zoom,
        "maxzoom": info.max_zoom if info else config.max_zoom,
    }
    if source["type"] == "raster":
        source["tileSize"] = config.tile_size
    if config.attribution:
        source["attribution"] = config.attribution
    layers = []
    for layer in style["layers"]:
        layer = dict(layer)
        if layer["id"] in HIDDEN:
            layer["layout"] = {**layer.get("layout", {}), "visibility": "none"}
        elif layer["id"] == "base-buildings":  # still found by a click, drawn by the city's map
            layer["paint"] = {"fill-opacity": 0}
        layers.append(layer)
        if layer["id"] == "background":
            layers += _city_layers(info, config)
    return {**style, "sources": {**style["sources"], "city": source}, "layers": layers}
