"""Map layers for the one map (一张图), as GeoJSON, from the city's own data (no outside tiles).

- areas: street, community and grid polygons from the address register (``std.admin_area``);
- buildings: building-level points of the standard address register (``std.standard_address``);
- cases: open and closed cases as points, area-scoped;
- the offline base map (``api/basemap.py``): a MapLibre style and its vector tiles, built from the
  register into the workspace on first use; a place search over the register's names;
- a topic's findings: points when few, otherwise counted into H3 cells server-side (resolution from
  the map's zoom), so the map stays interactive with 100k flagged points.
"""

from __future__ import annotations

import json
import threading
from typing import Annotated, Any, Literal

import h3
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import select

from citybrain.api import basemap, citymap
from citybrain.api.deps import (
    InstalledTopics,
    KnownTopic,
    Lake,
    LakeDep,
    OpsEngine,
    Period,
    Principal,
    ScopeDep,
    TopicFilter,
    cases_in_scope,
    public,
    require,
    scoped_findings,
)
from citybrain.api.pii import Masker, get_masker
from citybrain.api.places import ADDRESS_SUBJECTS, Places, PlacesDep
from citybrain.api.security.masking import PiiKind
from citybrain.api.security.roles import Permission
from citybrain.cases import Case, Status
from citybrain.core import UserError
from citybrain.core.opsdb import session

router = APIRouter(prefix="/map", tags=["map"])

MAX_POINTS = 2000  # above this many findings in view, aggregate into H3 cells
MAX_FEATURES = 20000
BBOX_PATTERN = r"^-?\d{1,3}(\.\d+)?,-?\d{1,2}(\.\d+)?,-?\d{1,3}(\.\d+)?,-?\d{1,2}(\.\d+)?$"
BBox = Annotated[
    str | None,
    Query(
        pattern=BBOX_PATTERN, max_length=120, description="min_lon,min_lat,max_lon,max_lat (WGS84)"
    ),
]


class Feature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]
    # What the layer holds: "polygons", "points", "lines" or "h3"; h3_resolution when aggregated.
    kind: str
    total: int
    truncated: bool = False
    h3_resolution: int | None = None


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``west,south,east,north``; corners given the wrong way round are swapped and values
    outside WGS84 clamped, so any box the pattern admits is answered."""
    if text is None:
        return None
    a, b, c, d = (float(v) for v in text.split(","))
    lon = sorted(min(180.0, max(-180.0, v)) for v in (a, c))
    lat = sorted(min(90.0, max(-90.0, v)) for v in (b, d))
    return lon[0], lat[0], lon[1], lat[1]


def in_bbox(table: pa.Table, bbox: tuple[float, float, float, float] | None) -> pa.Table:
    if bbox is None:
        return table
    west, south, east, north = bbox
    lon, lat = table["lon"], table["lat"]
    keep = pc.and_(
        pc.and_(pc.greater_equal(lon, west), pc.less_equal(lon, east)),
        pc.and_(pc.greater_equal(lat, south), pc.less_equal(lat, north)),
    )
    return table.filter(pc.fill_null(keep, False))


def resolution_for_zoom(zoom: int) -> int:
    """Map zoom → H3 resolution: zoom 10 → 7 (≈1.2 km cells), 14 → 9 (≈170 m), at most 10."""
    return max(4, min(10, (zoom + 4) // 2))


Floats = np.ndarray[Any, Any]


def h3_cells(lon: Floats, lat: Floats, res: int) -> np.ndarray[Any, Any]:
    """H3 cell ids of points, computed once per distinct (rounded) location and joined back."""
    coords = np.round(np.column_stack([lat, lon]), 6)
    unique, inverse = np.unique(coords, axis=0, return_inverse=True)
    cells = np.array([h3.latlng_to_cell(a, b, res) for a, b in unique], dtype=object)
    return cells[inverse.reshape(-1)]


# (topic, resolution) → (fingerprint of the findings, their H3 cells): a map moving over the same
# run asks for the same cells again and again; they are computed once per run and resolution.
_CELLS: dict[tuple[str, int], tuple[tuple[Any, ...], pa.Array]] = {}
_CELLS_KEPT = 32


def _fingerprint(table: pa.Table) -> tuple[Any, ...]:
    """What tells one run's findings from the next without reading them row by row."""
    return (
        table.num_rows,
        pc.sum(table["score"]).as_py(),
        pc.min(table["lon"]).as_py(),
        pc.max(table["lat"]).as_py(),
    )


