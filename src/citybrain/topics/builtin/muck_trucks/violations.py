"""From the engine's per-day and per-stop rows to one table of violations, one row each:
plate, kind, period, score, place and the figures its reasons quote.

In two steps, so that a nightly run can keep the days it does not recompute (`day_rows`, the
topic's state): one row per truck and shift day (``day``) of each kind found on a day
(outside_hours, speeding, illegal_dumping, off_route) and, for ``no_permit``, which is per truck
and month, the day's part of it (``no_permit_day``: its pings without a permit, its mean place);
then the violations of all days from those rows (`violations_from`)."""

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
#: a day's part of a truck's month without a permit: a row of `day_rows`, no violation itself
NO_PERMIT_DAY = "no_permit_day"
DAY_COLUMNS = ["plate", "kind", "day", *COLUMNS[2:]]


def find_violations(
    engine: Engine,
    pings: ir.Table,
    permits: ir.Table,
    sites: ir.Table | None,
    track_rules: TrackRules,
    limits: rules.RuleLimits,
    corridor: CorridorRules | None = None,
) -> pd.DataFrame:
    """The violations of ``pings`` (all days)."""
    return violations_from(day_rows(engine, pings, permits, sites, track_rules, limits, corridor))


def day_rows(
    engine: Engine,
    pings: ir.Table,
    permits: ir.Table,
    sites: ir.Table | None,
    track_rules: TrackRules,
    limits: rules.RuleLimits,
    corridor: CorridorRules | None = None,
    fleet: ir.Table | None = None,
) -> pd.DataFrame:
    """One row per truck, shift day (``day``, ``YYYY-MM-DD``) and kind (``DAY_COLUMNS``): the
    day's violation of each kind found on a day, and its part of the month without a permit
    (``NO_PERMIT_DAY``). ``fleet``: the plates known to report a load status (`rules.muck_pings`),
    by default those of ``pings``."""
    pings = rules.muck_pings(pings, permits, fleet)  # other fleets (taxis) share the table
    track = clean_track(pings, track_rules)
    # the cleaned track with its permits is made once, in the engine (a temporary table on
    # DuckDB, a cached DataFrame on Spark), and every rule reads it: cleaning it again for each
    # of the four queries was three quarters of the step (Ibis `cache`; released below)
    windows = rules.permit_windows(permits)
    overlapping = rules.permits_overlap(engine.to_pandas(windows))
    pinged = rules.with_permits(track, windows, overlapping=overlapping).cache()
    try:
        return _rows_of(engine, pinged, permits, sites, limits, corridor, overlapping)
    finally:
        pinged.release()


def _rows_of(
    engine: Engine,
    pinged: ir.Table,
    permits: ir.Table,
    sites: ir.Table | None,
    limits: rules.RuleLimits,
    corridor: CorridorRules | None,
    overlapping: bool,
) -> pd.DataFrame:
    """`day_rows` of the cleaned track with its permits (`rules.with_permits`; one row per truck
    and instant, as the track, so the off-route rule reads it as the track)."""
    days = engine.to_pandas(rules.daily(pinged, limits))
    stop_rows = engine.to_pandas(rules.stops(pinged, limits))
    site_rows = (
        engine.to_pandas(sites.select("lon", "lat"))
        if sites is not None
        else pd.DataFrame({"lon": [], "lat": []})
    )
    parts = [
        _outside_hours(days, limits),
        _no_permit_days(days),
        _speeding(days, limits),
        _dumping(stop_rows, site_rows, limits),
    ]
    corridor = corridor or CorridorRules()
    routes = read_corridors(engine, permits, corridor.corridor_m)
    if routes is not None:  # permits with an approved route: driving off it
        runs = off_route_runs(engine, pinged, routes, corridor, overlapping)
        parts.append(_off_route(runs))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: [] for c in DAY_COLUMNS})
    found = pd.concat(parts, ignore_index=True)
    return found[DAY_COLUMNS].sort_values(["kind", "plate", "day"], ignore_index=True)


def violations_from(rows: pd.DataFrame) -> pd.DataFrame:
    """The violations of the days of ``rows`` (`day_rows`, of one run or kept from several):
    the day kinds as they are, ``no_permit`` made per truck and month from its days."""
    # one order whatever order the days came in: the month's means then sum alike
    rows = rows.sort_values(["kind", "plate", "day"], ignore_index=True)
    on_days = rows.loc[rows["kind"] != NO_PERMIT_DAY]
    parts = [on_days[COLUMNS], _no_permit(rows.loc[rows["kind"] == NO_PERMIT_DAY])]
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
            "day": _day(rows["shift_date"]),
            "period": _day(rows["shift_date"]),
            "score": _ramp(m, 120.0),
            "lon": rows["outside_lon"],
            "lat": rows["outside_lat"],
            "observed": np.round(m),
            "expected": 0.0,
            "extra": rows["outside_pings"].astype(float),
        }
    )


def _no_permit_days(days: pd.DataFrame) -> pd.DataFrame:
    """Each truck-day with pings without a valid permit: their count (``extra``) and the day's
    mean place, what its month's finding is made of (`_no_permit`)."""
    d = days.loc[days["unpermitted_pings"] > 0]
    if d.empty:
        return pd.DataFrame({c: [] for c in DAY_COLUMNS})
    day = _day(d["shift_date"])
    return pd.DataFrame(
        {
            "plate": d["plate"],
            "kind": NO_PERMIT_DAY,
            "day": day,
            "period": day.str.slice(0, 7),
            "score": 0.0,
            "lon": d["lon"],
            "lat": d["lat"],
            "observed": 1.0,
            "expected": 0.0,
            "extra": d["unpermitted_pings"].astype(float),
        }
    )


def _no_permit(days: pd.DataFrame) -> pd.DataFrame:
    """One finding per truck and month from its days without a permit (`_no_permit_days`)."""
    if days.empty:
        return days
    g = days.groupby(["plate", "period"], as_index=False).agg(
        days=("day", "nunique"),
        pings=("extra", "sum"),
        lon=("lon", "mean"),
        lat=("lat", "mean"),
    )
    return pd.DataFrame(
        {
            "plate": g["plate"],
            "kind": "no_permit",
            "period": g["period"],
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
            "day": _day(rows["shift_date"]),
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
            "day": _day(rows["shift_date"]),
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
