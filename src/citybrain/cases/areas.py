"""Locating points in management areas (grid, community, street) with a Shapely STRtree.

Areas come as an Arrow table (grid_id, community_id, street_id, geometry as WKT or GeoJSON text)
or a GeoJSON FeatureCollection whose features carry those ids as properties. The smallest area
containing a point wins, so a table may mix grid polygons with coarser community or street ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import shapely
from shapely.strtree import STRtree

from citybrain.core.errors import UserError
from citybrain.core.workspace import Workspace

AREA_ID_COLUMNS = ("grid_id", "community_id", "street_id")


def _parse_geometry(text: str) -> Any:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return shapely.from_geojson(stripped)
    return shapely.from_wkt(stripped)


@dataclass
class AreaIndex:
    """Polygons with their ids, indexed for point queries."""

    geometries: np.ndarray[Any, Any]
    ids: pa.Table  # grid_id, community_id, street_id; one row per geometry

    def __post_init__(self) -> None:
        self._tree = STRtree(self.geometries)
        self._area = shapely.area(self.geometries)

    @classmethod
    def from_table(cls, table: pa.Table, geometry_column: str = "geometry") -> AreaIndex:
        missing = [c for c in (*AREA_ID_COLUMNS, geometry_column) if c not in table.column_names]
        if missing:
            raise UserError(f"area table lacks column(s) {', '.join(missing)}")
        texts = table.column(geometry_column).to_pylist()
        try:
            geometries = np.array([_parse_geometry(t) for t in texts], dtype=object)
        except Exception as exc:  # shapely raises its own GEOSException for bad text
            raise UserError(f"area table: unreadable geometry: {exc}") from exc
        ids = pa.table({c: pc.cast(table.column(c), pa.string()) for c in AREA_ID_COLUMNS})
        return cls(geometries, ids)

    @classmethod
    def from_geojson(cls, data: dict[str, Any] | str | Path) -> AreaIndex:
        if isinstance(data, Path):
            data = json.loads(data.read_text(encoding="utf-8"))
        elif isinstance(data, str):
            data = json.loads(data)
        assert isinstance(data, dict)
        features = data.get("features", [])
        columns: dict[str, list[str | None]] = {c: [] for c in AREA_ID_COLUMNS}
        geometries: list[str] = []
        for feature in features:
            properties = feature.get("properties") or {}
            for column in AREA_ID_COLUMNS:
                value = properties.get(column)
                columns[column].append(None if value is None else str(value))
            geometries.append(json.dumps(feature["geometry"]))
        table = pa.table(
            {**{c: pa.array(v, pa.string()) for c, v in columns.items()}, "geometry": geometries}
        )
        return cls.from_table(table)

    def locate(self, lon: pa.Array, lat: pa.Array) -> pa.Table:
        """grid_id, community_id, street_id of the smallest area holding each point (or nulls)."""
        x = pc.cast(lon, pa.float64()).to_numpy(zero_copy_only=False)
        y = pc.cast(lat, pa.float64()).to_numpy(zero_copy_only=False)
        n = len(x)
        points = shapely.points(np.nan_to_num(x, nan=np.inf), np.nan_to_num(y, nan=np.inf))
        point_index, area_index = self._tree.query(points, predicate="intersects")
        best = np.full(n, -1, dtype=np.int64)
        if len(point_index):
            # Smallest area first, then keep each point's first hit.
            order = np.lexsort((self._area[area_index], point_index))
            point_sorted, area_sorted = point_index[order], area_index[order]
            first = np.ones(len(point_sorted), dtype=bool)
            first[1:] = point_sorted[1:] != point_sorted[:-1]
            best[point_sorted[first]] = area_sorted[first]
        found = best >= 0
        take = pa.array(np.where(found, best, 0), pa.int64())
        mask = pa.array(~found)
        if self.ids.num_rows == 0:
            return pa.table({c: pa.nulls(n, pa.string()) for c in AREA_ID_COLUMNS})
        picked = self.ids.take(take)
        null = pa.scalar(None, pa.string())
        return pa.table({c: pc.if_else(mask, null, picked.column(c)) for c in AREA_ID_COLUMNS})


def fill_locations(findings: pa.Table, areas: AreaIndex | None) -> pa.Table:
    """Fill grid, community and street ids of findings that have a point but no grid id.

    A finding that already has a grid id keeps all its ids; the others take the located ones
    where the located id is known and keep their own otherwise.
    """
    if areas is None or findings.num_rows == 0:
        return findings
    located = areas.locate(findings.column("lon"), findings.column("lat"))
    needs = pc.is_null(findings.column("grid_id"))
    out = findings
    for column in AREA_ID_COLUMNS:
        own = pc.cast(findings.column(column), pa.string())
        merged = pc.if_else(needs, pc.coalesce(located.column(column), own), own)
        position = out.column_names.index(column)
        out = out.set_column(position, column, merged)
    return out


def area_names(workspace: Workspace) -> dict[str, str]:
    """``{area code: name}`` of the streets, communities and grids in the address register.

    Empty before the register has been standardised; routing then fills placeholders with ids.
    """
    folder = workspace.zone("std") / "admin_area"
    if not folder.is_dir():
        return {}
    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table(
        columns=["code", "name"]
    )
    table = table.filter(pc.and_(pc.is_valid(table["code"]), pc.is_valid(table["name"])))
    return dict(zip(table["code"].to_pylist(), table["name"].to_pylist(), strict=True))
