"""Road-segment speed and congestion (路段车速与拥堵) from vehicle GPS pings (floating-car data).

- Segments: the register's roads (``std.road``, WKT lines) cut where they cross each other
  (Shapely's noding union), each piece kept with the road it lies on.
- Snapping: pings are rounded to about 10 m and each distinct point is snapped once to its
  nearest segment within ``snap_m`` (a Shapely STRtree on the few segments, local metric plane);
  the answer is joined back in the engine. A ping farther than ``snap_m`` from every road is on
  no segment (a yard, a site, a field) and is counted as such, not guessed.
- Speed per segment and hour slot: the space-mean (harmonic mean) of the moving pings' reported
  speeds; free-flow speed: the 85th percentile of the segment's slot speeds; congestion index
  ``1 - speed / free_flow`` (0 free, 1 standing), and the travel-time index ``free_flow / speed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from citybrain.topics.builtin.muck_trucks.track import M_PER_DEG_LAT, M_PER_DEG_LON_EQUATOR

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from citybrain.core.engine import Engine

ROUND = 4  # decimals of a degree a ping is snapped at: about 10 m
LEVELS_ZH = {"free": "畅通", "slow": "缓行", "congested": "拥堵"}


@dataclass(frozen=True)
class SpeedRules:
    snap_m: float = 30.0  # farthest a ping may lie from a segment to be on it
    standing_kmh: float = 1.0  # a ping at or below this speed is a parked vehicle: left out
    min_pings: int = 3  # fewest moving pings for a slot's speed
    slow_ratio: float = 0.7  # speed under this share of free flow: slow (缓行)
    congested_ratio: float = 0.5  # under this share: congested (拥堵)


@dataclass(frozen=True)
class Segments:
    table: pd.DataFrame  # segment_id, road_id, road_name, lon, lat (midpoint), length_m, geometry
    shapes: np.ndarray  # segment lines on the metric plane, in table order
    lat0: float

    def metric(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kx = M_PER_DEG_LON_EQUATOR * np.cos(np.radians(self.lat0))
        return lon * kx, (lat - self.lat0) * M_PER_DEG_LAT

    def degrees(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kx = M_PER_DEG_LON_EQUATOR * np.cos(np.radians(self.lat0))
        return x / kx, y / M_PER_DEG_LAT + self.lat0


def road_segments(roads: pd.DataFrame) -> Segments | None:
    """The roads (road_id, name, geometry WKT) cut at their crossings; None without a readable
    road. Segment ids are ``{road_id}-{n}``, numbered along the road from its west/south end."""
    with np.errstate(all="ignore"):
        lines = shapely.from_wkt(roads["geometry"].astype(str).to_numpy(), on_invalid="ignore")
    good = ~shapely.is_missing(lines) & ~shapely.is_empty(lines)
    if not good.any():
        return None
    roads, lines = roads.loc[good].reset_index(drop=True), lines[good]
    lat0 = float(np.nanmedian(shapely.get_coordinates(lines)[:, 1]))
    plane = Segments(pd.DataFrame(), np.array([]), lat0)

    def to_plane(xy: np.ndarray) -> np.ndarray:
        x, y = plane.metric(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    metric = shapely.transform(lines, to_plane)
    pieces = shapely.get_parts(shapely.union_all(metric))  # noded: cut at every crossing
    pieces = pieces[shapely.length(pieces) > 1.0]
    middle = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    piece_i, road_i = shapely.STRtree(metric).query_nearest(middle)
    first = np.unique(piece_i, return_index=True)[1]  # a piece lies on one road
    piece_i, road_i = piece_i[first], road_i[first]
    mx, my = shapely.get_x(middle[piece_i]), shapely.get_y(middle[piece_i])
    lon, lat = plane.degrees(mx, my)
    table = pd.DataFrame(
        {
            "road_id": roads["road_id"].astype(str).to_numpy()[road_i],
            "road_name": roads["name"].to_numpy()[road_i],
            "lon": np.round(lon, 6),
            "lat": np.round(lat, 6),
            "length_m": np.round(shapely.length(pieces[piece_i]), 1),
            "_along": mx + my,
        }
    )
    order = np.lexsort((table["_along"].to_numpy(), table["road_id"].to_numpy()))
    table, shapes = table.iloc[order].reset_index(drop=True), pieces[piece_i][order]
    n = table.groupby("road_id").cumcount() + 1
    table.insert(0, "segment_id", table["road_id"] + "-" + n.astype(str))

    def to_degrees(xy: np.ndarray) -> np.ndarray:
        x, y = plane.degrees(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    # the segment as drawn on the map: a WKT line of lon/lat (about 10 cm)
    table["geometry"] = shapely.to_wkt(shapely.transform(shapes, to_degrees), rounding_precision=6)
    return Segments(table.drop(columns="_along"), shapes, lat0)


def snap_points(segments: Segments, lon: np.ndarray, lat: np.ndarray, snap_m: float) -> np.ndarray:
    """The row in ``segments.table`` of each point's nearest segment within ``snap_m`` metres,
    -1 where none is that near (vectorised: one STRtree query for all points)."""
    out = np.full(lon.size, -1, np.int64)
    if lon.size == 0 or len(segments.shapes) == 0:
        return out
    x, y = segments.metric(lon, lat)
    point_i, seg_i = shapely.STRtree(segments.shapes).query_nearest(
        shapely.points(x, y), max_distance=snap_m
    )
    first = np.unique(point_i, return_index=True)[1]  # equally near: the first segment
    out[point_i[first]] = seg_i[first]
    return out


def slot_speeds(
    engine: Engine, pings: ir.Table, segments: Segments, rules: SpeedRules
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Speed and congestion per segment and hour slot: segment_id, road_name, lon, lat (its
    middle), geometry (its WKT line), slot (``YYYY-MM-DD HH:00``), day, hour, pings, vehicles,
    speed_kmh, free_flow_kmh, congestion, tti, level; and the counts of pings left out
    (unreadable, standing, off every road)."""
    sums, counts = slot_sums(engine, pings, segments, rules)
    return speeds_of(sums, segments, rules), counts