def cells_of(topic: str, table: pa.Table, res: int) -> pa.Array:
    """The H3 cell of every finding of ``table`` (null where it has no point), cached."""
    key, print_ = (topic, res), _fingerprint(table)
    cached = _CELLS.get(key)
    if cached is not None and cached[0] == print_:
        return cached[1]
    located = pc.and_(pc.is_valid(table["lon"]), pc.is_valid(table["lat"]))
    lon = pc.fill_null(table["lon"], 0.0).to_numpy()
    lat = pc.fill_null(table["lat"], 0.0).to_numpy()
    cells = pa.array(h3_cells(lon, lat, res), pa.string())
    cells = pc.if_else(located, cells, pa.scalar(None, pa.string()))
    if len(_CELLS) >= _CELLS_KEPT:
        _CELLS.clear()
    _CELLS[key] = (print_, cells)
    return cells


def _geojson(wkt: pa.ChunkedArray) -> list[dict[str, Any] | None]:
    geoms = shapely.from_wkt(wkt.to_numpy(zero_copy_only=False), on_invalid="ignore")
    texts = shapely.to_geojson(geoms)
    return [None if t is None else json.loads(t) for t in texts]


@router.get("/areas")
def areas(
    _: Annotated[Principal, Depends(require(Permission.MAP_READ))],
    lake: LakeDep,
    level: Literal["street", "community", "grid"] = "street",
    simplify: Annotated[
        float, Query(ge=0, le=0.01, description="tolerance in degrees, 0 keeps every vertex")
    ] = 0.0,
) -> FeatureCollection:
    """Street, community or grid boundaries from the address register's admin areas."""
    table = lake.read("std", "admin_area")
    if table is None or table.num_rows == 0:
        return FeatureCollection(features=[], kind="polygons", total=0)
    table = table.filter(pc.fill_null(pc.equal(table["level"], level), False))
    wkt = table["geometry"]
    if simplify > 0:
        geoms = shapely.simplify(
            shapely.from_wkt(wkt.to_numpy(zero_copy_only=False), on_invalid="ignore"), simplify
        )
        wkt = pa.chunked_array([pa.array(shapely.to_wkt(geoms), pa.string())])
    shapes = _geojson(wkt)
    props = table.select(["code", "name", "level", "parent_code"]).to_pylist()
    features = [Feature(geometry=g, properties=p) for g, p in zip(shapes, props, strict=True)]
    return FeatureCollection(features=features, kind="polygons", total=len(features))


def _points(table: pa.Table, properties: list[str]) -> list[Feature]:
    lon = table["lon"].to_pylist()
    lat = table["lat"].to_pylist()
    props = table.select(properties).to_pylist()
    return [
        Feature(geometry={"type": "Point", "coordinates": [x, y]}, properties=p)
        for x, y, p in zip(lon, lat, props, strict=True)
    ]


@router.get("/buildings")
def buildings(
    _: Annotated[Principal, Depends(require(Permission.MAP_READ))],
    lake: LakeDep,
    bbox: BBox = None,
    limit: Annotated[int, Query(ge=1, le=MAX_FEATURES)] = 5000,
) -> FeatureCollection:
    """Buildings of the standard address register as points (a building's address is public)."""
    box = parse_bbox(bbox)
    table = lake.read("std", "standard_address")
    if table is None or table.num_rows == 0:
        return FeatureCollection(features=[], kind="points", total=0)
    table = table.filter(pc.fill_null(pc.equal(table["level"], "building"), False))
    table = in_bbox(table.filter(pc.is_valid(table["lon"])), box)
    shown = table.slice(0, limit)
    properties = ["address_id", "full_address", "estate_name", "building_no", "grid_code"]
    return FeatureCollection(
        features=_points(shown, properties), kind="points", total=table.num_rows,
        truncated=table.num_rows > limit,
    )  # fmt: skip


