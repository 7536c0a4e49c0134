"""The offline base map: the city's own geography cut into vector tiles in one PMTiles file.

The address register's admin areas (street, community and grid polygons), roads, and buildings
(``std.admin_area``, ``std.road``, ``std.standard_address``) become five tile layers:

- ``areas``: street (街道), community (社区) and grid (网格) polygons with their names;
- ``roads``: road lines with their names;
- ``estates``: each estate's block (the buffered hull of its buildings) with its name;
- ``buildings``: a footprint around each building of the register, with its address;
- ``labels``: a point inside each area and estate, carrying its name (roads are labelled along
  their lines).

Geometries are projected to Web Mercator once; each tile takes its candidates from an STRtree and
clips and simplifies them in one vectorised shapely call per layer; ``mapbox_vector_tile`` encodes
and ``pmtiles`` writes the archive. The file lives in the workspace (``map/base.pmtiles``) beside a
stamp of the inputs it was built from, and is built again when they change.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mapbox_vector_tile  # type: ignore[import-untyped]
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from citybrain.core import Workspace

INPUTS = (
    ("std", "admin_area"),
    ("std", "road"),
    ("std", "road_alias"),
    ("std", "standard_address"),
)
MIN_ZOOM, MAX_ZOOM = 10, 16
EXTENT = 4096
BUFFER = 64 / EXTENT  # of a tile's width on each side, so lines and outlines meet across tiles
EARTH = 6378137.0
HALF = math.pi * EARTH  # half the width of the Web Mercator square, in metres
FOOTPRINT = (18.0, 8.0)  # half width and half depth of a building's drawn footprint, in metres
ESTATE_MARGIN = 25.0  # metres around an estate's buildings that its block covers
EMPTY_TILE = gzip.compress(b"", mtime=0)
TILES_KEPT = 50_000  # tiles kept in memory once read (a district's archive is well under 1 MB)
AREA_MINZOOM = {"street": MIN_ZOOM, "community": 12, "grid": 14}
LABEL_MINZOOM = {"street": MIN_ZOOM, "community": 12, "grid": 15, "estate": 14}

Read = Callable[[str, str], pa.Table | None]
Arr = np.ndarray[Any, Any]


@dataclass
class Layer:
    """One tile layer: Mercator geometries, their properties and the zoom each appears from."""

    name: str
    geoms: Arr
    props: list[dict[str, Any]]
    minzoom: Arr

    def __post_init__(self) -> None:
        keep = ~shapely.is_missing(self.geoms) & ~shapely.is_empty(self.geoms)
        self.geoms = self.geoms[keep]
        self.props = [p for p, k in zip(self.props, keep, strict=True) if k]
        self.minzoom = self.minzoom[keep]
        self.tree = shapely.STRtree(self.geoms)


def archive_path(workspace: Workspace) -> Path:
    return workspace.root / "map" / "base.pmtiles"


def inputs_stamp(workspace: Workspace) -> str:
    """What the inputs look like on disk (file names, sizes, modification times), hashed."""
    digest = hashlib.sha256()
    for zone, name in INPUTS:
        folder = workspace.zone(zone) / name
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for file in sorted(files):
                info = (Path(root) / file).stat()
                digest.update(f"{root}/{file}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def to_mercator(geoms: Arr) -> Arr:
    """WGS84 longitude/latitude → Web Mercator metres, vectorised over every vertex."""

    def project(xy: Arr) -> Arr:
        lat = np.clip(xy[:, 1], -85.05112878, 85.05112878)
        x = np.radians(xy[:, 0]) * EARTH
        y = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * EARTH
        return np.column_stack([x, y])

    out: Arr = shapely.transform(geoms, project)
    return out


def _wkt(column: pa.ChunkedArray) -> Arr:
    geoms: Arr = shapely.from_wkt(column.to_numpy(zero_copy_only=False), on_invalid="ignore")
    return geoms


def _text(table: pa.Table, name: str) -> list[str | None]:
    if name not in table.column_names:
        return [None] * table.num_rows
    values: list[str | None] = pc.cast(table[name], pa.string()).to_pylist()
    return values


def _areas(admin: pa.Table | None) -> tuple[Layer, Layer]:
    if admin is None:
        admin = pa.table(
            {
                "level": pa.array([], pa.string()),
                "code": pa.array([], pa.string()),
                "name": pa.array([], pa.string()),
                "geometry": pa.array([], pa.string()),
            }
        )
    geoms = to_mercator(_wkt(admin["geometry"]))
    levels, codes, names = _text(admin, "level"), _text(admin, "code"), _text(admin, "name")
    props = [
        {"level": lv, "code": c, "name": n or c}
        for lv, c, n in zip(levels, codes, names, strict=True)
    ]
    areas = Layer(
        "areas", geoms, props, np.array([AREA_MINZOOM.get(lv or "", 99) for lv in levels])
    )
    points = shapely.point_on_surface(geoms)
    labels = Layer(
        "labels",
        points,
        [dict(p) for p in props],
        np.array([LABEL_MINZOOM.get(lv or "", 99) for lv in levels]),
    )
    return areas, labels


def _roads(roads: pa.Table | None) -> Layer:
    if roads is None:
        return Layer("roads", np.array([], dtype=object), [], np.array([], dtype=int))
    geoms = to_mercator(_wkt(roads["geometry"]))
    props = [{"name": n} for n in _text(roads, "name")]
    return Layer("roads", geoms, props, np.full(len(geoms), MIN_ZOOM))


def _buildings(register: pa.Table | None) -> tuple[Layer, Layer, Layer]:
    empty = np.array([], dtype=object)
    if register is None or "lon" not in register.column_names:
        none = np.array([], dtype=int)
        return (
            Layer("buildings", empty, [], none),
            Layer("estates", empty, [], none),
            Layer("labels", empty, [], none),
        )
    table = register.filter(
        pc.fill_null(
            pc.and_(
                pc.equal(register["level"], "building"),
                pc.and_(pc.is_valid(register["lon"]), pc.is_valid(register["lat"])),
            ),
            False,
        )
    )
    centres = to_mercator(shapely.points(table["lon"].to_numpy(), table["lat"].to_numpy()))
    x, y = shapely.get_x(centres), shapely.get_y(centres)
    scale = 1 / np.cos(np.radians(table["lat"].to_numpy()))  # Mercator metres per ground metre
    dx, dy = FOOTPRINT[0] * scale, FOOTPRINT[1] * scale
    footprints = shapely.box(x - dx, y - dy, x + dx, y + dy)
    estate, number = _text(table, "estate_name"), _text(table, "building_no")
    full, ids = _text(table, "full_address"), _text(table, "address_id")
    props = [
        {"address_id": a, "name": f"{e or ''}{n}栋" if n else (e or f or a), "address": f or a}
        for a, e, n, f in zip(ids, estate, number, full, strict=True)
    ]
    buildings = Layer("buildings", footprints, props, np.full(len(props), 14))
    # An estate: the buildings that share its name and its gate (road and number), since a name
    # may repeat across the city.
    keys = pa.array(
        [
            f"{e}|{r}|{n}"
            for e, r, n in zip(
                estate, _text(table, "road_name"), _text(table, "road_no"), strict=True
            )
        ],
    )
    named = np.array([e is not None for e in estate], dtype=bool)
    encoded = pc.dictionary_encode(keys.filter(pa.array(named)))
    codes = encoded.indices.to_numpy()
    names = [k.split("|")[0] for k in encoded.dictionary.to_pylist()]
    if len(codes):
        order = np.argsort(codes, kind="stable")  # multipoints wants its indices in order
        coords = shapely.get_coordinates(centres[named])[order]
        hulls = shapely.multipoints(coords, indices=codes[order])
        blocks = shapely.buffer(shapely.convex_hull(hulls), ESTATE_MARGIN * float(np.mean(scale)))
    else:
        blocks = empty
    estates = Layer("estates", blocks, [{"name": n} for n in names], np.full(len(names), 13))
    labels = Layer(
        "labels",
        shapely.centroid(blocks) if len(names) else empty,
        [{"level": "estate", "name": n} for n in names],
        np.full(len(names), LABEL_MINZOOM["estate"]),
    )
    return buildings, estates, labels


def _merge(name: str, *layers: Layer) -> Layer:
    return Layer(
        name,
        np.concatenate([layer.geoms for layer in layers]) if layers else np.array([], object),
        [p for layer in layers for p in layer.props],
        np.concatenate([layer.minzoom for layer in layers]),
    )


def load_layers(read: Read) -> list[Layer]:
    """The tile layers from the lake's place tables (``read(zone, name)``; None when absent)."""
    areas, area_labels = _areas(read("std", "admin_area"))
    roads = _roads(read("std", "road"))
    buildings, estates, estate_labels = _buildings(read("std", "standard_address"))
    return [areas, estates, roads, buildings, _merge("labels", area_labels, estate_labels)]


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """A tile's Web Mercator box (west, south, east, north) in metres."""
    size = 2 * HALF / (1 << z)
    west, north = -HALF + x * size, HALF - y * size
    return west, north - size, west + size, north