#: the columns of `slot_sums`: a day's sums come from that day's pings alone
SUM_COLUMNS = ("seg", "day", "hour", "pings", "vehicles", "inverse")


def slot_sums(
    engine: Engine, pings: ir.Table, segments: Segments, rules: SpeedRules
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per segment (its row in ``segments.table``), day (``YYYY-MM-DD``) and hour: the moving
    pings on it, their vehicles and the sum of their inverse speeds (`speeds_of` makes the
    slots from them); and the counts of pings left out."""
    p = pings.filter(pings.ts.notnull() & pings.lon.notnull() & pings.lat.notnull())
    p = p.mutate(lon_r=p.lon.round(ROUND), lat_r=p.lat.round(ROUND))
    moving = p.filter(p.speed.notnull() & (p.speed > rules.standing_kmh))
    points = engine.to_pandas(moving.select("lon_r", "lat_r").distinct())
    at = snap_points(
        segments,
        points["lon_r"].to_numpy(float),
        points["lat_r"].to_numpy(float),
        rules.snap_m,
    )
    points = points.assign(seg=at).loc[at >= 0]
    snapped = engine.register(
        "road_segment_points", pa.Table.from_pandas(points, preserve_index=False)
    )
    on = moving.join(snapped, ["lon_r", "lat_r"])
    on = on.mutate(day=on.ts.date().cast("string"), hour=on.ts.hour().cast("int64"))
    slots = engine.to_pandas(
        on.group_by(["seg", "day", "hour"]).aggregate(
            pings=on.count(),
            vehicles=on.plate.nunique(),
            inverse=(1.0 / on.speed.cast("float64")).sum(),
        )
    )
    counts = {
        "pings": int(engine.to_pandas(pings.count().as_table()).to_numpy()[0, 0]),
        "moving": int(engine.to_pandas(moving.count().as_table()).to_numpy()[0, 0]),
        "on_segments": int(slots["pings"].sum()) if len(slots) else 0,
    }
    return slots[list(SUM_COLUMNS)], counts


def speeds_of(slots: pd.DataFrame, segments: Segments, rules: SpeedRules) -> pd.DataFrame:
    """From per segment-slot sums (seg, day, hour, pings, vehicles, inverse = Σ 1/speed) to the
    slot table of `slot_speeds`: slots with fewer than ``min_pings`` pings are left out."""
    slots = slots.loc[slots["pings"] >= rules.min_pings].copy()
    slots["speed_kmh"] = slots["pings"] / slots["inverse"]
    free = slots.groupby("seg")["speed_kmh"].quantile(0.85).rename("free_flow_kmh")
    slots = slots.join(free, on="seg")
    ratio = (slots["speed_kmh"] / slots["free_flow_kmh"]).clip(upper=1.0)
    slots["congestion"] = (1.0 - ratio).round(3)
    slots["tti"] = (slots["free_flow_kmh"] / slots["speed_kmh"]).round(3)
    slots["level"] = np.select(
        [ratio < rules.congested_ratio, ratio < rules.slow_ratio], ["congested", "slow"], "free"
    )
    slots["level_zh"] = slots["level"].map(LEVELS_ZH)
    hour = slots["hour"].astype(int).map("{:02d}:00".format).astype(str)
    slots["slot"] = slots["day"].astype(str) + " " + hour
    seg = segments.table.iloc[slots["seg"].to_numpy(np.int64)].reset_index(drop=True)
    slots = slots.reset_index(drop=True).drop(columns=["inverse"])
    out = pd.concat([seg[["segment_id", "road_name", "lon", "lat", "geometry"]], slots], axis=1)
    for c in ("speed_kmh", "free_flow_kmh"):
        out[c] = out[c].round(1)
    return out.drop(columns="seg").sort_values(["slot", "segment_id"]).reset_index(drop=True)


DAY_TYPES = ("weekday", "weekend")  # Monday to Friday; Saturday and Sunday


def day_types(days: pd.Series) -> pd.Series:
    """``weekday`` or ``weekend`` of each day (``YYYY-MM-DD``), worked out once per distinct day."""
    distinct = pd.Series(days.unique())
    weekend = pd.to_datetime(distinct).dt.day_of_week.to_numpy() >= 5
    kinds = dict(zip(distinct, np.where(weekend, DAY_TYPES[1], DAY_TYPES[0]), strict=True))
    return days.map(kinds)


def recurring(slots: pd.DataFrame, min_days: int) -> pd.DataFrame:
    """Segments congested again and again at the same hour of the same kind of day (weekdays and
    weekends apart: a jam of the commute is not diluted by the weekends' free roads, nor is a
    weekend market's jam by the weekdays): per segment, day type and hour, the days it was
    observed, the days it was congested (``min_days`` or more kept), their share, the mean speed
    and free-flow speed of those days, and the last such day."""
    columns = ["segment_id", "road_name", "lon", "lat", "day_type", "hour", "days_observed",
               "days_congested", "share", "speed_kmh", "free_flow_kmh", "last_day"]  # fmt: skip
    if slots.empty:
        return pd.DataFrame({c: [] for c in columns})
    slots = slots.assign(day_type=day_types(slots["day"].astype(str)))
    keys = ["segment_id", "road_name", "lon", "lat", "day_type", "hour"]
    seen = slots.groupby(keys)["day"].nunique().rename("days_observed")
    jammed = slots.loc[slots["level"] == "congested"]
    agg = jammed.groupby(keys).agg(
        days_congested=("day", "nunique"),
        speed_kmh=("speed_kmh", "mean"),
        free_flow_kmh=("free_flow_kmh", "mean"),
        last_day=("day", "max"),
    )
    out = agg.join(seen).reset_index()
    out = out.loc[out["days_congested"] >= min_days].copy()
    out["share"] = out["days_congested"] / out["days_observed"]
    return out[columns].sort_values(["segment_id", "day_type", "hour"]).reset_index(drop=True)
