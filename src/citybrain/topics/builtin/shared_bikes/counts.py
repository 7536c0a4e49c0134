"""Parked bikes per zone and snapshot, counted in the engine (Ibis: DuckDB and Spark alike).

Each bike counts once per snapshot (its last report in the snapshot's bucket: operators report at
their own moments, some twice). Zones come as WKT polygons: each is read once with Shapely; a bike
is matched to a zone by its bounding box in the engine (an equi-join on grid cells, then the box
test), which is exact for the rectangles most fences are, and checked point-in-polygon (Shapely,
vectorised) only for zones of another shape.
A zone whose geometry cannot be read is left out and counted, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

if TYPE_CHECKING:
    from citybrain.core.engine import Engine

OPERATORS = ("meituan", "hellobike", "qingju")
EDGE_DEG = 1e-6  # about 0.1 m: a bike on the fence line is inside (coordinates come rounded)
GRID_CAP = 64  # most grid cells a zone is given; a larger zone takes wider cells
GRID_STEP = 8  # how many times wider a level's cells are than the level below's


@dataclass(frozen=True)
class Zones:
    table: pd.DataFrame  # zone_id, name, quota, quota_<op>, minx … maxy, lon, lat, rectangle
    shapes: dict[str, shapely.Geometry]  # zone_id → polygon, for zones that are no rectangle
    unreadable: list[str]  # zone ids whose geometry could not be read


def read_zones(engine: Engine, zones: ir.Table) -> Zones:
    columns = [c for c in ("zone_id", "name", "geometry", "quota") if c in zones.columns]
    quotas = [f"quota_{op}" for op in OPERATORS if f"quota_{op}" in zones.columns]
    frame = engine.to_pandas(zones.select(*columns, *quotas)).drop_duplicates("zone_id")
    frame = frame.loc[frame["zone_id"].notna()].reset_index(drop=True)
    with np.errstate(all="ignore"):
        geoms = shapely.from_wkt(frame["geometry"].astype(str).to_numpy(), on_invalid="ignore")
    good = ~shapely.is_missing(geoms) & shapely.is_valid(geoms) & ~shapely.is_empty(geoms)
    unreadable = frame.loc[~good, "zone_id"].astype(str).tolist()
    frame, geoms = frame.loc[good].reset_index(drop=True), geoms[good]
    bounds = shapely.bounds(geoms)
    centre = shapely.centroid(geoms)
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    rectangle = np.isclose(shapely.area(geoms), box_area, rtol=1e-6)
    table = frame.drop(columns=["geometry"]).assign(
        minx=bounds[:, 0] - EDGE_DEG,
        miny=bounds[:, 1] - EDGE_DEG,
        maxx=bounds[:, 2] + EDGE_DEG,
        maxy=bounds[:, 3] + EDGE_DEG,
        lon=shapely.get_x(centre),
        lat=shapely.get_y(centre),
        rectangle=rectangle,
    )
    table["quota"] = pd.to_numeric(table["quota"], errors="coerce")
    for q in quotas:
        table[q] = pd.to_numeric(table[q], errors="coerce")
    shapes = {
        str(z): g for z, g, r in zip(table["zone_id"], geoms, rectangle, strict=True) if not r
    }
    return Zones(table, shapes, unreadable)


def usable(positions: ir.Table) -> ir.BooleanValue:
    """The reports a snapshot counts: a bike, a time and a fix that is not 0,0."""
    return (
        positions.bike_id.notnull()
        & positions.ts.notnull()
        & positions.lon.notnull()
        & positions.lat.notnull()
        & ((positions.lon.abs() > 1e-6) | (positions.lat.abs() > 1e-6))
    )


def newest_snapshot(engine: Engine, positions: ir.Table, snapshot_minutes: int) -> datetime | None:
    """The start of the snapshot bucket of the newest usable report (None without any)."""
    p = positions.filter(usable(positions))
    newest = engine.to_arrow(p.aggregate(newest=p.ts.max())).column(0)[0].as_py()
    if newest is None:
        return None
    if newest.tzinfo is None:  # the lake's timestamps are UTC, as epoch_seconds reads them
        newest = newest.replace(tzinfo=UTC)
    seconds = snapshot_minutes * 60
    start = int(newest.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(start, UTC).replace(tzinfo=None)


def last_reports(positions: ir.Table, snapshot_minutes: int) -> ir.Table:
    """One row per operator, bike and snapshot bucket: where the bike last reported in it."""
    p = positions.filter(usable(positions))
    seconds = snapshot_minutes * 60
    bucket = (p.ts.epoch_seconds().cast("int64") // seconds) * seconds
    p = p.mutate(bucket=bucket, operator=p.operator.fill_null("unknown"))
    return p.group_by(["operator", "bike_id", "bucket"]).aggregate(
        lon=p.lon.argmax(p.ts), lat=p.lat.argmax(p.ts)
    )


def grid_cells(boxes: pd.DataFrame) -> pd.DataFrame:
    """Every grid cell each zone's box touches: ``scale``, ``cx``, ``cy``, then the zone's
    ``zone_id``, ``minx`` … ``maxy`` and ``rectangle``; a report at lon, lat lies in the cell
    ``floor(lon * scale), floor(lat * scale)``.

    The cells are a power of two of a degree wide, about the median zone's longest side, so a
    cell's number is the same exact number in NumPy and in every engine; a zone that would touch
    more than ``GRID_CAP`` of them takes cells ``GRID_STEP`` times wider (a level up), so a
    district-wide fence gives a few cells, not millions. The cells of a box cover it: a report
    in the box shares a cell with it, and only the box test after the join decides."""
    minx, miny = boxes["minx"].to_numpy(float), boxes["miny"].to_numpy(float)
    maxx, maxy = boxes["maxx"].to_numpy(float), boxes["maxy"].to_numpy(float)
    side = np.maximum(maxx - minx, maxy - miny)
    scale = np.full(len(boxes), np.nan)  # cells per degree at each zone's level
    level = 2.0 ** -np.ceil(np.log2(np.median(side))) if len(boxes) else 1.0
    while np.isnan(scale).any():
        cells = (np.floor(maxx * level) - np.floor(minx * level) + 1) * (
            np.floor(maxy * level) - np.floor(miny * level) + 1
        )
        scale[np.isnan(scale) & (cells <= GRID_CAP)] = level
        level /= GRID_STEP
    x0, y0 = np.floor(minx * scale).astype(np.int64), np.floor(miny * scale).astype(np.int64)
    nx = np.floor(maxx * scale).astype(np.int64) - x0 + 1
    ny = np.floor(maxy * scale).astype(np.int64) - y0 + 1
    per_zone = nx * ny
    zone = np.repeat(np.arange(len(boxes)), per_zone)
    k = np.arange(per_zone.sum()) - np.repeat(np.cumsum(per_zone) - per_zone, per_zone)
    columns = ["zone_id", "minx", "miny", "maxx", "maxy", "rectangle"]
    out = boxes[columns].iloc[zone].reset_index(drop=True)
    out.insert(0, "cy", y0[zone] + k // nx[zone])
    out.insert(0, "cx", x0[zone] + k % nx[zone])
    out.insert(0, "scale", scale[zone])
    return out


def box_matches(engine: Engine, reports: ir.Table, zones: Zones) -> ir.Table:
    """Every report (``last_reports`` rows) with every zone whose box holds it: ``zone_id``,
    ``bucket``, ``operator``, ``lon``, ``lat``, ``rectangle``.

    An equi-join on grid cells (`grid_cells`), then the box test: a join on four inequalities
    runs as an IE-join or a nested loop, minutes per 20 M reports on a city's 1,200 zones. The
    reports outside every box's extent go first; that bound also keeps a NaN or infinite fix
    out of the cell numbers (DuckDB refuses to make an integer of one)."""
    cells = grid_cells(zones.table)
    registered = engine.register(
        "shared_bikes_zone_cells", pa.Table.from_pandas(cells, preserve_index=False)
    )
    z = zones.table
    near = reports.filter(
        reports.lon.between(float(z["minx"].min()), float(z["maxx"].max()))
        & reports.lat.between(float(z["miny"].min()), float(z["maxy"].max()))
    )
    parts = []
    for scale in np.unique(cells["scale"]):  # one join per level: most cities have one
        keyed = near.select(
            "bucket",
            "operator",
            "lon",
            "lat",
            cx=(near.lon * float(scale)).floor(),
            cy=(near.lat * float(scale)).floor(),
        )
        level = registered.filter(registered.scale == float(scale)).drop("scale")
        j = keyed.join(level, ["cx", "cy"])
        inside = j.filter(
            (j.lon >= j.minx) & (j.lon <= j.maxx) & (j.lat >= j.miny) & (j.lat <= j.maxy)
        )
        parts.append(inside.select("zone_id", "bucket", "operator", "lon", "lat", "rectangle"))
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


def zone_counts(engine: Engine, reports: ir.Table, zones: Zones) -> pd.DataFrame:
    """Bikes per zone, snapshot bucket and operator (long form).

    One query: a rectangle's bikes are counted in the engine; a bike in the box of a zone of
    another shape comes with its place (bikes at one place counted together) for Shapely to
    decide. Two queries would make every bike's last report twice."""
    keys = ["zone_id", "bucket", "operator"]
    if zones.table.empty:
        return pd.DataFrame({c: [] for c in (*keys, "bikes")})
    j = box_matches(engine, reports, zones)
    if not zones.shapes:
        return engine.to_pandas(j.group_by(keys).aggregate(bikes=j.count()))
    nowhere = ibis.null("float64")  # a rectangle's bikes: one group, whatever their place
    j = j.mutate(
        x=ibis.ifelse(j.rectangle, nowhere, j.lon), y=ibis.ifelse(j.rectangle, nowhere, j.lat)
    )
    counted = engine.to_pandas(j.group_by([*keys, "x", "y"]).aggregate(bikes=j.count()))
    odd = counted.loc[counted["x"].notna()]
    shapes = odd["zone_id"].astype(str).map(zones.shapes).to_numpy(dtype=object)
    inside = shapely.contains_xy(shapes, odd["x"].to_numpy(float), odd["y"].to_numpy(float))
    extra = odd.loc[inside].groupby(keys, as_index=False)["bikes"].sum()
    both: pd.DataFrame = pd.concat(
        [counted.loc[counted["x"].isna(), [*keys, "bikes"]], extra], ignore_index=True
    )
    return both


