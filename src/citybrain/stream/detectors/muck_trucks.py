"""The muck-truck rules as an incremental detector on live GPS (渣土车 实时): the same cleaning and
rules as the batch topic (``citybrain.topics.builtin.muck_trucks``), one micro-batch at a time.

Each batch is worked on whole (NumPy and pandas over the batch, never a loop over pings); what a
truck needs from the batches before lives in the state, a JSON value the runner saves with the
batch's events:

- ``pending``: each truck's newest point, not judged yet — a point is only known to be a jump
  once the next one arrives (reached and left at an impossible speed);
- ``last``: each truck's newest accepted point; a point older than it arrives late and is
  counted, not used (``counts.late``);
- ``stop``: each truck's stop still going on (start, last, points, position sums, loaded, shift
  day, speeds reported, the gap and distance to the point before it, its last position) — judged
  by the batch topic's own rule (``rules.new_stop``, ``rules.dwell_minutes``) once the point
  after it arrives, in this batch or a later one;
- ``days``: per truck and shift day, the pings driven outside the allowed hours and above the
  speed limit (kept ``keep_days`` days);
- ``flagged``: violations already raised (a violation is raised once per truck, day and kind);
- ``off``: each truck's run of moving points off its permit's route still going on (start, points,
  position sums, shift day, last time) — raised as ``off_route`` once long enough, as in batch.

Each violation is an alert: a ``truck.violation`` event carrying its finding (topic
``muck_trucks``, the truck's plate, the shift day, a score as the batch topic's, one reason in
zh/en), which the runner stores and routes to the department as a case.

Before the first batch the runner binds the detector to the workspace (:meth:`bind`): the
construction and disposal sites (``std.site``) switch the dumping rule on, and each plate's
permitted hours come from its newest transport permit (``std.transport_permit``); a plate
without one is held to the city's hours. That permit's approved route (a WKT line), buffered by
``corridor.corridor_m`` with Shapely, is the corridor the off-route rule holds the truck to.

Pings at 0,0, without plate or time, off the globe: counted (``counts.unusable``), never a crash.
Repeated pings (same truck, same instant) are one. Reported speeds no truck reaches are unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from citybrain.stream.detector import DetectorContext, StreamBatch, StreamEvent
from citybrain.stream.livesources import MUCK_TRUCK_SOURCE
from citybrain.topics import Level
from citybrain.topics.builtin.muck_trucks.corridor import CorridorRules
from citybrain.topics.builtin.muck_trucks.rules import (
    RuleLimits,
    distance_to_sites,
    dwell_minutes,
    new_stop,
    permit_windows,
)
from citybrain.topics.builtin.muck_trucks.track import (
    M_PER_DEG_LAT,
    M_PER_DEG_LON_EQUATOR,
    TrackRules,
)

# the muck_truck_gps contract's delivered columns (a live source delivering others names its own)
GPS_COLUMNS = {
    "plate": "vehicle_no",
    "time": "gps_time",
    "lon": "lng",
    "lat": "lat",
    "speed": "speed",
    "loaded": "load_status",
}
DAY = 86_400.0
TOPIC = "muck_trucks"
MODEL_VERSION = "live-1"
# (evidence at which the score is full, zh, en): the batch topic's scores and texts, one reason
_FINDING = {
    "outside_hours": (
        120.0, "在准运时段外行驶约{n}分钟（实时）",
        "drove about {n} minutes outside its hours (live)",
    ),
    "speeding": (30.0, "最高车速{n}公里/小时（实时）", "top speed {n} km/h (live)"),
    "illegal_dumping": (
        30.0, "重车在工地和消纳场以外停留约{n}分钟，疑似偷倒（实时）",
        "stood loaded about {n} minutes away from any site: suspected dumping (live)",
    ),
    "off_route": (
        60.0, "偏离核准运输线路行驶约{n}分钟（实时）",
        "drove about {n} minutes off its permitted route (live)",
    ),
}  # fmt: skip


@dataclass
class MuckTruckDetector:
    """Outside allowed hours, speeding and loaded stops away from sites, as pings arrive.

    ``allowed_hours`` is the city's rule ("22:00-06:00"), or per plate from the permits; ``sites``
    (lon, lat) enables the dumping rule — without sites a stop cannot be told from work.
    """

    name: str = "muck_trucks"
    sources: Sequence[str] = (MUCK_TRUCK_SOURCE,)
    columns: Mapping[str, str] = field(default_factory=lambda: dict(GPS_COLUMNS))
    allowed_hours: tuple[int, int] = (22 * 60, 6 * 60)  # minutes of the day, start and end
    plate_hours: Mapping[str, tuple[int, int]] | None = None  # per plate, from the permits
    plate_valid: Mapping[str, tuple[int, int]] | None = None  # its first and last day (epoch days)
    sites: pd.DataFrame | None = None
    routes: Mapping[str, str] | None = None  # per plate: its permit's route, WKT lon/lat
    corridor: CorridorRules = field(default_factory=CorridorRules)
    utc_offset_hours: float = 8.0  # epoch times are UTC; hours are judged in local time
    track: TrackRules = field(default_factory=TrackRules)
    limits: RuleLimits = field(default_factory=RuleLimits)
    keep_days: int = 3
    position_seconds: float = 5.0  # a truck's position goes on the feed at most this often
    _shown: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

    def bind(self, context: DetectorContext) -> None:
        """The workspace's sites and each plate's hours from its newest permit (small tables)."""
        with context.engine() as engine:
            if engine.exists("std", "site"):
                table = engine.table("std", "site")
                self.sites = engine.to_arrow(table.select("lon", "lat")).to_pandas()
            if engine.exists("std", "transport_permit"):
                windows = permit_windows(engine.table("std", "transport_permit"))
                frame = engine.to_arrow(windows).to_pandas()
                self.plate_hours = plate_hours(frame)
                self.plate_valid = plate_validity(frame)
                table = engine.table("std", "transport_permit")
                if "route" in table.columns:
                    permits = engine.to_arrow(
                        table.select(p_plate=table.plate.strip(), valid_to=table.valid_to,
                                     route=table.route)
                    ).to_pandas()  # fmt: skip
                    self.routes = plate_routes(permits)

    def initial_state(self) -> dict[str, Any]:
        counts = dict.fromkeys(("received", "unusable", "repeated", "late", "jumps"), 0)
        return {"pending": {}, "last": {}, "stop": {}, "days": {}, "flagged": [], "counts": counts,
                "off": {}}  # fmt: skip

    # --- reading a batch -------------------------------------------------------------------------

    def _frame(self, table: pa.Table, state: dict[str, Any]) -> _Fresh:
        """The batch's usable points as NumPy columns (plate, t, lon, lat, speed, loaded)."""
        c = self.columns
        n = table.num_rows
        counts = state["counts"]
        counts["received"] += n

        def column(key: str, kind: pa.DataType) -> np.ndarray:
            name = c.get(key)
            if name is None or name not in table.column_names:
                return np.full(n, np.nan)
            try:
                values = pc.cast(table.column(name), kind, safe=False)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return np.full(n, np.nan)
            out: np.ndarray = values.to_numpy(zero_copy_only=False).astype(float)
            return out

        plate_name = c["plate"]
        plates = (
            pc.utf8_trim_whitespace(pc.cast(table.column(plate_name), pa.string()))
            if plate_name in table.column_names
            else pa.chunked_array([pa.nulls(n, pa.string())])
        )
        t = (
            _epoch_seconds(table.column(c["time"]))
            if c["time"] in table.column_names
            else np.full(n, np.nan)
        )
        lon, lat = column("lon", pa.float64()), column("lat", pa.float64())
        named = pc.fill_null(pc.not_equal(plates, ""), False).to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            usable = (
                named
                & np.isfinite(t)
                & (lon >= -180) & (lon <= 180) & (lat >= -90) & (lat <= 90)
                & ((np.abs(lon) > 1e-6) | (np.abs(lat) > 1e-6))
            )  # fmt: skip
        counts["unusable"] += int(n - usable.sum())
        plate = plates.to_numpy(zero_copy_only=False).astype(object)
        speed, loaded = column("speed", pa.float64()), column("loaded", pa.float64())
        return plate[usable], np.column_stack([t, lon, lat, speed, loaded])[usable]

    # --- the detector ----------------------------------------------------------------------------

    def process(self, batch: StreamBatch, state: dict[str, Any]) -> list[StreamEvent]:
        if batch.table.num_rows == 0:
            return []
        fresh_plates, fresh = self._frame(batch.table, state)
        pending = state["pending"]
        held = np.array(list(pending.values()), dtype=float).reshape(-1, 5)  # None → NaN
        plate = np.concatenate([np.array(list(pending), dtype=object), fresh_plates])
        rows = _Points.of(plate, np.concatenate([held, fresh]))
        state["counts"]["repeated"] += len(plate) - len(rows.t)
        if not len(rows.t):
            return []
        last = _held(state["last"], rows.plates, 3)
        late = rows.t <= np.nan_to_num(last[rows.code, 0], nan=-np.inf)
        state["counts"]["late"] += int(late.sum())
        rows = rows.take(~late)
        if not len(rows.t):
            return []
        judged, newest = self._judge(rows, last, state)
        plates = newest.plate().tolist()
        values = np.column_stack([newest.t, newest.lon, newest.lat]).tolist()
        state["pending"] = {
            p: [*v, s, ld]
            for p, v, s, ld in zip(
                plates, values, _nullable(newest.speed), _nullable(newest.loaded), strict=True
            )
        }
        events = self._positions(newest)
        if judged is not None:
            events += self._rules(judged, state)
        self._prune(state)
        return events

    def _judge(
        self, rows: _Points, last: np.ndarray, state: dict[str, Any]
    ) -> tuple[_Judged | None, _Points]:
        """Accepted points (jumps left out) with speed and standing; each truck's newest point.
        ``last``: each plate's (``rows.plates``) newest accepted point (t, lon, lat) or NaN."""
        first, is_newest = rows.edges()
        prev = _previous(rows, first, last)
        v_in = _kmh(*prev, rows.t, rows.lon, rows.lat)
        nxt = [np.where(is_newest, np.nan, np.r_[v[1:], np.nan]) for v in (rows.t, rows.lon,
                                                                            rows.lat)]  # fmt: skip
        v_out = _kmh(rows.t, rows.lon, rows.lat, *nxt)
        fast_in, fast_out = v_in > self.track.max_kmh, v_out > self.track.max_kmh
        jump = (fast_in | np.isnan(v_in)) & (fast_out | np.isnan(v_out))
        jump &= ~(np.isnan(v_in) & np.isnan(v_out))
        keep = ~jump & ~is_newest
        state["counts"]["jumps"] += int(jump[~is_newest].sum())
        newest = rows.take(is_newest)
        if not keep.any():
            return None, newest
        pts = rows.take(keep)
        first, newest_judged = pts.edges()
        p_t, p_lon, p_lat = _previous(pts, first, last)
        implied = _kmh(p_t, p_lon, p_lat, pts.t, pts.lon, pts.lat)
        d_prev = _metres(p_lon, p_lat, pts.lon, pts.lat)
        speed = pts.speed
        with np.errstate(invalid="ignore"):
            plausible = (speed >= 0) & (speed <= self.track.max_kmh)
            reported = np.where(plausible, speed, np.nan)
            # standing as the terminal says; without a plausible speed, only a truck that stayed
            # put (as the batch track: a slow average over a long gap is no stop)
            stayed = (implied <= self.track.stop_kmh) & (d_prev <= self.track.drift_m)
            standing = np.where(plausible, reported <= self.track.stop_kmh, stayed)
        local = pts.t + self.utc_offset_hours * 3600
        judged = _Judged(
            pts,
            first=first,
            dt_prev=pts.t - p_t,
            d_prev=d_prev,
            reported=reported,
            standing=standing,
            day=np.floor((local - self.track.day_start_hour * 3600) / DAY).astype(np.int64),
            minute=((local % DAY) // 60).astype(np.int64),
        )
        state["last"].update(
            zip(
                pts.plates[pts.code[newest_judged]].tolist(),
                np.column_stack([pts.t, pts.lon, pts.lat])[newest_judged].tolist(),
                strict=True,
            )
        )
        return judged, newest

    def _positions(self, newest: _Points) -> list[StreamEvent]:
        """Each truck's newest position for the map, once per batch and at most once every
        ``position_seconds`` of its GPS time (a truck pinging every second would otherwise put
        thousands of events a second on the feed for a map that cannot show them)."""
        plates = newest.plate()
        shown = self._shown
        before = np.array([shown.get(p, np.nan) for p in plates.tolist()], dtype=float)
        show = ~(newest.t - before < self.position_seconds)  # never shown: NaN, shown
        plate, t = plates[show].tolist(), newest.t[show].tolist()
        self._shown.update(zip(plate, t, strict=True))
        lon, lat = newest.lon[show].tolist(), newest.lat[show].tolist()
        speed = _nullable(newest.speed[show])
        return [
            StreamEvent(
                "vehicle.position",
                {"kind": "muck_truck", "plate": p, "t": at, "lon": lo, "lat": la, "speed": s},
            )
            for p, at, lo, la, s in zip(plate, t, lon, lat, speed, strict=True)
        ]

    def _rules(self, judged: _Judged, state: dict[str, Any]) -> list[StreamEvent]:
        lim = self.limits
        pts = judged.points
        start, end = self._hours(pts.plates, pts.code, judged.day)
        m = judged.minute
        inside = np.where(start < end, (m >= start) & (m < end), (m >= start) | (m < end))
        inside |= start == end
        outside = ~judged.standing & ~inside
        with np.errstate(invalid="ignore"):
            fast = judged.reported > lim.speed_limit_kmh
        # per truck and day: the points are sorted by truck and time, so each is one run
        begins = np.flatnonzero(judged.first | np.r_[True, judged.day[1:] != judged.day[:-1]])
        keys = [
            f"{p}|{d}"
            for p, d in zip(
                pts.plates[pts.code[begins]].tolist(), judged.day[begins].tolist(), strict=True
            )
        ]
        t_out = np.where(outside, pts.t, np.nan)
        o, minutes, f, top = _add_days(
            keys,
            np.add.reduceat(outside.astype(np.int64), begins),
            np.fmin.reduceat(t_out, begins),
            np.fmax.reduceat(t_out, begins),
            np.add.reduceat(fast.astype(np.int64), begins),
            np.fmax.reduceat(judged.reported, begins),
            state["days"],
        )
        events: list[StreamEvent] = []
        flagged = set(state["flagged"])
        out = (o >= lim.min_outside_pings) & (minutes >= lim.min_outside_minutes)
        speeding = f >= lim.min_speeding_pings
        hits = np.flatnonzero(out | speeding)  # only the truck-days that break a rule
        extra: dict[str, Any]
        for i, row in zip(hits, self._places(judged, begins, hits), strict=True):
            if out[i]:
                extra = {"minutes": round(float(minutes[i]))}
                events += self._raise(flagged, row, "outside_hours", extra)
            if speeding[i]:
                extra = {"top_kmh": None if np.isnan(top[i]) else float(top[i])}
                events += self._raise(flagged, row, "speeding", extra)
        if self.sites is not None or self.routes:
            frame = judged.frame()
            if self.sites is not None:
                events += self._stops(frame, state, flagged)
            if self.routes:
                events += self._off_route(frame, state, flagged)
        state["flagged"] = sorted(flagged)
        return events

    @staticmethod
    def _places(judged: _Judged, begins: np.ndarray, hits: np.ndarray) -> list[_Row]:
        """The truck-days ``hits`` (indexes of ``begins``) with their mean position — pandas'
        grouped mean over the same points, so the figures are the batch's to the last digit."""
        if not len(hits):
            return []
        pts = judged.points
        marks = np.zeros(len(pts.t), dtype=bool)
        marks[begins] = True
        group = np.cumsum(marks) - 1
        mine = np.isin(group, hits)
        means = (
            pd.DataFrame({"g": group[mine], "lon": pts.lon[mine], "lat": pts.lat[mine]})
            .groupby("g")
            .mean()
        )
        at = begins[hits]
        plates, days = pts.plates[pts.code[at]].tolist(), judged.day[at].tolist()
        return [
            _Row(p, d, lo, la)
            for p, d, lo, la in zip(
                plates, days, means["lon"].tolist(), means["lat"].tolist(), strict=True
            )
        ]

    def _hours(
        self, plates: np.ndarray, code: np.ndarray, days: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Allowed minutes of the day (start, end) per point (its plate ``plates[code]``, its
        shift day): the plate's permit on a day it is valid, else the city's (a truck without a
        valid permit is held to the city's hours)."""
        start, end = self.allowed_hours
        n = len(code)
        if not self.plate_hours:
            return np.full(n, start), np.full(n, end)
        hours = _held(self.plate_hours, plates, 2)[code]
        if self.plate_valid is not None:
            valid = _held(self.plate_valid, plates, 2)[code]
            ok = (days >= np.nan_to_num(valid[:, 0], nan=-np.inf)) & (
                days <= np.nan_to_num(valid[:, 1], nan=np.inf)
            )
            hours[~ok] = np.nan
        starts = np.where(np.isnan(hours[:, 0]), start, hours[:, 0]).astype(np.int64)
        ends = np.where(np.isnan(hours[:, 1]), end, hours[:, 1]).astype(np.int64)
        return starts, ends

    def _stops(
        self, judged: pd.DataFrame, state: dict[str, Any], flagged: set[str]
    ) -> list[StreamEvent]:
        """Runs of standing points (``new_stop``, the batch rule); a run still going on at the
        batch's end waits in ``stop``; a run is judged with the batch's ``dwell_minutes`` once the
        point after it is known."""
        lim = self.limits
        standing = judged["standing"].to_numpy(bool)
        first = ~judged["plate"].duplicated().to_numpy()
        open_stop = judged["plate"].isin(list(state["stop"])).to_numpy(bool)
        prev_standing = np.r_[False, standing[:-1]]
        prev_standing[first] = open_stop[first]
        gap = judged["dt_prev"].fillna(np.inf).to_numpy(float)
        moved = judged["d_prev"].fillna(0).to_numpy(float)
        new_run = new_stop(standing, prev_standing, gap, moved, lim)
        run = np.cumsum(new_run | ~standing | first)
        marked = judged.assign(run=run, new_run=new_run, known=judged["reported"].notna())
        runs = (
            marked.loc[standing]
            .groupby(["plate", "run"], as_index=False, sort=False)
            .agg(start=("t", "min"), end=("t", "max"), n=("t", "size"), lon=("lon", "sum"),
                 lat=("lat", "sum"), loaded=("loaded", "max"), day=("day", "min"),
                 reported=("known", "min"), before=("dt_prev", "first"),
                 before_m=("d_prev", "first"), last_lon=("lon", "last"),
                 last_lat=("lat", "last"), fresh=("new_run", "first"))
        )  # fmt: skip
        continues = (~runs["fresh"]).to_numpy(bool)  # its first point carries on the open stop
        runs = _merge_open(runs, continues, state["stop"])
        # an open stop whose truck's first point here does not carry it on ended before it
        carried = set(runs.loc[continues, "plate"].tolist())
        ended = _ended_open(state["stop"], judged.loc[first], carried)
        last_run = marked.loc[standing].groupby("plate")["run"].max()
        last_row_standing = judged.groupby("plate")["standing"].last()
        still = runs["plate"].map(last_row_standing).fillna(False).astype(bool) & (
            runs["run"] == runs["plate"].map(last_run)
        )
        seen = set(judged["plate"].unique().tolist())
        kept = {p: v for p, v in state["stop"].items() if p not in seen}
        kept.update(
            {
                r.plate: [r.start, r.end, r.n, r.lon, r.lat, _json(r.loaded), r.day,
                          bool(r.reported), _json(r.before), _json(r.before_m), r.last_lon,
                          r.last_lat]
                for r in runs.loc[still].itertuples(index=False)
            }
        )  # fmt: skip
        state["stop"] = kept
        closed = runs.loc[~still].drop(columns=["run", "fresh"])
        if len(closed):
            closed = closed.join(_next_point(closed, judged))
        parts = [c for c in (closed, ended) if len(c)]
        if not parts:
            return []
        closed = pd.concat(parts, ignore_index=True)
        span = (closed["end"] - closed["start"]).to_numpy(float)
        after = _metres(
            *(closed[c].to_numpy(float) for c in ("last_lon", "last_lat", "next_lon", "next_lat"))
        )
        dwell, supported = dwell_minutes(
            span,
            closed["before"].to_numpy(float),
            closed["before_m"].to_numpy(float),
            closed["next_t"].to_numpy(float) - closed["end"].to_numpy(float),
            after,
            lim,
        )
        measured = (closed["n"] >= lim.min_stop_pings).to_numpy() & (
            span / 60 >= lim.min_stop_minutes
        )
        sparse = closed["reported"].to_numpy(bool) & supported & (dwell >= lim.min_stop_minutes)
        if not lim.single_ping_stops:
            sparse[:] = False
        minutes = np.where(measured, span / 60, dwell)
        lon = (closed["lon"] / closed["n"]).to_numpy(float)
        lat = (closed["lat"] / closed["n"]).to_numpy(float)
        assert self.sites is not None
        far = distance_to_sites(lon, lat, self.sites) > lim.site_radius_m
        loaded = closed["loaded"].isna().to_numpy() | (closed["loaded"] == 1).to_numpy()
        hit = (measured | sparse) & far & loaded
        events: list[StreamEvent] = []
        for r, x, y, mins in zip(
            closed.loc[hit].itertuples(index=False), lon[hit], lat[hit], minutes[hit], strict=True
        ):
            place = _Row(r.plate, r.day, x, y)
            events += self._raise(flagged, place, "illegal_dumping", {"minutes": round(mins)})
        return events

    def _corridors(self) -> tuple[dict[str, Any], float]:
        """Each plate's corridor on the local metric plane (built once per detector)."""
        cached: tuple[dict[str, Any], float] | None = getattr(self, "_corridor_cache", None)
        if cached is None:
            cached = corridors_of(self.routes or {}, self.corridor.corridor_m)
            object.__setattr__(self, "_corridor_cache", cached)
        return cached

    def _off_route(
        self, judged: pd.DataFrame, state: dict[str, Any], flagged: set[str]
    ) -> list[StreamEvent]:
        """Runs of moving points outside the plate's corridor; a run going on at the batch's end
        waits in ``off``. Raised once it has ``min_pings`` points over ``min_minutes``."""
        shapes, lat0 = self._corridors()
        rules = self.corridor
        state.setdefault("off", {})  # a state saved before the rule existed
        moving = judged.loc[~judged["standing"]].reset_index(drop=True)
        corridor = moving["plate"].map(shapes)
        known = corridor.notna().to_numpy()
        if not known.any():
            return []
        moving = moving.loc[known].reset_index(drop=True)
        kx = M_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat0))
        x = moving["lon"].to_numpy(float) * kx
        y = (moving["lat"].to_numpy(float) - lat0) * M_PER_DEG_LAT
        off = ~shapely.contains_xy(corridor.loc[known].to_numpy(object), x, y)
        plates = moving["plate"].to_numpy(object)
        t = moving["t"].to_numpy(float)
        first = ~moving["plate"].duplicated().to_numpy()
        held = moving["plate"].map(state["off"])
        prev_off = np.r_[False, off[:-1]]
        prev_off[first] = held[first].notna().to_numpy()
        prev_t = np.r_[np.nan, t[:-1]]
        prev_t[first] = held[first].map(lambda v: v[5] if isinstance(v, list) else np.nan)
        gap = np.nan_to_num(t - prev_t, nan=0.0) > rules.max_gap_minutes * 60
        new_run = off & (~prev_off | gap)
        run = np.cumsum(new_run | ~off | first)
        marked = moving.assign(run=run, fresh=new_run)
        runs = (
            marked.loc[off]
            .groupby(["plate", "run"], as_index=False, sort=False)
            .agg(start=("t", "min"), end=("t", "max"), n=("t", "size"), lon=("lon", "sum"),
                 lat=("lat", "sum"), day=("day", "min"), fresh=("fresh", "first"))
        )  # fmt: skip
        carried = runs["plate"].map(state["off"]).where(~runs["fresh"].to_numpy(bool))
        go_on = carried.notna().to_numpy()
        if go_on.any():  # at most one per truck: the run the batch before left open
            before = pd.DataFrame(carried[go_on].tolist(), index=runs.index[go_on])
            runs.loc[go_on, "start"] = before[0]
            runs.loc[go_on, "n"] += before[1]
            runs.loc[go_on, "lon"] += before[2]
            runs.loc[go_on, "lat"] += before[3]
            runs.loc[go_on, "day"] = before[4]
        last_off = pd.Series(off, index=plates).groupby(level=0).last()
        last_run = marked.groupby("plate")["run"].max()
        still = runs["plate"].map(last_off).astype(bool) & (
            runs["run"] == runs["plate"].map(last_run)
        )
        kept = {p: v for p, v in state["off"].items() if p not in last_off.index}
        kept.update({r.plate: [r.start, int(r.n), r.lon, r.lat, int(r.day), r.end]
                     for r in runs.loc[still].itertuples(index=False)})  # fmt: skip
        state["off"] = kept
        minutes = (runs["end"] - runs["start"]).to_numpy(float) / 60
        hit = (runs["n"].to_numpy() >= rules.min_pings) & (minutes >= rules.min_minutes)
        events: list[StreamEvent] = []
        for r, mins in zip(runs.loc[hit].itertuples(index=False), minutes[hit], strict=True):
            place = _Row(r.plate, int(r.day), r.lon / r.n, r.lat / r.n)
            events += self._raise(flagged, place, "off_route", {"minutes": round(mins)})
        return events

    def _raise(
        self, flagged: set[str], row: Any, kind: str, extra: dict[str, Any]
    ) -> list[StreamEvent]:
        key = f"{row.plate}|{row.day}|{kind}"
        if key in flagged:
            return []
        flagged.add(key)
        day = (np.datetime64("1970-01-01") + np.timedelta64(int(row.day), "D")).astype(str)
        data = {"plate": row.plate, "kind": kind, "day": day, "lon": _json(row.lon),
                "lat": _json(row.lat), "topic": TOPIC, **extra}  # fmt: skip
        evidence = float(extra.get("minutes", extra.get("top_kmh")) or 0.0)
        full, zh, en = _FINDING[kind]
        over = evidence - self.limits.speed_limit_kmh if kind == "speeding" else evidence
        score = round(0.6 + 0.4 * min(max(over / full, 0.0), 1.0), 4)
        finding = {
            "topic": TOPIC, "subject_type": "vehicle", "subject_id": row.plate, "period": day,
            "score": score, "level": (Level.high if score >= 0.8 else Level.medium).value,
            "lon": _json(row.lon), "lat": _json(row.lat), "model_version": MODEL_VERSION,
            "reasons": [{"signal": kind, "observed": evidence, "expected": None,
                         "contribution": score, "text_zh": zh.format(n=round(evidence)),
                         "text_en": en.format(n=round(evidence))}],
        }  # fmt: skip
        return [StreamEvent("truck.violation", data, finding=finding)]

    def _prune(self, state: dict[str, Any]) -> None:
        days = [int(k.rsplit("|", 1)[1]) for k in state["days"]]
        if not days:
            return
        oldest = max(days) - self.keep_days
        state["days"] = {
            k: v for k, v in state["days"].items() if int(k.rsplit("|", 1)[1]) > oldest
        }
        state["flagged"] = [k for k in state["flagged"] if int(k.split("|")[1]) > oldest]


def plate_hours(windows: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Each plate's allowed minutes (start, end) from its permit valid longest (``permit_windows``
    rows); permits whose hours cannot be read are left out (the city's hours apply)."""
    readable = windows.dropna(subset=["start", "end"]).sort_values(["p_plate", "valid_to"])
    newest = readable.drop_duplicates("p_plate", keep="last")
    return {
        str(p): (int(s), int(e))
        for p, s, e in newest[["p_plate", "start", "end"]].itertuples(index=False, name=None)
    }


def plate_routes(permits: pd.DataFrame) -> dict[str, str]:
    """Each plate's route (WKT) from its permit valid longest that has one."""
    known = permits.dropna(subset=["p_plate", "route"]).sort_values(["p_plate", "valid_to"])
    newest = known.drop_duplicates("p_plate", keep="last")
    return {str(p): str(r) for p, r in zip(newest["p_plate"], newest["route"], strict=True)}


def corridors_of(routes: Mapping[str, str], corridor_m: float) -> tuple[dict[str, Any], float]:
    """Plate → its route buffered by ``corridor_m`` on a local metric plane, and the plane's
    reference latitude; routes that cannot be read are left out (the plate is not judged)."""
    if not routes:
        return {}, 0.0
    plates = list(routes)
    with np.errstate(all="ignore"):
        lines = shapely.from_wkt(np.array([routes[p] for p in plates], dtype=object),
                                 on_invalid="ignore")  # fmt: skip
    good = ~shapely.is_missing(lines) & ~shapely.is_empty(lines)
    if not good.any():
        return {}, 0.0
    lat0 = float(np.nanmedian(shapely.get_coordinates(lines[good])[:, 1]))
    kx = M_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat0))

    def to_plane(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([xy[:, 0] * kx, (xy[:, 1] - lat0) * M_PER_DEG_LAT])

    shapes = shapely.buffer(shapely.transform(lines[good], to_plane), corridor_m)
    kept = [p for p, ok in zip(plates, good, strict=True) if ok]
    return dict(zip(kept, shapes, strict=True)), lat0


def plate_validity(windows: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """The first and last day (days since 1970-01-01) of the permit :func:`plate_hours` took."""
    readable = windows.dropna(subset=["start", "end"]).sort_values(["p_plate", "valid_to"])
    newest = readable.drop_duplicates("p_plate", keep="last")
    epoch = pd.Timestamp("1970-01-01")
    first = (pd.to_datetime(newest["valid_from"]) - epoch).dt.days
    last = (pd.to_datetime(newest["valid_to"]) - epoch).dt.days
    return {
        str(p): (int(a), int(b)) for p, a, b in zip(newest["p_plate"], first, last, strict=True)
    }


@dataclass(frozen=True)
class _Row:
    plate: str
    day: int
    lon: float
    lat: float


def _merge_open(
    runs: pd.DataFrame, continues: np.ndarray, open_stops: dict[str, Any]
) -> pd.DataFrame:
    """Runs that continue a stop of the batch before take its start, points and sums."""
    if not continues.any():
        return runs
    runs = runs.copy()
    for i in np.flatnonzero(continues):  # at most one per truck
        s = open_stops[str(runs.at[i, "plate"])]
        runs.at[i, "start"] = s[0]
        runs.at[i, "n"] += s[2]
        runs.at[i, "lon"] += s[3]
        runs.at[i, "lat"] += s[4]
        runs.at[i, "loaded"] = _max(s[5], runs.at[i, "loaded"])
        runs.at[i, "day"] = s[6]
        runs.at[i, "reported"] = bool(s[7] and runs.at[i, "reported"])
        runs.at[i, "before"] = s[8]
        runs.at[i, "before_m"] = s[9] if len(s) > 9 else np.nan  # a state saved before it
    return runs


def _ended_open(
    open_stops: dict[str, Any], firsts: pd.DataFrame, carried: set[str]
) -> pd.DataFrame:
    """Open stops of the batch before that this batch's first point of the truck ended (it
    moved, or stood elsewhere): closed runs, with that point as the one after them."""
    rows = [
        [p, *s[:9], s[9], s[10], s[11], t, lo, la]
        for p, t, lo, la in firsts[["plate", "t", "lon", "lat"]].itertuples(index=False)
        if p in open_stops and p not in carried and len(s := open_stops[p]) >= 12
    ]
    return pd.DataFrame(
        rows,
        columns=["plate", "start", "end", "n", "lon", "lat", "loaded", "day", "reported",
                 "before", "before_m", "last_lon", "last_lat", "next_t", "next_lon", "next_lat"],
    )  # fmt: skip


def _next_point(closed: pd.DataFrame, judged: pd.DataFrame) -> pd.DataFrame:
    """The first point after each closed run (the point that ended it): next_t, next_lon,
    next_lat (NaN when none came yet)."""
    t = judged["t"].to_numpy(float)
    plates = judged["plate"].to_numpy()
    key = np.lexsort((t, plates))
    t_sorted, p_sorted = t[key], plates[key]
    at = np.full(len(closed), -1)
    for i, (p, end) in enumerate(zip(closed["plate"], closed["end"], strict=True)):
        lo, hi = np.searchsorted(p_sorted, p, "left"), np.searchsorted(p_sorted, p, "right")
        j = lo + np.searchsorted(t_sorted[lo:hi], end, "right")
        if j < hi:
            at[i] = key[j]
    found = at >= 0
    out = pd.DataFrame(np.nan, index=closed.index, columns=["next_t", "next_lon", "next_lat"])
    for name, col in (("next_t", "t"), ("next_lon", "lon"), ("next_lat", "lat")):
        values = judged[col].to_numpy(float)
        out.loc[found, name] = values[at[found]]
    return out


_Fresh = tuple[np.ndarray, np.ndarray]  # plates; t, lon, lat, speed, loaded (one row a point)


@dataclass(frozen=True)
class _Points:
    """Points as NumPy columns, sorted by plate and time, one per plate and instant; ``code``
    indexes ``plates`` (distinct and sorted; a plate may have no point left)."""

    plates: np.ndarray
    code: np.ndarray
    t: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    speed: np.ndarray
    loaded: np.ndarray

    @classmethod
    def of(cls, plate: np.ndarray, values: np.ndarray) -> _Points:
        """Points (``values``: t, lon, lat, speed, loaded) sorted; points repeated (same plate,
        same instant) are one: mean position, top speed, top load — as a pandas groupby."""
        code, plates = pd.factorize(plate, sort=True)
        order = np.lexsort((values[:, 0], code))
        code, v = code[order], values[order]
        n = len(code)
        new = np.ones(n, dtype=bool)
        new[1:] = (code[1:] != code[:-1]) | (v[1:, 0] != v[:-1, 0])
        if not new.all():
            begins = np.flatnonzero(new)
            merged = v[begins]
            merged[:, 3] = np.fmax.reduceat(v[:, 3], begins)
            merged[:, 4] = np.fmax.reduceat(v[:, 4], begins)
            group = np.cumsum(new) - 1
            many = np.diff(np.r_[begins, n]) > 1
            mine = many[group]
            means = (
                pd.DataFrame({"g": group[mine], "lon": v[mine, 1], "lat": v[mine, 2]})
                .groupby("g")
                .mean()
            )  # pandas' compensated mean, as the groupby this replaces
            merged[many, 1] = means["lon"].to_numpy(float)
            merged[many, 2] = means["lat"].to_numpy(float)
            code, v = code[begins], merged
        columns = [np.ascontiguousarray(v[:, i]) for i in range(5)]
        return cls(np.asarray(plates, dtype=object), code, *columns)

    def take(self, keep: np.ndarray) -> _Points:
        return _Points(
            self.plates, self.code[keep], self.t[keep], self.lon[keep], self.lat[keep],
            self.speed[keep], self.loaded[keep],
        )  # fmt: skip

    def plate(self) -> np.ndarray:
        out: np.ndarray = self.plates[self.code]
        return out

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Each truck's first point, and its last."""
        code = self.code
        first = np.ones(len(code), dtype=bool)
        first[1:] = code[1:] != code[:-1]
        last = np.ones(len(code), dtype=bool)
        last[:-1] = code[:-1] != code[1:]
        return first, last


@dataclass(frozen=True)
class _Judged:
    """Accepted points with what the rules read: the gap and distance to the point before,
    the plausible reported speed (NaN), standing, the shift day and the minute of the day."""

    points: _Points
    first: np.ndarray
    dt_prev: np.ndarray
    d_prev: np.ndarray
    reported: np.ndarray
    standing: np.ndarray
    day: np.ndarray
    minute: np.ndarray

    def frame(self) -> pd.DataFrame:
        p = self.points
        return pd.DataFrame(
            {
                "plate": pd.Series(p.plate(), dtype=object), "t": p.t, "lon": p.lon,
                "lat": p.lat, "speed": p.speed, "loaded": p.loaded, "dt_prev": self.dt_prev,
                "d_prev": self.d_prev, "reported": self.reported, "standing": self.standing,
                "day": self.day, "minute": self.minute,
            }
        )  # fmt: skip


def _held(values: Mapping[str, Sequence[Any]], plates: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` numbers ``values`` holds for each plate (a row of NaN: none)."""
    none = [np.nan] * k
    rows = [values.get(p, none)[:k] for p in plates.tolist()]
    return np.array(rows, dtype=float).reshape(-1, k)


def _nullable(values: np.ndarray) -> list[float | None]:
    """NaN → None (as JSON keeps it)."""
    return [None if v != v else v for v in values.tolist()]


def _previous(
    rows: _Points, first: np.ndarray, last: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each point's previous one (t, lon, lat): the point before of the same truck, or its last
    accepted one (``last``, per plate of ``rows.plates``)."""
    out = []
    for i, values in enumerate((rows.t, rows.lon, rows.lat)):
        prev = np.empty_like(values)
        prev[1:] = values[:-1]
        prev[first] = last[rows.code[first], i]
        out.append(prev)
    return out[0], out[1], out[2]


def _metres(lon0: np.ndarray, lat0: np.ndarray, lon1: np.ndarray, lat1: np.ndarray) -> np.ndarray:
    mid = np.radians((lat0 + lat1) / 2)
    dx = (lon1 - lon0) * M_PER_DEG_LON_EQUATOR * np.cos(mid)
    dy = (lat1 - lat0) * M_PER_DEG_LAT
    out: np.ndarray = np.hypot(dx, dy)
    return out


def _kmh(
    t0: np.ndarray, lon0: np.ndarray, lat0: np.ndarray,
    t1: np.ndarray, lon1: np.ndarray, lat1: np.ndarray,
) -> np.ndarray:  # fmt: skip
    dt = t1 - t0
    with np.errstate(divide="ignore", invalid="ignore"):
        out: np.ndarray = np.where(dt > 0, _metres(lon0, lat0, lon1, lat1) / dt * 3.6, np.nan)
    return out


def _epoch_seconds(values: pa.ChunkedArray) -> np.ndarray:
    """Epoch milliseconds (integers, as terminals send), timestamps or ISO text → epoch seconds."""
    kind = values.type
    try:
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            raw = pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
            out: np.ndarray = np.where(raw > 1e11, raw / 1000.0, raw)  # ms: beyond 5138 AD in s
            return out
        if pa.types.is_timestamp(kind):
            micro = pc.cast(pc.cast(values, pa.timestamp("us")), pa.int64())
            stamp: np.ndarray = micro.to_numpy(zero_copy_only=False).astype(float) / 1e6
            return stamp
        text = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
        stamps = pc.strptime(text, format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True)
        seconds = pc.cast(pc.cast(stamps, pa.timestamp("s")), pa.int64())
        parsed: np.ndarray = seconds.to_numpy(zero_copy_only=False).astype(float)
        # delivered as text (a live source lands what it is sent): epoch numbers as digits
        digits = pc.match_substring_regex(text, r"^-?\d+(\.\d+)?$")
        numbers = pc.cast(pc.if_else(digits, text, pa.scalar(None, pa.string())), pa.float64())
        raw = numbers.to_numpy(zero_copy_only=False).astype(float)
        epoch = np.where(raw > 1e11, raw / 1000.0, raw)
        return np.where(np.isfinite(epoch), epoch, parsed)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return np.full(len(values), np.nan)


def _json(value: Any) -> Any:
    if value is None:
        return None
    try:
        if np.isnan(value):
            return None
    except TypeError:
        return value
    return float(value)


def _add_days(
    keys: list[str],
    outside: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    fast: np.ndarray,
    top: np.ndarray,
    days: dict[str, list[Any]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Add the batch's counts per truck and day (``keys``: "plate|day"; outside pings, first and
    last outside time, fast pings, top speed) to the running ones kept in the state (``days``,
    the same five per key), updated in place; returns the running outside pings, minutes between
    the first and last outside ping (0 without two), fast pings and top speed, per key."""
    empty = [0, None, None, 0, None]
    old = np.array([days.get(k, empty) for k in keys], dtype=float).reshape(-1, 5)  # None: NaN
    o = old[:, 0] + outside.astype(float)
    f = old[:, 3] + fast.astype(float)
    first = np.fmin(old[:, 1], first)  # NaN: none yet
    last = np.fmax(old[:, 2], last)
    top = np.fmax(old[:, 4], top)
    days.update(
        zip(
            keys,
            (list(r) for r in zip(o.astype(int).tolist(), _nullable(first), _nullable(last),
                                  f.astype(int).tolist(), _nullable(top), strict=True)),
            strict=True,
        )
    )  # fmt: skip
    minutes = np.nan_to_num((last - first) / 60, nan=0.0)
    return o, minutes, f, top


def _max(a: Any, b: Any) -> Any:
    vals = [v for v in (a, b) if v is not None and not (isinstance(v, float) and np.isnan(v))]
    return float(max(vals)) if vals else None