@router.get("/cases")
def cases_layer(
    _: Annotated[Principal, Depends(require(Permission.MAP_READ))],
    ops_engine: OpsEngine,
    scope: ScopeDep,
    places: PlacesDep,
    masker: Annotated[Masker, Depends(get_masker)],
    installed: InstalledTopics,
    status: Status | None = None,
    topic: TopicFilter | None = None,
    open_only: bool = True,
    bbox: BBox = None,
    limit: Annotated[int, Query(ge=1, le=MAX_FEATURES)] = 5000,
) -> FeatureCollection:
    """Cases in the caller's area as points: id, topic (and its title), status, level, the
    address as the caller may see it and the names of its areas."""
    box = parse_bbox(bbox)
    columns = (
        Case.id,
        Case.topic,
        Case.status,
        Case.level,
        Case.department,
        Case.lon,
        Case.lat,
        Case.subject_id,
        Case.address,
        Case.street_id,
        Case.community_id,
        Case.grid_id,
    )
    query = select(*columns).where(
        cases_in_scope(scope),
        Case.lon.is_not(None),
        Case.lat.is_not(None),
    )
    if status is not None:
        query = query.where(Case.status == status.value)
    elif open_only:
        query = query.where(Case.status.not_in([Status.closed.value, Status.archived.value]))
    if topic is not None:
        query = query.where(Case.topic == topic)
    if box is not None:
        query = query.where(Case.lon.between(box[0], box[2]), Case.lat.between(box[1], box[3]))
    with session(ops_engine) as db:
        rows = db.execute(query.order_by(Case.id.desc()).limit(limit + 1)).all()
    truncated = len(rows) > limit
    rows = rows[:limit]
    found = places.addresses(r.subject_id for r in rows if not r.address)
    names = places.names()
    features = [
        Feature(
            geometry={"type": "Point", "coordinates": [r.lon, r.lat]},
            properties={
                "id": r.id,
                "topic": r.topic,
                **_titles(installed, r.topic),
                "status": r.status,
                "level": r.level,
                "department": r.department,
                "address": masker.value(
                    r.address or found.get(r.subject_id), PiiKind.ADDRESS, subject=r.subject_id
                ),
                **_area_words(names, r.street_id, r.community_id, r.grid_id),
            },
        )
        for r in rows
    ]
    return FeatureCollection(
        features=features, kind="points", total=len(features), truncated=truncated
    )


def _titles(installed: InstalledTopics, topic: str) -> dict[str, str | None]:
    found = installed.get(topic)
    return {
        "topic_title_zh": found.title_zh if found else None,
        "topic_title_en": found.title_en if found else None,
    }


def _area_words(
    names: dict[str, str], street: str | None, community: str | None, grid: str | None
) -> dict[str, str | None]:
    """The names of a point's street, community and grid (null where the register has none)."""
    return {
        "street_name": names.get(street) if street else None,
        "community_name": names.get(community) if community else None,
        "grid_name": names.get(grid) if grid else None,
    }


def _finding_points(
    shown: pa.Table,
    topic: str,
    places: Places,
    masker: Masker,
    ops_engine: Any,
    scope: Any,
    installed: InstalledTopics,
) -> list[Feature]:
    """The shown findings (at most MAX_POINTS) as points a popup can put in words: the address
    as the caller may see it, the area names, the first reasons, and the case and dwelling 360 to
    open. The subject's id itself stays out: for a dwelling it is personal."""
    rows = shown.to_pylist()
    subjects = [r["subject_id"] for r in rows if r["subject_type"] in ADDRESS_SUBJECTS]
    addresses = places.addresses(subjects)
    dwellings = places.dwelling_ids(subjects)
    names = places.names()
    with session(ops_engine) as db:
        opened = db.execute(
            select(Case.subject_id, Case.id)
            .where(
                Case.topic == topic,
                Case.subject_id.in_([r["subject_id"] for r in rows]),
                cases_in_scope(scope),
            )
            .order_by(Case.id)
        ).all()
    case_of = {str(subject): int(id_) for subject, id_ in opened}  # the newest case of each subject
    titles = _titles(installed, topic)
    features = []
    for r in rows:  # one per shown point: at most MAX_POINTS
        subject = r["subject_id"]
        reasons = r.get("reasons") or []
        address = addresses.get(subject) if r["subject_type"] in ADDRESS_SUBJECTS else None
        features.append(
            Feature(
                geometry={"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                properties={
                    "topic": topic,
                    **titles,
                    "subject_type": r["subject_type"],
                    "period": r["period"],
                    "score": r["score"],
                    "level": r["level"],
                    "address": masker.value(address, PiiKind.ADDRESS, subject=subject),
                    **_area_words(names, r["street_id"], r["community_id"], r["grid_id"]),
                    "reasons_zh": "；".join(x["text_zh"] for x in reasons[:3] if x.get("text_zh")),
                    "reasons_en": "; ".join(x["text_en"] for x in reasons[:3] if x.get("text_en")),
                    "case_id": case_of.get(subject),
                    "dwelling_id": dwellings.get(subject),
                },
            )
        )
    return features


