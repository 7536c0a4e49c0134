"""From the engine's per-day and per-stop rows to one table of violations, one row each:
plate, kind, period, score, place and the figures its reasons quote."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from citybrain.topics.builtin.muck_trucks import rules
from citybrain.topics.builtin.muck_trucks.corridor import (
    CorridorRules,
    off_route_runs,
    read_corridors,
)
from citybrain.topics.builtin.muck_trucks.track import TrackRules, clean_track

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from citybrain.core.engine import Engine

KINDS = ("outside_hours", "illegal_dumping", "no_permit", "speeding", "off_route")
COLUMNS = ["plate", "kind", "period", "score", "lon", "lat", "observed", "expected", "extra"]


def find_violations(
    engine: Engine,
    pings: ir.Table,
    permits: ir.Table,
    sites: ir.Table | None,
    track_rules: TrackRules,
    limits: rules.RuleLimits,
    corridor: CorridorRules | None = None,
) -> pd.DataFrame:
    pings = rules.muck_pings(pings, permits)  # other fleets (taxis) share std.vehicle_ping
    track = clean_track(pings, track_rules)
    pinged = rules.with_permits(track, rules.permit_windows(permits))
    days = engine.to_pandas(rules.daily(pinged, limits))
    stop_rows = engine.to_pandas(rules.stops(pinged, limits))
    site_rows = (
        engine.to_pandas(sites.select("lon", "lat"))
        if sites is not None
        else pd.DataFrame({"lon": [], "lat": []})
    )
    parts = [
        _outside_hours(days, limits),
        _no_permit(days),
        _speeding(days, limits),
        _dumping(stop_rows, site_rows, limits),
    ]
    corridor = corridor or CorridorRules()
    routes = read_corridors(engine, permits, corridor.corridor_m)
    if routes is not None:  # permits with an approved route: driving off it
        parts.append(_off_route(off_route_runs(engine, track, routes, corridor)))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: [] for c in COLUMNS})
    found = pd.concat(parts, ignore_index=True)
    return found[COLUMNS].sort_values(["kind", "plate", "period"], ignore_index=True)


def _day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d")


def _ramp(values: np.ndarray, full: float) -> np.ndarray:
    """0.6 at the rule's edge, rising to 1.0 at ``full`` times the edge's evidence."""
    out: np.ndarray = 0.6 + 0.4 * np.clip(values / full, 0.0, 1.0)
    return out


def _outside_hours(days: pd.DataFrame, limits: rules.RuleLimits) -> pd.DataFrame:
    minutes = (
        pd.to_datetime(days["outside_last"]) - pd.to_datetime(days["outside_first"])
    ).dt.total_seconds().fillna(0) / 60  # fmt: skip
    hit = (days["outside_pings"] >= limits.min_outside_pings) & (
        minutes >= limits.min_outside_minutes
    )
    rows = days.loc[hit]
    m = minutes[hit].to_numpy(float)
    return pd.DataFrame(
        {
            "plate": rows["plate"],
            "kind": "outside_hours",
            "period": _day(rows["shift_date"]),
            "score": _ramp(m, 120.0),
            "lon": rows["outside_lon"],
            "lat": rows["outside_lat"],
            "observed": np.round(m),
            "expected": 0.0,
            "extra": rows["outside_pings"].astype(float),
        }
    )


def _no_permit(days: pd.DataFrame) -> pd.DataFrame:
    if days.empty:
        return days
    d = days.loc[days["unpermitted_pings"] > 0].copy()
    d["month"] = pd.to_datetime(d["shift_date"]).dt.strftime("%Y-%m")
    g = d.groupby(["plate", "month"], as_index=False).agg(
        days=("shift_date", "nunique"),
        pings=("unpermitted_pings", "sum"),
        lon=("lon", "mean"),
        lat=("lat", "mean"),
    )
    return pd.DataFrame(
        {
            "plate": g["plate"],
            "kind": "no_permit",
            "period": g["month"],
            "score": _ramp(g["days"].to_numpy(float), 5.0),
            "lon": g["lon"],
            "lat": g["lat"],
            "observed": g["days"].astype(float),
            "expected": 0.0,
            "extra": g["pings"].astype(float),
        }
    )


def _speeding(days: pd.DataFrame, limits: rules.RuleLimits) -> pd.DataFrame:
    rows = days.loc[days["fast_pings"] >= limits.min_speeding_pings]
    over = rows["max_speed"].to_numpy(float) - limits.speed_limit_kmh
    return pd.DataFrame(
        {
            "plate": rows["plate"],
            "kind": "speeding",
            "period": _day(rows["shift_date"]),
            "score": _ramp(over, 30.0),
            "lon": rows["fast_lon"],
            "lat": rows["fast_lat"],
            "observed": rows["max_speed"].astype(float),
            "expected": limits.speed_limit_kmh,
            "extra": rows["fast_pings"].astype(float),
        }
    )


def _dumping(stops: pd.DataFrame, sites: pd.DataFrame, limits: rules.RuleLimits) -> pd.DataFrame:
    if stops.empty:
        return stops
    distance = rules.distance_to_sites(
        stops["lon"].to_numpy(float), stops["lat"].to_numpy(float), sites
    )
    loaded = stops["loaded"].isna() | (stops["loaded"] == 1)  # unknown load: still suspect
    hit = loaded.to_numpy() & (distance > limits.site_radius_m)
    rows = stops.loc[hit].assign(distance=distance[hit])
    return _longest_of_the_day(
        rows, "illegal_dumping", 30.0, np.round(np.minimum(rows["distance"].to_numpy(float), 1e7))
    )


def _longest_of_the_day(
    rows: pd.DataFrame, kind: str, full_minutes: float, extra: np.ndarray[Any, Any] | pd.Series
) -> pd.DataFrame:
    """One finding per truck and day: its longest stop or run (``minutes``) speaks for it, scored
    full at ``full_minutes``; ``extra`` is per row of ``rows``."""
    rows = rows.assign(extra=np.asarray(extra, float))
    rows = rows.sort_values("minutes", ascending=False).drop_duplicates(["plate", "shift_date"])
    return pd.DataFrame(
        {
            "plate": rows["plate"],
            "kind": kind,
            "period": _day(rows["shift_date"]),
            "score": _ramp(rows["minutes"].to_numpy(float), full_minutes),
            "lon": rows["lon"],
            "lat": rows["lat"],
            "observed": np.round(rows["minutes"].to_numpy(float)),
            "expected": 0.0,
            "extra": rows["extra"],
        }
    )


def _off_route(runs: pd.DataFrame) -> pd.DataFrame:
    """One finding per truck and day: its longest run off the route speaks for it."""
    if runs.empty:
        return runs
    return _longest_of_the_day(runs, "off_route", 60.0, runs["pings"].astype(float))