def per_zone(counts: pd.DataFrame, zones: Zones) -> pd.DataFrame:
    """One row per zone and snapshot: total bikes and each operator's, with the quotas."""
    wide = counts.pivot_table(
        index=["zone_id", "bucket"], columns="operator", values="bikes", aggfunc="sum", fill_value=0
    )
    for op in OPERATORS:
        if op not in wide.columns:
            wide[op] = 0
    wide["bikes"] = wide.sum(axis=1)
    out = wide.reset_index().merge(zones.table, on="zone_id", how="inner")
    out["snapshot"] = pd.to_datetime(out["bucket"], unit="s")
    return out


def nearby_free(frame: pd.DataFrame, zones: Zones, radius_m: float) -> np.ndarray:
    """Per row: free places (quota minus bikes) in the other zones within ``radius_m`` at the same
    snapshot — where an operator could move the surplus."""
    z = zones.table
    if frame.empty:
        return np.zeros(0)
    lat0 = float(np.nanmedian(z["lat"]))
    x = z["lon"].to_numpy(float) * 111_320.0 * np.cos(np.radians(lat0))
    y = z["lat"].to_numpy(float) * 110_574.0
    points = shapely.points(x, y)
    near = shapely.dwithin(points[:, None], points[None, :], radius_m)
    np.fill_diagonal(near, False)
    index = {zone: i for i, zone in enumerate(z["zone_id"])}
    buckets, b_at = np.unique(frame["bucket"].to_numpy(), return_inverse=True)
    z_at = frame["zone_id"].map(index).to_numpy(int)
    free = np.zeros((buckets.size, len(z)))
    quota = z["quota"].fillna(0).to_numpy(float)
    free[:] = quota  # a zone with no bike counted at a snapshot is wholly free
    spare = np.maximum(quota[z_at] - frame["bikes"].to_numpy(float), 0.0)
    free[b_at, z_at] = spare
    around: np.ndarray = (free @ near.astype(float))[b_at, z_at]
    return around