def _tile_range(bounds: tuple[float, float, float, float], z: int) -> Iterator[tuple[int, int]]:
    size = 2 * HALF / (1 << z)
    west, south, east, north = bounds
    x0, x1 = int((west + HALF) // size), int((east + HALF) // size)
    y0, y1 = int((HALF - north) // size), int((HALF - south) // size)
    last = (1 << z) - 1
    for x in range(max(0, x0), min(last, x1) + 1):
        for y in range(max(0, y0), min(last, y1) + 1):
            yield x, y


def encode_tile(layers: list[Layer], z: int, x: int, y: int) -> bytes | None:
    """One tile's bytes (an MVT protobuf), or None when nothing of the city falls in it."""
    west, south, east, north = tile_bounds(z, x, y)
    pad = (east - west) * BUFFER
    box = shapely.box(west - pad, south - pad, east + pad, north + pad)
    pixel = (east - west) / EXTENT

    def to_pixels(xy: Arr) -> Arr:  # every vertex of a layer at once, y down
        px = np.round((xy[:, 0] - west) / (east - west) * EXTENT)
        py = np.round((north - xy[:, 1]) / (north - south) * EXTENT)
        return np.column_stack([px, py])

    encoded = []
    for layer in layers:
        found = layer.tree.query(box)
        found = np.sort(found[layer.minzoom[found] <= z])
        if not len(found):
            continue
        geoms = layer.geoms[found]
        if layer.name == "labels":
            keep = shapely.contains_xy(
                shapely.box(west, south, east, north), shapely.get_x(geoms), shapely.get_y(geoms)
            )
        else:
            geoms = shapely.simplify(geoms, pixel / 2) if z < MAX_ZOOM else geoms
            geoms = shapely.clip_by_rect(geoms, west - pad, south - pad, east + pad, north + pad)
            keep = ~shapely.is_empty(geoms)
        geoms = geoms[keep]
        if layer.name != "labels":
            geoms = shapely.orient_polygons(geoms, exterior_cw=False)  # y flips below: clockwise

        geoms = shapely.transform(geoms, to_pixels)
        features = [
            {"geometry": g, "properties": layer.props[i]}
            for g, i in zip(geoms, found[keep], strict=True)
        ]
        if features:
            encoded.append({"name": layer.name, "features": features})
    if not encoded:
        return None
    options = {"y_coord_down": True, "extents": EXTENT, "check_winding_order": False}
    data: bytes = mapbox_vector_tile.encode(encoded, default_options=options)
    return data


def _extent(layers: list[Layer]) -> tuple[float, float, float, float] | None:
    boxes = [shapely.total_bounds(layer.geoms) for layer in layers if len(layer.geoms)]
    if not boxes:
        return None
    b = np.array(boxes)
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


def _lonlat(x: float, y: float) -> tuple[float, float]:
    return math.degrees(x / EARTH), math.degrees(2 * math.atan(math.exp(y / EARTH)) - math.pi / 2)


def write_archive(layers: list[Layer], path: Path, stamp: str) -> dict[str, Any]:
    """Every tile from MIN_ZOOM to MAX_ZOOM over the city into one PMTiles file (atomically)."""
    extent = _extent(layers)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tiles = 0
    with tmp.open("wb") as f:
        writer = Writer(f)  # type: ignore[no-untyped-call]
        if extent is not None:
            coords = [
                (z, x, y) for z in range(MIN_ZOOM, MAX_ZOOM + 1) for x, y in _tile_range(extent, z)
            ]
            for z, x, y in sorted(coords, key=lambda c: zxy_to_tileid(*c)):
                data = encode_tile(layers, z, x, y)
                if data is not None:
                    writer.write_tile(zxy_to_tileid(z, x, y), gzip.compress(data, mtime=0))  # type: ignore[no-untyped-call]
                    tiles += 1
        if tiles == 0:  # an archive needs one tile: an empty one at the lowest zoom
            writer.write_tile(zxy_to_tileid(MIN_ZOOM, 0, 0), gzip.compress(b"", mtime=0))  # type: ignore[no-untyped-call]
        west, south, east, north = extent or (-HALF / 2, -HALF / 2, HALF / 2, HALF / 2)
        (lon0, lat0), (lon1, lat1) = _lonlat(west, south), _lonlat(east, north)
        header = {
            "tile_type": TileType.MVT,
            "tile_compression": Compression.GZIP,
            "min_lon_e7": int(lon0 * 1e7),
            "min_lat_e7": int(lat0 * 1e7),
            "max_lon_e7": int(lon1 * 1e7),
            "max_lat_e7": int(lat1 * 1e7),
            "center_zoom": 13,
            "center_lon_e7": int((lon0 + lon1) / 2 * 1e7),
            "center_lat_e7": int((lat0 + lat1) / 2 * 1e7),
        }
        metadata = {
            "name": "citybrain base map",
            "stamp": stamp,
            "tiles": tiles,
            "bounds": [lon0, lat0, lon1, lat1],
            "vector_layers": [{"id": layer.name, "fields": {}} for layer in layers],
        }
        writer.finalize(header, metadata)  # type: ignore[no-untyped-call]
    tmp.replace(path)
    return metadata


class BaseMap:
    """The workspace's base-map archive: built on first use and again when the inputs change."""

    def __init__(self, workspace: Workspace, read: Read) -> None:
        self.workspace = workspace
        self.read = read
        self.path = archive_path(workspace)
        self._lock = threading.Lock()
        self._reader: tuple[int, Reader, Any] | None = None
        self._places: tuple[str, pa.Table] | None = None
        self._cached: tuple[Reader | None, dict[tuple[int, int, int], bytes]] = (None, {})

    def places(self) -> pa.Table:
        """The gazetteer of the current inputs (rebuilt when they change)."""
        stamp = inputs_stamp(self.workspace)
        with self._lock:
            if self._places is None or self._places[0] != stamp:
                self._places = (stamp, gazetteer(self.read))
            return self._places[1]

    def ensure(self) -> dict[str, Any]:
        """The archive's metadata, after building it if it is missing or out of date."""
        stamp = inputs_stamp(self.workspace)
        with self._lock:
            meta = self._metadata()
            if meta is None or meta.get("stamp") != stamp:
                meta = write_archive(load_layers(self.read), self.path, stamp)
                self._reader = None
            return meta

    def _open(self) -> Reader | None:
        if not self.path.is_file():
            return None
        mtime = self.path.stat().st_mtime_ns
        if self._reader is None or self._reader[0] != mtime:
            handle = self.path.open("rb")
            self._reader = (mtime, Reader(MmapSource(handle)), handle)  # type: ignore[no-untyped-call]
        return self._reader[1]

    def _metadata(self) -> dict[str, Any] | None:
        reader = self._open()
        if reader is None:
            return None
        try:
            meta: dict[str, Any] = reader.metadata()  # type: ignore[no-untyped-call]
        except Exception:  # a damaged or foreign file: build it again
            return None
        return meta

    def tile(self, z: int, x: int, y: int) -> bytes:
        """A tile's gzip-compressed bytes; an empty tile where the city has nothing."""
        if not self.path.is_file():
            self.ensure()
        with self._lock:
            reader = self._open()
            if reader is not self._cached[0]:  # a new archive: forget the old one's tiles
                self._cached = (reader, {})
            tiles = self._cached[1]
            data = tiles.get((z, x, y))
            if data is None:
                found = None if reader is None else reader.get(z, x, y)  # type: ignore[no-untyped-call]
                data = bytes(found) if found else EMPTY_TILE
                if len(tiles) < TILES_KEPT:
                    tiles[(z, x, y)] = data
        return data


FONT = ["Noto Sans CJK SC"]  # drawn by the browser from its own fonts: the style names no glyphs
BASE_LAYERS = ("base-areas", "base-estates", "base-roads", "base-buildings", "base-labels")


def style(tiles: str, bounds: list[float]) -> dict[str, Any]:
    """A MapLibre style over the base-map tiles at ``tiles`` (…/{z}/{x}/{y}.mvt).

    It has no ``glyphs`` URL: MapLibre then draws every label with the browser's local fonts
    (TinySDF), so no request leaves for a glyph server."""
    src = "base"

    def layer(id_: str, type_: str, source_layer: str, **rest: Any) -> dict[str, Any]:
        return {"id": id_, "type": type_, "source": src, "source-layer": source_layer, **rest}

    def level(*levels: str) -> list[Any]:
        return ["in", ["get", "level"], ["literal", list(levels)]]

    halo = {"text-color": "#334155", "text-halo-color": "#ffffff", "text-halo-width": 1.5}
    return {
        "version": 8,
        "name": "citybrain base map",
        "sources": {
            src: {
                "type": "vector",
                "tiles": [tiles],
                "minzoom": MIN_ZOOM,
                "maxzoom": MAX_ZOOM,
                "bounds": bounds,
            }
        },
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "#f2efe9"}},
            layer(
                "base-estates",
                "fill",
                "estates",
                minzoom=13,
                paint={"fill-color": "#e4e9dc", "fill-outline-color": "#cfd8c4"},
            ),
            layer(
                "base-areas",
                "line",
                "areas",
                filter=level("street"),
                paint={"line-color": "#7c3aed", "line-width": 2, "line-dasharray": [4, 2]},
            ),
            layer(
                "base-areas-community",
                "line",
                "areas",
                filter=level("community"),
                minzoom=12,
                paint={"line-color": "#15803d", "line-width": 1.2, "line-dasharray": [3, 2]},
            ),
            layer(
                "base-areas-grid",
                "line",
                "areas",
                filter=level("grid"),
                minzoom=14,
                paint={"line-color": "#94a3b8", "line-width": 0.8, "line-dasharray": [2, 2]},
            ),
            layer(
                "base-roads-casing",
                "line",
                "roads",
                layout={"line-cap": "round", "line-join": "round"},
                paint={
                    "line-color": "#d6c6a5",
                    "line-width": ["interpolate", ["linear"], ["zoom"], 10, 2.5, 16, 16],
                },
            ),
            layer(
                "base-roads",
                "line",
                "roads",
                layout={"line-cap": "round", "line-join": "round"},
                paint={
                    "line-color": "#fffaf0",
                    "line-width": ["interpolate", ["linear"], ["zoom"], 10, 1.5, 16, 13],
                },
            ),
            layer(
                "base-buildings",
                "fill",
                "buildings",
                minzoom=14,
                paint={"fill-color": "#d9d0c1", "fill-outline-color": "#b8ab96"},
            ),
            layer(
                "base-road-labels",
                "symbol",
                "roads",
                minzoom=12,
                layout={
                    "symbol-placement": "line",
                    "text-field": ["get", "name"],
                    "text-font": FONT,
                    "text-size": 13,
                },
                paint=halo,
            ),
            layer(
                "base-labels",
                "symbol",
                "labels",
                layout={
                    "text-field": ["get", "name"],
                    "text-font": FONT,
                    "text-size": ["match", ["get", "level"], "street", 16, "community", 14, 12],
                    "text-padding": 4,
                },
                paint={
                    **halo,
                    "text-color": [
                        "match",
                        ["get", "level"],
                        "street",
                        "#5b21b6",
                        "community",
                        "#166534",
                        "#334155",
                    ],
                },
            ),
            layer(
                "base-building-labels",
                "symbol",
                "buildings",
                minzoom=16,
                layout={"text-field": ["get", "name"], "text-font": FONT, "text-size": 11},
                paint=halo,
            ),
        ],
    }


