"""Cleaning GPS tracks in the engine (Ibis, so DuckDB and Spark alike): real terminals repeat
points, send them out of order, jump, fall silent, report 0,0 and speeds no truck can reach.

None of that may raise a violation on its own, and none of it may crash a run:

- a ping without plate or time, or with coordinates off the globe or at 0,0, is left out and
  counted (``PingCounts``), never silently dropped;
- two pings of one truck at the same instant are one ping (positions averaged);
- pings are ordered by time per truck, whatever order they arrived in;
- a lone jump (a point far from both neighbours, reached at an impossible speed) is left out;
- a reported speed beyond what a truck can do is treated as unknown, and the speed implied by
  the neighbouring points is used instead; without a plausible reported speed a truck stands
  only if it also stayed within ``drift_m`` of its last fix (over a sparse terminal's 20-minute
  gap, 1 km is a slow average, not a stop).

Distances are metres on a local equirectangular plane (errors far below GPS noise over a city).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQUATOR = 111_320.0


@dataclass(frozen=True)
class TrackRules:
    max_kmh: float = 150.0  # a point reached faster than this from both neighbours is a jump
    stop_kmh: float = 5.0  # at or below: standing
    drift_m: float = 100.0  # without a speed, standing means no farther than this from the last fix
    day_start_hour: int = 6  # a night shift belongs to the day it began on


def _metres(lon1: ir.FloatingValue, lat1: ir.FloatingValue, lon2: ir.FloatingValue,
            lat2: ir.FloatingValue) -> ir.FloatingValue:  # fmt: skip
    mid = ((lat1 + lat2) / 2.0).radians()
    dx = (lon2 - lon1) * M_PER_DEG_LON_EQUATOR * mid.cos()
    dy = (lat2 - lat1) * M_PER_DEG_LAT
    return (dx * dx + dy * dy).sqrt()


#: places are averaged in billionths of a degree (about 0.1 mm), see `mean_place`
PLACE_UNITS = 1e9


def mean_place(degrees: ir.FloatingValue, where: ir.BooleanValue | None = None) -> ir.FloatingValue:
    """The mean of a coordinate column (of the rows ``where`` holds), the same whatever order
    the engine sums in: summed as whole billionths of a degree (exact), divided once. A float mean
    of pings sums them in the order the engine's threads took, and a terminal's 6-decimal
    fixes often average to a tie at the 7th decimal the findings are rounded to: the place
    then moved by 1e-7 degrees with DuckDB's thread count (about 2 % of the days' places on a
    10 M-record city, 1 thread against 2)."""
    units = (degrees * PLACE_UNITS).round().cast("int64")
    total = units.sum(where=where).cast("float64")
    # a product of integers, exact (1e-9 is no double: dividing by it is not)
    return total / (degrees.count(where=where).cast("float64") * PLACE_UNITS)


def valid_pings(pings: ir.Table) -> ir.Table:
    """Pings a track can use: a plate, a time, coordinates on the globe and not at 0,0."""
    lon, lat = pings.lon.cast("float64"), pings.lat.cast("float64")
    return pings.filter(
        pings.plate.notnull(),
        pings.plate.strip() != "",
        pings.ts.notnull(),
        lon.notnull(),
        lat.notnull(),
        lon.between(-180.0, 180.0),
        lat.between(-90.0, 90.0),
        (lon.abs() > 1e-6) | (lat.abs() > 1e-6),
    )


def _neighbours(t: ir.Table) -> ir.Table:
    w = ibis.window(group_by="plate", order_by="ts")
    prev_lon, prev_lat, prev_ts = t.lon.lag().over(w), t.lat.lag().over(w), t.ts.lag().over(w)
    next_lon, next_lat, next_ts = t.lon.lead().over(w), t.lat.lead().over(w), t.ts.lead().over(w)
    return t.mutate(
        d_prev=_metres(prev_lon, prev_lat, t.lon, t.lat),
        dt_prev=t.ts.epoch_seconds().cast("float64") - prev_ts.epoch_seconds().cast("float64"),
        d_next=_metres(t.lon, t.lat, next_lon, next_lat),
        dt_next=next_ts.epoch_seconds().cast("float64") - t.ts.epoch_seconds().cast("float64"),
        prev_ts=prev_ts,
    )


def _kmh(d: ir.FloatingValue, dt: ir.NumericValue) -> ir.FloatingValue:
    return ibis.ifelse(dt > 0, d / dt * 3.6, ibis.null("float64"))


def _jump(v_prev: ir.FloatingValue, v_next: ir.FloatingValue, limit: float) -> ir.BooleanValue:
    """Reached and left at an impossible speed (at a track's end, the one side there is)."""
    fast_in, fast_out = v_prev > limit, v_next > limit
    both = fast_in.fill_null(True) & fast_out.fill_null(True)
    return both & (v_prev.notnull() | v_next.notnull())


def clean_track(pings: ir.Table, rules: TrackRules) -> ir.Table:
    """One row per truck and instant, in time order per truck, jumps left out, with
    ``moving_kmh`` (reported speed if plausible, else implied), ``standing``, ``shift_date`` and
    ``agrees`` (both neighbours reachable at a truck's speed)."""
    valid = valid_pings(pings)
    has_loaded = "loaded" in valid.columns
    has_speed = "speed" in valid.columns
    one = valid.group_by(["plate", "ts"]).aggregate(
        lon=valid.lon.cast("float64").mean(),
        lat=valid.lat.cast("float64").mean(),
        speed=valid.speed.cast("float64").max() if has_speed else ibis.null("float64"),
        loaded=valid.loaded.cast("int8").max() if has_loaded else ibis.null("int8"),
        copies=valid.count(),
    )
    first = _neighbours(one)
    v_prev, v_next = _kmh(first.d_prev, first.dt_prev), _kmh(first.d_next, first.dt_next)
    kept = first.filter(~_jump(v_prev, v_next, rules.max_kmh)).select(
        "plate", "ts", "lon", "lat", "speed", "loaded", "copies"
    )
    t = _neighbours(kept)
    implied = _kmh(t.d_prev, t.dt_prev)
    reported = ibis.ifelse(t.speed.between(0.0, rules.max_kmh), t.speed, ibis.null("float64"))
    moving = reported.fill_null(implied)
    shift = (t.ts - ibis.interval(hours=rules.day_start_hour)).date()
    # standing: as the terminal says; without a plausible speed, only a truck that stayed put
    # (a slow average over a long gap — 1 km in 20 minutes — is no stop: it drove and paused)
    stayed = (implied <= rules.stop_kmh) & (t.d_prev <= rules.drift_m)
    standing = ibis.ifelse(
        reported.notnull(), reported <= rules.stop_kmh, stayed.fill_null(False)
    ).fill_null(False)
    # a fix reached from, or left for, a neighbour faster than a truck can go disagrees with it
    # (one of the two is wrong; which one, three points cannot tell)
    fast = (implied > rules.max_kmh) | (_kmh(t.d_next, t.dt_next) > rules.max_kmh)
    return t.mutate(
        agrees=~fast.fill_null(False),
        speed_ok=reported,
        moving_kmh=moving,
        standing=standing,
        shift_date=shift,
        minute=t.ts.hour().cast("int64") * 60 + t.ts.minute().cast("int64"),
    )


def ping_counts(pings: ir.Table, rules: TrackRules) -> dict[str, ir.Scalar]:
    """How many pings were received, unusable, repeated and jumps: the flags a track carries."""
    valid = valid_pings(pings)
    one = valid.group_by(["plate", "ts"]).aggregate(lon=valid.lon.mean(), lat=valid.lat.mean())
    first = _neighbours(one)
    jump = _jump(
        _kmh(first.d_prev, first.dt_prev), _kmh(first.d_next, first.dt_next), rules.max_kmh
    )
    return {
        "received": pings.count(),
        "usable": valid.count(),
        "instants": one.count(),
        "jumps": jump.cast("int64").sum(),
    }