def _hexagons(table: pa.Table) -> list[Feature]:
    grouped = (
        pa.table(
            {
                "cell": table["h3"],
                "score": table["score"],
                "high": pc.cast(pc.equal(table["level"], "high"), pa.int64()),
            }
        )
        .group_by("cell")
        .aggregate([("score", "count"), ("score", "max"), ("score", "mean"), ("high", "sum")])
    )
    features = []
    for row in grouped.to_pylist():  # one row per cell: a few hundred, not per finding
        ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(row["cell"])]
        ring.append(ring[0])
        features.append(
            Feature(
                geometry={"type": "Polygon", "coordinates": [ring]},
                properties={
                    "h3": row["cell"],
                    "count": row["score_count"],
                    "max_score": row["score_max"],
                    "mean_score": row["score_mean"],
                    "high": row["high_sum"],
                },
            )
        )
    return features


@router.get("/topics/{topic}/findings", responses={404: {"description": "no such topic"}})
def findings_layer(
    _: Annotated[Principal, Depends(require(Permission.MAP_READ))],
    topic: KnownTopic,  # after the permission: a caller without it gets 403, not 404
    scope: ScopeDep,
    lake: LakeDep,
    places: PlacesDep,
    masker: Annotated[Masker, Depends(get_masker)],
    ops_engine: OpsEngine,
    installed: InstalledTopics,
    zoom: Annotated[int, Query(ge=0, le=22, description="the map's zoom level")] = 12,
    bbox: BBox = None,
    level: Literal["high", "medium", "low"] | None = None,
    period: Period | None = None,
    aggregate: Annotated[
        Literal["auto", "points", "h3"], Query(description="auto: points when few, else H3")
    ] = "auto",
) -> FeatureCollection:
    """A topic's latest findings in the caller's area: points when few, H3 cells when many."""
    box = parse_bbox(bbox)
    res = resolution_for_zoom(zoom)
    table = lake.findings(topic)
    if aggregate != "points":  # cells for the whole run, before filtering: the cache's unit
        table = table.append_column("h3", cells_of(topic, table, res))
    table = scoped_findings(table, scope, level=level, period=period)
    table = table.filter(pc.and_(pc.is_valid(table["lon"]), pc.is_valid(table["lat"])))
    table = in_bbox(table, box)
    total = table.num_rows
    as_points = aggregate == "points" or (aggregate == "auto" and total <= MAX_POINTS)
    if as_points:
        shown = table.sort_by([("score", "descending")]).slice(0, MAX_POINTS)
        return FeatureCollection(
            features=_finding_points(shown, topic, places, masker, ops_engine, scope, installed),
            kind="points",
            total=total,
            truncated=total > MAX_POINTS,
        )
    return FeatureCollection(
        features=_hexagons(table) if total else [], kind="h3", total=total,
        h3_resolution=res,
    )  # fmt: skip


LayerId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_]{0,63}$", description="a layer's id")]


