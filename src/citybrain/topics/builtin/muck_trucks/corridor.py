"""Off-route driving (偏离核准线路): a truck driving outside the corridor around its permit's
approved route (``std.transport_permit.route``, a WKT line of lon/lat) on a day the permit is valid.

The corridor is a Shapely buffer of ``corridor_m`` metres around the route, on a local metric
plane. Pings are judged once per permit and distinct point rounded to about 10 m (a truck drives
the same way night after night), then joined back in the engine; a ping inside the corridor of any
permit valid that day is on route. Only runs of consecutive moving pings off the route count, of
at least ``min_pings`` pings over ``min_minutes``: a single GPS outlier never raises it (lone jumps
are already left out by the track cleaning). A permit without a readable route judges nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from citybrain.topics.builtin.muck_trucks.rules import FAR_FUTURE, FAR_PAST
from citybrain.topics.builtin.muck_trucks.track import (
    M_PER_DEG_LAT,
    M_PER_DEG_LON_EQUATOR,
    mean_place,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from citybrain.core.engine import Engine

ROUND = 4  # decimals of a degree a ping is judged at: about 10 m


@dataclass(frozen=True)
class CorridorRules:
    corridor_m: float = 200.0
    min_pings: int = 3
    min_minutes: float = 5.0
    max_gap_minutes: float = 30.0  # a longer silence ends a run


@dataclass(frozen=True)
class Corridors:
    table: pd.DataFrame  # route_id, r_plate, valid_from, valid_to
    shapes: np.ndarray  # route_id → buffered corridor on the metric plane
    lat0: float
    unreadable: int  # permits with a route that could not be read

    def metric(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kx = M_PER_DEG_LON_EQUATOR * np.cos(np.radians(self.lat0))
        return lon * kx, (lat - self.lat0) * M_PER_DEG_LAT


def read_corridors(engine: Engine, permits: ir.Table, corridor_m: float) -> Corridors | None:
    """Each permit's corridor (None when no permit carries a route)."""
    if "route" not in permits.columns:
        return None
    p = permits.filter(permits.plate.notnull() & permits.route.notnull())
    frame = engine.to_pandas(
        p.select(
            r_plate=p.plate.strip(),
            valid_from=p.valid_from.cast("date").fill_null(ibis.date(FAR_PAST)),
            valid_to=p.valid_to.cast("date").fill_null(ibis.date(FAR_FUTURE)),
            route=p.route.cast("string"),
        )
    )
    with np.errstate(all="ignore"):
        lines = shapely.from_wkt(frame["route"].to_numpy(str), on_invalid="ignore")
    good = ~shapely.is_missing(lines) & ~shapely.is_empty(lines)
    if not good.any():
        return None
    frame, lines = frame.loc[good].reset_index(drop=True), lines[good]
    lat0 = float(np.nanmedian(shapely.get_coordinates(lines)[:, 1]))
    plane = Corridors(frame, lines, lat0, int((~good).sum()))

    def to_plane(xy: np.ndarray) -> np.ndarray:
        x, y = plane.metric(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    shapes = shapely.buffer(shapely.transform(lines, to_plane), corridor_m)
    table = frame.drop(columns="route").assign(route_id=np.arange(len(frame), dtype=np.int64))
    return Corridors(table, shapes, lat0, plane.unreadable)


def off_route_runs(
    engine: Engine,
    track: ir.Table,
    corridors: Corridors,
    rules: CorridorRules,
    overlapping: bool = True,
) -> pd.DataFrame:
    """Runs of moving pings off every valid permit's corridor, long enough to count: plate,
    shift_date, start, end, pings, minutes, lon, lat. ``overlapping``: whether a plate holds two
    permits valid on a common day (`rules.permits_overlap`; when none does, each ping meets one
    route at most and needs no grouping back to one row per ping)."""
    routes = engine.register(
        "muck_truck_routes", pa.Table.from_pandas(corridors.table, preserve_index=False)
    )
    moving = track.filter(~track.standing)
    moving = moving.mutate(lon_r=moving.lon.round(ROUND), lat_r=moving.lat.round(ROUND))

    def routed(rows: ir.Table) -> ir.Table:  # each ping with the routes valid that day
        return rows.join(
            routes,
            [
                rows.plate.strip() == routes.r_plate,
                rows.shift_date >= routes.valid_from,
                rows.shift_date <= routes.valid_to,
            ],
        )

    points = engine.to_pandas(routed(moving).select("route_id", "lon_r", "lat_r").distinct())
    x, y = corridors.metric(points["lon_r"].to_numpy(float), points["lat_r"].to_numpy(float))
    shapes = corridors.shapes[points["route_id"].to_numpy(np.int64)]
    points["inside"] = shapely.contains_xy(shapes, x, y).astype(np.int8)
    judged = engine.register(
        "muck_truck_route_points", pa.Table.from_pandas(points, preserve_index=False)
    )
    # Only the truck-days with a fix off a route can hold a run: the windows below see their
    # pings alone, not every moving ping (a run's first fix still meets the fix before it: one
    # within the gap that ends a run falls on its shift day or the one before, itself kept when
    # it is off; an earlier fix kept in its place is farther than the gap, a new run alike).
    far = engine.register(
        "muck_truck_off_points",
        pa.Table.from_pandas(points.loc[points["inside"] == 0], preserve_index=False),
    )
    # the pings are cut to those places, then to those days, before the join to the routes
    # (a range join of every moving ping, each time)
    places = far.select("lon_r", "lat_r").distinct()
    off_days = (
        routed(moving.semi_join(places, ["lon_r", "lat_r"]))
        .join(far, ["route_id", "lon_r", "lat_r"])
        .select("plate", "shift_date")
        .distinct()
    )
    on = routed(moving.semi_join(off_days, ["plate", "shift_date"]))
    on = on.join(judged, ["route_id", "lon_r", "lat_r"])
    if overlapping:  # inside any valid permit's corridor
        per_ping = on.group_by(["plate", "ts", "shift_date"]).aggregate(
            lon=on.lon.max(), lat=on.lat.max(), inside=on.inside.max()
        )
    else:
        per_ping = on.select("plate", "ts", "shift_date", "lon", "lat", "inside")
    w = ibis.window(group_by="plate", order_by="ts")
    off = per_ping.inside == 0
    before_off = (per_ping.inside.lag().over(w) == 0).fill_null(False)
    gap = (
        per_ping.ts.epoch_seconds().cast("float64")
        - per_ping.ts.lag().over(w).epoch_seconds().cast("float64")
    ).fill_null(0) > rules.max_gap_minutes * 60
    marked = per_ping.mutate(off=off, new_run=(off & (~before_off | gap)).cast("int64"))
    marked = marked.filter(marked.off)
    runs = marked.mutate(run=marked.new_run.cumsum(group_by="plate", order_by="ts"))
    agg = runs.group_by(["plate", "run"]).aggregate(
        shift_date=runs.shift_date.min(),
        start=runs.ts.min(),
        end=runs.ts.max(),
        pings=runs.count(),
        lon=mean_place(runs.lon),
        lat=mean_place(runs.lat),
    )
    minutes = (
        agg.end.epoch_seconds().cast("float64") - agg.start.epoch_seconds().cast("float64")
    ) / 60.0
    long_enough = agg.mutate(minutes=minutes).filter(
        (agg.pings >= rules.min_pings) & (minutes >= rules.min_minutes)
    )
    return engine.to_pandas(long_enough.drop("run"))
