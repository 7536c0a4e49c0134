"""The rules a muck truck can break, found on clean tracks (Ibis in the engine; only one row per
truck-day, per stop and per truck-month comes back to Python).

- ``outside_hours``: driving (not standing) outside the hours its valid permit allows (without a
  permit, the city's hours for muck trucks, ``default_hours``), for at
  least ``min_outside_pings`` pings over ``min_outside_minutes`` (one stray timestamp is no trip);
- ``no_permit``: driving on days with no valid permit for the plate (one finding per truck-month);
- ``speeding``: at least ``min_speeding_pings`` plausible reported speeds above the limit in a day;
- ``illegal_dumping``: a loaded truck standing ``min_stop_minutes`` or more (``min_stop_pings``
  pings at least) farther than ``site_radius_m`` from every construction and disposal site. A
  sparse terminal may show a stop as one ping (or a few) reporting standing: it then stands for
  its own span plus half the time the neighbours leave spare (``dwell_minutes``: the gap to the
  ping before and after, less the time to drive there at ``reach_kmh``), and only when each
  neighbour, at most ``max_stop_gap_minutes`` away, leaves half the shortest stop — a fix 20 km
  from fixes 20 minutes away (a jump whose real fix was lost) left no time to stand there, and
  after a long silence a lone fix says nothing. Standing fixes farther apart than
  ``stop_radius_m`` are two stops, never one (two "standing" jumps in a row are no stop). The
  live detector uses the same functions (``new_stop``, ``dwell_minutes``).

Only muck trucks are judged (``muck_pings``): ``std.vehicle_ping`` also holds other fleets (the
taxis' floating-car pings road_traffic reads). A muck truck is a plate that holds a transport
permit or whose terminal reports its load (重车/空车); a taxi does neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import shapely

from citybrain.topics.builtin.muck_trucks.track import (
    M_PER_DEG_LAT,
    M_PER_DEG_LON_EQUATOR,
    mean_place,
)

HOURS = r"^\s*(\d{1,2})[:：](\d{2})\s*[-~—至到]\s*(\d{1,2})[:：](\d{2})\s*$"
FAR_PAST, FAR_FUTURE = "1900-01-01", "2999-12-31"


@dataclass(frozen=True)
class RuleLimits:
    speed_limit_kmh: float = 60.0
    min_speeding_pings: int = 2
    min_outside_pings: int = 3
    min_outside_minutes: float = 15.0
    min_stop_pings: int = 2
    min_stop_minutes: float = 8.0
    max_stop_gap_minutes: float = 30.0
    single_ping_stops: bool = True  # a short standing run counts by dwell_minutes (sparse)
    reach_kmh: float = 40.0  # a loaded muck truck's average road speed in town (to reach a stop)
    stop_radius_m: float = 200.0  # a standing fix farther than this from the one before: a new stop
    site_radius_m: float = 150.0


def load_reporters(pings: ir.Table) -> ir.Table:
    """The plates (``m_plate``, stripped) whose terminal reports a load status on some ping of
    ``pings``, which must have a ``loaded`` column."""
    reporting = pings.filter(pings.plate.notnull() & pings.loaded.notnull())
    return reporting.select(m_plate=reporting.plate.strip()).distinct()


def muck_pings(
    pings: ir.Table, permits: ir.Table | None, fleet: ir.Table | None = None
) -> ir.Table:
    """The pings of muck trucks only: plates that hold a transport permit (any time) or whose
    terminal reports a load status on some ping. Without a load column every ping is kept (the
    source cannot tell its fleets apart); without permits (``None``), the load status alone
    decides. air_quality's evidence uses the same rule. ``fleet``: the plates known to report a
    load status (``m_plate``, as `load_reporters` gives them), when ``pings`` are not all there
    are (a nightly run's days); by default those of ``pings``."""
    if "loaded" not in pings.columns:
        return pings
    trucks = load_reporters(pings) if fleet is None else fleet.select("m_plate")
    if permits is not None:
        holders = permits.filter(permits.plate.notnull())
        trucks = trucks.union(holders.select(m_plate=holders.plate.strip()))
    trucks = trucks.distinct()
    # a ping without a plate stays: the track cleaning leaves it out and counts it
    kept = pings.left_join(trucks, pings.plate.strip() == trucks.m_plate)
    return kept.filter(kept.plate.isnull() | kept.m_plate.notnull()).drop("m_plate")


def permit_windows(permits: ir.Table) -> ir.Table:
    """Per permit: plate, validity (open ends when missing) and allowed minutes of the day
    (``start``/``end``; null when the text cannot be read, which allows every hour)."""
    hours = permits.allowed_hours.cast("string")
    start = hours.re_extract(HOURS, 1).nullif("").cast("int64") * 60 + hours.re_extract(
        HOURS, 2
    ).nullif("").cast("int64")
    end = hours.re_extract(HOURS, 3).nullif("").cast("int64") * 60 + hours.re_extract(
        HOURS, 4
    ).nullif("").cast("int64")
    return permits.filter(permits.plate.notnull()).select(
        p_plate=permits.plate.strip(),
        permit_no=permits.permit_no,
        valid_from=permits.valid_from.cast("date").fill_null(ibis.date(FAR_PAST)),
        valid_to=permits.valid_to.cast("date").fill_null(ibis.date(FAR_FUTURE)),
        start=start,
        end=end,
    )


def permits_overlap(windows: pd.DataFrame) -> bool:
    """Whether a plate holds two permits valid on a common day (`permit_windows`, read: a city
    has a few thousand), so that a ping can meet more than one of them."""
    w = pd.DataFrame(
        {
            "plate": windows["p_plate"],
            **{c: windows[c].to_numpy().astype("datetime64[D]").astype("int64")
               for c in ("valid_from", "valid_to")},
        }
    ).sort_values(["plate", "valid_from", "valid_to"], ignore_index=True)  # fmt: skip
    same = w["plate"].eq(w["plate"].shift())
    # the latest end of the plate's permits before each, against its start
    ended = w.groupby("plate")["valid_to"].cummax().shift()
    return bool((same & (w["valid_from"] <= ended)).any())


def with_permits(
    track: ir.Table,
    windows: ir.Table,
    default_hours: tuple[int, int] = (22 * 60, 6 * 60),
    overlapping: bool = True,
) -> ir.Table:
    """Each clean ping with ``permitted`` (a permit valid that day) and ``allowed`` (its hours).
    ``overlapping``: whether a ping can meet two permits (`permits_overlap`); when none can, each
    ping keeps the one row it joins and needs no grouping back to one per ping."""
    j = track.left_join(
        windows,
        [
            track.plate.strip() == windows.p_plate,
            track.shift_date >= windows.valid_from,
            track.shift_date <= windows.valid_to,
        ],
    )
    # no valid permit: the city's hours for muck trucks apply (its driving is flagged as no_permit)
    m = j.minute
    s = ibis.ifelse(j.permit_no.isnull(), default_hours[0], j.start)
    e = ibis.ifelse(j.permit_no.isnull(), default_hours[1], j.end)
    in_hours = ibis.cases(
        (s.isnull() | e.isnull() | (s == e), True),
        (s < e, (m >= s) & (m < e)),
        else_=(m >= s) | (m < e),
    )
    keys = ["plate", "ts", "lon", "lat", "speed_ok", "moving_kmh", "standing", "loaded",
            "shift_date", "dt_prev", "dt_next", "d_prev", "d_next", "agrees"]  # fmt: skip
    if not overlapping:  # a fourteen-key group-by of every ping was a fifth of the cleaning
        return j.select(*keys, permitted=j.permit_no.notnull(), allowed=in_hours)
    return j.group_by(keys).aggregate(
        permitted=j.permit_no.notnull().cast("int8").max() == 1,
        allowed=in_hours.cast("int8").max() == 1,
    )


def daily(pinged: ir.Table, limits: RuleLimits) -> ir.Table:
    """One row per truck and shift day: what it did outside its hours, without a permit, fast."""
    outside = ~pinged.allowed & ~pinged.standing
    fast = pinged.speed_ok > limits.speed_limit_kmh
    return pinged.group_by(["plate", "shift_date"]).aggregate(
        pings=pinged.count(),
        outside_pings=outside.cast("int64").sum(),
        outside_first=pinged.ts.min(where=outside),
        outside_last=pinged.ts.max(where=outside),
        outside_lon=mean_place(pinged.lon, outside),
        outside_lat=mean_place(pinged.lat, outside),
        unpermitted_pings=(~pinged.permitted).cast("int64").sum(),
        fast_pings=fast.cast("int64").sum(),
        max_speed=pinged.speed_ok.max(),
        fast_lon=mean_place(pinged.lon, fast),
        fast_lat=mean_place(pinged.lat, fast),
        lon=mean_place(pinged.lon),
        lat=mean_place(pinged.lat),
        first=pinged.ts.min(),
        last=pinged.ts.max(),
    )


def dwell_minutes(
    span_s: Any, before_s: Any, before_m: Any, after_s: Any, after_m: Any, limits: RuleLimits
) -> tuple[Any, Any]:
    """How long a run of standing pings stood (minutes), and whether both neighbours support it.

    The run's own span (``span_s`` seconds, 0 for a lone ping) plus half the time each neighbour
    leaves spare: the gap to it (``before_s``/``after_s``) less the time to drive the distance
    to it (``before_m``/``after_m``) at ``reach_kmh``, each side counted up to the longest gap a
    stop may span (a longer silence says nothing about where the truck stood). Supported: both
    sides, each at most ``max_stop_gap_minutes`` away, leave half the shortest stop to spare (a
    missing neighbour — null or NaN — supports nothing, a longer silence neither).

    One rule for the nightly run and the live detector: arithmetic and comparisons only, so the
    arguments may be Ibis columns or NumPy arrays alike."""
    speed = limits.reach_kmh / 3.6
    cap = limits.max_stop_gap_minutes * 60.0
    spare_before = before_s - before_m / speed
    spare_after = after_s - after_m / speed
    minutes = (span_s + (spare_before.clip(None, cap) + spare_after.clip(None, cap)) / 2) / 60.0
    least = limits.min_stop_minutes * 30.0  # half the shortest stop, in seconds
    supported = (spare_before >= least) & (spare_after >= least)
    return minutes, supported & (before_s <= cap) & (after_s <= cap)


def new_stop(
    standing: Any, standing_before: Any, gap_s: Any, moved_m: Any, limits: RuleLimits
) -> Any:
    """Where a run of standing fixes begins: a standing fix after a moving one, after a silence
    longer than a stop may span, or farther than ``stop_radius_m`` from the standing fix before
    (Ibis columns or NumPy arrays; nulls/NaN already filled by the caller)."""
    far = (gap_s > limits.max_stop_gap_minutes * 60) | (moved_m > limits.stop_radius_m)
    return standing & (~standing_before | far)


def stops(pinged: ir.Table, limits: RuleLimits) -> ir.Table:
    """Runs of standing pings of one truck (``new_stop``) that are stops: measured (pings over
    ``min_stop_minutes``) or, for a sparse terminal, long enough by ``dwell_minutes``."""
    w = ibis.window(group_by="plate", order_by="ts")
    before = pinged.standing.lag().over(w).fill_null(False)
    new_run = new_stop(
        pinged.standing, before, pinged.dt_prev.fill_null(0), pinged.d_prev.fill_null(0), limits
    )
    marked = pinged.mutate(new_run=new_run.cast("int64")).select(
        "plate", "ts", "lon", "lat", "loaded", "shift_date", "permitted", "standing", "new_run",
        "speed_ok", "dt_prev", "dt_next", "d_prev", "d_next",
    )  # fmt: skip
    marked = marked.filter(marked.standing)  # a filter: the windows below see a finished column
    runs = marked.mutate(run=marked.new_run.cumsum(group_by="plate", order_by="ts"))
    agg = runs.group_by(["plate", "run"]).aggregate(
        start=runs.ts.min(),
        end=runs.ts.max(),
        pings=runs.count(),
        lon=mean_place(runs.lon),
        lat=mean_place(runs.lat),
        loaded=runs.loaded.max(),
        shift_date=runs.shift_date.min(),
        permitted=runs.permitted.cast("int8").max() == 1,
        reported=runs.speed_ok.notnull().all(),
        gap_before=runs.dt_prev.argmin(runs.ts),
        metres_before=runs.d_prev.argmin(runs.ts),
        gap_after=runs.dt_next.argmax(runs.ts),
        metres_after=runs.d_next.argmax(runs.ts),
    )
    span = agg.end.epoch_seconds().cast("float64") - agg.start.epoch_seconds().cast("float64")
    measured = (agg.pings >= limits.min_stop_pings) & (span / 60.0 >= limits.min_stop_minutes)
    # sparse terminals: the run's span plus the time its neighbours leave spare (one rule with
    # the live detector; neighbours that leave time at a truck's speed agree with it)
    dwell, supported = dwell_minutes(
        span, agg.gap_before, agg.metres_before, agg.gap_after, agg.metres_after, limits
    )
    sparse = agg.reported & supported.fill_null(False)
    sparse &= dwell >= limits.min_stop_minutes
    if not limits.single_ping_stops:
        sparse = ibis.literal(False)
    return agg.mutate(minutes=ibis.ifelse(measured, span / 60.0, dwell)).filter(measured | sparse)


def distance_to_sites(lon: np.ndarray, lat: np.ndarray, sites: pd.DataFrame) -> np.ndarray:
    """Metres from each point to the nearest site (inf when no site is known)."""
    known = sites.dropna(subset=["lon", "lat"])
    if len(lon) == 0 or known.empty:
        return np.full(len(lon), np.inf)
    lat0 = float(np.nanmedian(known["lat"]))
    kx = M_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat0))

    def points(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out: np.ndarray = shapely.points(x * kx, (y - lat0) * M_PER_DEG_LAT)
        return out

    here = points(np.asarray(lon, float), np.asarray(lat, float))
    places = shapely.multipoints(points(known["lon"].to_numpy(float), known["lat"].to_numpy(float)))
    distance: np.ndarray = shapely.distance(here, places)
    return distance