@router.get(
    "/topics/{topic}/layers/{layer}",
    responses={404: {"description": "no such topic, or it declares no such layer of its own"}},
)
def topic_source_layer(
    _: Annotated[Principal, Depends(require(Permission.MAP_READ))],
    topic: KnownTopic,
    layer: LayerId,
    lake: LakeDep,
    installed: InstalledTopics,
    bbox: BBox = None,
    limit: Annotated[int, Query(ge=1, le=MAX_FEATURES)] = 5000,
    zoom: Annotated[int, Query(ge=0, le=22, description="the map's zoom (H3 layers)")] = 12,
) -> FeatureCollection:
    """A layer a topic draws from a table of its own (``MapLayer.source``, e.g. every air
    station by its daily AQI): the latest run's rows — of the latest day when the layer says so —
    as points with the layer's properties, coloured in the browser as its legend says. An H3
    layer (``kind="h3"``, e.g. bike density) counts the rows into cells whose size follows the
    zoom: each cell sums the layer's properties, the first one is what it counts (``count``)
    and its ``density`` is that count against the fullest cell in view (0–1). A lines layer
    (``kind="lines"``, e.g. road segments by speed) draws each row's WKT ``geometry`` column; its
    ``lon``/``lat`` (the middle) place it in the box."""
    declared = installed[topic]().map_layers() if topic in installed else []
    found = next((x for x in declared if x.id == layer and x.source), None)
    if found is None or found.source is None:
        raise HTTPException(404, detail=f"topic {topic!r} declares no layer {layer!r} of its own")
    if not lake.exists("topic", found.source):  # the topic has not run yet: nothing to draw
        return FeatureCollection(features=[], kind="points", total=0)
    with lake.engine() as engine:
        table = engine.table("topic", found.source)
        table = table.semi_join(table.aggregate(run_id=table.run_id.max()), "run_id")
        if found.latest:
            last = table.aggregate(**{found.latest: table[found.latest].max()})
            table = table.semi_join(last, found.latest)
        lines = found.kind == "lines"  # drawn from the table's WKT ``geometry`` column
        rows = engine.to_arrow(table.select("lon", "lat", *found.properties,
                                            *(["geometry"] if lines else [])))  # fmt: skip
    rows = in_bbox(rows.filter(pc.and_(pc.is_valid(rows["lon"]), pc.is_valid(rows["lat"]))),
                   parse_bbox(bbox))  # fmt: skip
    if found.kind == "h3":
        res = resolution_for_zoom(zoom)
        cells = _counted_cells(rows, found.properties, res)
        return FeatureCollection(
            features=cells[:limit], kind="h3", total=len(cells), truncated=len(cells) > limit,
            h3_resolution=res,
        )  # fmt: skip
    shown = rows.slice(0, limit)
    if lines:  # a row without a readable line is drawn at its point
        points = _points(shown, found.properties)
        shapes = _geojson(shown["geometry"])
        features = [Feature(geometry=g or p.geometry, properties=p.properties)
                    for g, p in zip(shapes, points, strict=True)]  # fmt: skip
        return FeatureCollection(features=features, kind="lines", total=rows.num_rows,
                                 truncated=rows.num_rows > limit)  # fmt: skip
    return FeatureCollection(
        features=_points(shown, found.properties), kind="points", total=rows.num_rows,
        truncated=rows.num_rows > limit,
    )  # fmt: skip


def _counted_cells(rows: pa.Table, properties: list[str], res: int) -> list[Feature]:
    """Rows summed into H3 cells at ``res``: each property's sum, the first one as ``count``
    (a row counts 1 without properties) and ``density`` against the fullest cell."""
    if rows.num_rows == 0:
        return []
    lon = rows["lon"].to_numpy(zero_copy_only=False).astype(float)
    lat = rows["lat"].to_numpy(zero_copy_only=False).astype(float)
    sums = {p: pc.fill_null(pc.cast(rows[p], pa.float64()), 0.0) for p in properties}
    weight = sums[properties[0]] if properties else pa.array(np.ones(rows.num_rows))
    table = pa.table({"cell": pa.array(h3_cells(lon, lat, res), pa.string()), "count": weight,
                      **{f"p_{p}": v for p, v in sums.items()}})  # fmt: skip
    grouped = table.group_by("cell").aggregate([(c, "sum") for c in table.column_names[1:]])
    grouped = grouped.filter(pc.greater(grouped["count_sum"], 0))
    top = pc.max(grouped["count_sum"]).as_py() or 1.0
    features = []
    for row in grouped.sort_by([("count_sum", "descending")]).to_pylist():  # one per cell
        ring = [[lng, lt] for lt, lng in h3.cell_to_boundary(row["cell"])]
        ring.append(ring[0])
        values = {p: row[f"p_{p}_sum"] for p in properties}
        shares = {"count": row["count_sum"], "density": round(row["count_sum"] / top, 4)}
        features.append(
            Feature(
                geometry={"type": "Polygon", "coordinates": [ring]},
                properties={"h3": row["cell"], **shares, **values},
            )
        )
    return features


_BASEMAP_LOCK = threading.Lock()


def _basemap(request: Request, lake: Lake) -> basemap.BaseMap:
    """The app's base map (one per app and lake, so one archive build at a time)."""
    with _BASEMAP_LOCK:
        found: basemap.BaseMap | None = getattr(request.app.state, "basemap", None)
        if found is None or found.workspace is not lake.workspace:
            found = basemap.BaseMap(lake.workspace, lake.read)
            request.app.state.basemap = found
        return found