def gazetteer(read: Read) -> pa.Table:
    """Every named place a clerk may type (areas, roads and their old names, buildings and gates
    of the register) with its box in WGS84: kind, name, alias, west, south, east, north."""
    parts: list[pa.Table] = []

    def add(kind: Any, name: Any, alias: Any, geoms: Arr) -> None:
        box = shapely.bounds(geoms)
        parts.append(
            pa.table(
                {
                    "kind": kind,
                    "name": pc.cast(name, pa.string()),
                    "alias": pc.cast(alias, pa.string()),
                    "west": box[:, 0],
                    "south": box[:, 1],
                    "east": box[:, 2],
                    "north": box[:, 3],
                }
            )
        )

    admin = read("std", "admin_area")
    if admin is not None and admin.num_rows:
        add(admin["level"], admin["name"], admin["code"], _wkt(admin["geometry"]))
    roads = read("std", "road")
    if roads is not None and roads.num_rows:
        geoms = _wkt(roads["geometry"])
        add(
            pa.repeat(pa.scalar("road"), roads.num_rows),
            roads["name"],
            pa.nulls(roads.num_rows, pa.string()),
            geoms,
        )
        aliases = read("std", "road_alias")
        if aliases is not None and aliases.num_rows:
            ids = pc.index_in(
                pc.cast(aliases["road_id"], pa.string()), pc.cast(roads["road_id"], pa.string())
            ).to_numpy(zero_copy_only=False)
            found = ~np.isnan(ids.astype(float))
            at = ids[found].astype(int)
            add(
                pa.repeat(pa.scalar("road"), int(found.sum())),
                pc.take(roads["name"], pa.array(at)),
                aliases["old_name"].filter(pa.array(found)),
                geoms[at],
            )
    register = read("std", "standard_address")
    if register is not None and {"lon", "lat", "full_address"} <= set(register.column_names):
        located = pc.and_(pc.is_valid(register["lon"]), pc.is_valid(register["lat"]))
        keep = pc.and_(pc.is_in(register["level"], pa.array(["building", "road_number"])), located)
        table = register.filter(pc.fill_null(keep, False))
        kind = pc.if_else(pc.equal(table["level"], "building"), "building", "address")
        add(
            kind,
            table["full_address"],
            table["address_id"],
            shapely.points(table["lon"].to_numpy(), table["lat"].to_numpy()),
        )
    if not parts:
        empty = pa.array([], pa.string())
        box = {c: pa.array([], pa.float64()) for c in ("west", "south", "east", "north")}
        return pa.table({"kind": empty, "name": empty, "alias": empty, **box})
    return pa.concat_tables(parts, promote_options="permissive")


def search(places: pa.Table, text: str, limit: int = 10) -> list[dict[str, Any]]:
    """Places whose name (or old name, or code) holds ``text``; an address longer than any in
    the register (a room, a unit) is matched by its longest known beginning. Exact names first,
    then the shortest."""
    text = "".join(text.split())
    while text:
        hit = pc.or_kleene(
            pc.match_substring(places["name"], text), pc.match_substring(places["alias"], text)
        )
        found = places.filter(pc.fill_null(hit, False))
        if found.num_rows:
            exact = pc.cast(pc.equal(found["name"], text), pa.int8())
            found = found.append_column("exact", exact).append_column(
                "length", pc.utf8_length(found["name"])
            )
            found = found.sort_by([("exact", "descending"), ("length", "ascending")])
            rows: list[dict[str, Any]] = found.drop_columns(["exact", "length"]).to_pylist()
            return rows[:limit]
        if len(text) <= 2:
            break
        text = text[:-1]
    return []