@router.get("/style.json", dependencies=[Depends(public)])
def style(request: Request, lake: LakeDep) -> dict[str, Any]:
    """The base map's MapLibre style: the city's own vector tiles, labels from local fonts.

    Open like any base map (the geography names no person); the tiles are built from the address
    register on the first call after it changed."""
    meta = _basemap(request, lake).ensure()
    tiles = str(request.url_for("base_tile", z=0, x=0, y=0)).replace(
        "/0/0/0.mvt", "/{z}/{x}/{y}.mvt"
    )
    built = basemap.style(tiles, meta["bounds"])
    config = lake.workspace.config.map
    if config.base == "built":
        return built
    if config.base in ("xyz", "wmts"):  # on the city's intranet: the browser fetches them there
        return citymap.with_city_base(built, config, citymap.xyz_url(config), None)
    city = str(request.url_for("city_tile", z=0, x=0, y=0)).removesuffix("/0/0/0")
    return citymap.with_city_base(built, config, city + "/{z}/{x}/{y}", _city_file(request).info)


def _city_file(request: Request) -> citymap.TileFile:
    """The city's own tile file named in ``[map]`` (opened once per app and file); 503 if bad."""
    workspace = request.app.state.lake.workspace
    with _BASEMAP_LOCK:
        found: citymap.TileFile | None = getattr(request.app.state, "city_tiles", None)
        if found is None or found.config != workspace.config.map:
            try:
                found = citymap.tile_file(workspace, workspace.config.map)
            except UserError as exc:
                raise HTTPException(503, detail=str(exc)) from None
            request.app.state.city_tiles = found
        return found


@router.get(
    "/city/{z}/{x}/{y}",
    name="city_tile",
    dependencies=[Depends(public)],
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "application/vnd.mapbox-vector-tile": {}}},
               204: {"description": "the city's file has no tile there"},
               404: {"description": "no such tile, or no local base-map file configured"},
               503: {"description": "the configured file cannot be read"}},
)  # fmt: skip
def city_tile(
    request: Request,
    z: Annotated[int, Path(ge=0, le=24)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
) -> Response:
    """One tile of the city's own base map, from the PMTiles or MBTiles file named in ``[map]``
    of citybrain.toml (public, like the built base map)."""
    if request.app.state.lake.workspace.config.map.base not in ("pmtiles", "mbtiles"):
        raise HTTPException(404, detail="no local base-map file is configured ([map] base)")
    if x >= 1 << z or y >= 1 << z:
        raise HTTPException(404, f"no tile {z}/{x}/{y}")
    city = _city_file(request)
    data = city.tile(z, x, y)
    if data is None:
        return Response(status_code=204)
    headers = {"Cache-Control": "no-cache"}
    if data.startswith(citymap.GZIP_MAGIC):
        headers["Content-Encoding"] = "gzip"
    return Response(data, media_type=citymap.MEDIA[city.info.format], headers=headers)


@router.get(
    "/tiles/{z}/{x}/{y}.mvt",
    name="base_tile",
    dependencies=[Depends(public)],
    response_class=Response,
    responses={200: {"content": {"application/vnd.mapbox-vector-tile": {}}},
               404: {"description": "no such tile"}},
)  # fmt: skip
def tile(
    request: Request,
    lake: LakeDep,
    z: Annotated[int, Path(ge=0, le=22)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
) -> Response:
    """One vector tile of the base map (gzip-compressed MVT); empty where the city has nothing."""
    if x >= 1 << z or y >= 1 << z:
        raise HTTPException(404, f"no tile {z}/{x}/{y}")
    data = _basemap(request, lake).tile(z, x, y)
    return Response(
        data,
        media_type="application/vnd.mapbox-vector-tile",
        headers={"Content-Encoding": "gzip", "Cache-Control": "no-cache"},
    )


class Place(BaseModel):
    kind: str  # street, community, grid, road, building, address
    name: str
    alias: str | None  # an area's code, a road's old name, an address id
    west: float
    south: float
    east: float
    north: float


@router.get("/search")
def search_places(
    _: Annotated[Principal, Depends(require(Permission.MAP_READ))],
    request: Request,
    lake: LakeDep,
    q: Annotated[str, Query(min_length=1, max_length=200, description="a name or an address")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[Place]:
    """Streets, communities, grids, roads (also by old name), buildings and gates by name or
    address; each with its box, so the map can fly there."""
    places = _basemap(request, lake).places()
    return [Place(**row) for row in basemap.search(places, q, limit)]
