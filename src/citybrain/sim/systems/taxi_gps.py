"""出租车 GPS — floating-car pings of the district's taxis from the transport department's
monitoring platform, Parquet per month: epoch-millisecond times, WGS-84 coordinates, speed,
heading, occupied flag.

Taxis drive ALONG the road grid (the address register's roads): from crossing to crossing, a
random walk that mostly keeps straight. The platform exports the peak periods only (07:00–10:00
and 16:30–20:00, ``SHIFTS``), which keeps the feed small. Each piece of road
between two crossings has a free-flow speed; a car crosses it at that speed times a mild rush-hour
factor and its own noise, except where a recurring jam is planted: a few segments at one or two
rush hours, on most weekdays (never on weekends), at a quarter to two fifths of free flow. The
jams are written to truth (``road_congestion``), with the segment's middle, so evaluation can
find the segment whatever its id. A jam clears at the end of its hour: a car still in it then
does the rest of the segment at the usual speed. The terminal reports every ``ping_seconds``
(120 s in the tiny city, whose segments are 2.4–2.8 km; shorter where the grid is finer).

GPS dirt: position jitter of a few metres, lost pings, a terminal switched off for half an hour,
re-sent duplicates (same car, time and place, new record id) and a few bad points — jumps of a few
kilometres and the 255 km/h a terminal reports when its speed is unknown. No row is out of range:
ingest lands them all and the topic must cope.

Own random streams (``system/taxi_gps/...``): no other system's bytes change. Few cars (one per
street, at least two): the tiny city gets about 30,000 pings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from citybrain.sim.formats import write_parquet
from citybrain.sim.geography import LAT0, LAT1
from citybrain.sim.ids import concat, padded
from citybrain.sim.systems.base import SystemContext
from citybrain.sim.world import World

SYSTEM = "taxi_gps"
TRUTH = "road_congestion"
SHIFTS = ((7.0, 10.0), (16.5, 20.0))  # the platform's peak-period export: morning, evening
RUSH_HOURS = (7, 8, 17, 18)
JAM_WEEKDAY_SHARE = 0.95  # a planted jam happens on this share of weekdays
BAD_SPEED = 255.0  # what a terminal reports when it has no speed
M_PER_DEG_LAT = 111_320.0
# heading of each move: north, east, south, west (grid steps di, dj)
MOVES = np.array([[0, 1], [1, 0], [0, -1], [-1, 0]])


@dataclass(frozen=True)
class Grid:
    """The crossings of the road grid and the segments between neighbouring crossings."""

    xs: np.ndarray  # lon of each north-south road, west to east
    ys: np.ndarray  # lat of each east-west road, south to north
    ns_ids: np.ndarray  # road_id of each north-south road
    ew_ids: np.ndarray  # road_id of each east-west road
    free_kmh: np.ndarray  # free-flow speed per segment id (see seg_of)

    @property
    def n_i(self) -> int:
        return int(self.xs.size)

    @property
    def n_j(self) -> int:
        return int(self.ys.size)

    @property
    def n_segments(self) -> int:
        return self.n_i * (self.n_j - 1) + (self.n_i - 1) * self.n_j

    def seg_of(self, i: np.ndarray, j: np.ndarray, move: np.ndarray) -> np.ndarray:
        """Segment id of the move from crossing (i, j): north-south pieces first (road i, between
        crossings j and j + 1), then east-west ones (road j, between i and i + 1)."""
        lo_j = np.where(move == 2, j - 1, j)
        lo_i = np.where(move == 3, i - 1, i)
        ns = i * (self.n_j - 1) + lo_j
        ew = self.n_i * (self.n_j - 1) + j * (self.n_i - 1) + lo_i
        return np.where((move == 0) | (move == 2), ns, ew)

    def table(self) -> dict[str, np.ndarray]:
        """Per segment: road_id, the number road_traffic gives it along its road (from the
        west/south end, the piece before the first crossing being 1), its two ends and middle."""
        ni, nj = self.n_i, self.n_j
        i_ns, j_ns = np.repeat(np.arange(ni), nj - 1), np.tile(np.arange(nj - 1), ni)
        j_ew, i_ew = np.repeat(np.arange(nj), ni - 1), np.tile(np.arange(ni - 1), nj)
        lon0 = np.concatenate([self.xs[i_ns], self.xs[i_ew]])
        lat0 = np.concatenate([self.ys[j_ns], self.ys[j_ew]])
        lon1 = np.concatenate([self.xs[i_ns], self.xs[i_ew + 1]])
        lat1 = np.concatenate([self.ys[j_ns + 1], self.ys[j_ew]])
        return {
            "road_id": np.concatenate([self.ns_ids[i_ns], self.ew_ids[j_ew]]),
            "piece": np.concatenate([j_ns + 2, i_ew + 2]),
            "lon0": lon0,
            "lat0": lat0,
            "lon1": lon1,
            "lat1": lat1,
            "lon": (lon0 + lon1) / 2,
            "lat": (lat0 + lat1) / 2,
        }

    def length_m(self) -> np.ndarray:
        t = self.table()
        kx = M_PER_DEG_LAT * np.cos(np.radians((LAT0 + LAT1) / 2))
        length: np.ndarray = np.hypot(
            (t["lon1"] - t["lon0"]) * kx, (t["lat1"] - t["lat0"]) * M_PER_DEG_LAT
        )
        return length


def grid_of(world: World, rng: np.random.Generator) -> Grid:
    roads = world.geo.roads
    direction = np.asarray(roads["direction"].to_pylist())
    position = roads["position"].to_numpy()
    ids = roads["road_id"].to_numpy()
    ns, ew = direction == "NS", direction == "EW"
    o_ns, o_ew = np.argsort(position[ns]), np.argsort(position[ew])
    xs, ys = position[ns][o_ns], position[ew][o_ew]
    n = xs.size * (ys.size - 1) + (xs.size - 1) * ys.size
    return Grid(xs, ys, ids[ns][o_ns], ids[ew][o_ew], rng.uniform(38.0, 55.0, n).round(1))


def n_cars(world: World) -> int:
    return max(2, world.scale.streets)


def ping_seconds(world: World) -> int:
    """Report interval: 120 s on the tiny grid (two streets), shorter where segments are shorter
    (a free-flow crossing gives a ping or two; a jammed one five or more)."""
    return max(10, round(240 / max(2, world.scale.streets)))


def plant_jams(world: World, grid: Grid, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The recurring jams: about one segment in twelve (at least two), each at one or two rush
    hours, with its slow factor; and the weekdays it happens (most of them)."""
    k = max(2, grid.n_segments // 12)
    seg = np.sort(rng.choice(grid.n_segments, k, replace=False))
    two = rng.random(k) < 0.3
    first = rng.choice(np.array(RUSH_HOURS), k)
    # a second hour right after the first (08:00 and 09:00 of one long morning jam)
    seg = np.concatenate([seg, seg[two]])
    hour = np.concatenate([first, first[two] + 1])
    factor = rng.uniform(0.25, 0.4, seg.size).round(2)
    order = np.lexsort((hour, seg))
    return {"seg": seg[order], "hour": hour[order], "factor": factor[order]}


def _weekday(world: World, day: np.ndarray) -> np.ndarray:
    """0 Monday … 6 Sunday of day numbers counted from the first month's start."""
    d0 = int(world.month_starts[0].astype("datetime64[D]").astype(np.int64))
    return (d0 + day + 3) % 7  # 1970-01-01 was a Thursday


def jam_days(world: World, jams: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Which days each planted jam happens: bool [jam, day]."""
    days = np.arange(world.days)
    weekday = _weekday(world, days) < 5
    return (rng.random((jams["seg"].size, days.size)) < JAM_WEEKDAY_SHARE) & weekday


def jam_codes(jams: dict[str, np.ndarray], happens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted codes ``(day * 10_000 + segment) * 24 + hour`` of every jam-day, and their factors."""
    jam, day = np.nonzero(happens)
    code = (day * 10_000 + jams["seg"][jam]) * 24 + jams["hour"][jam]
    order = np.argsort(code, kind="stable")
    return code[order], jams["factor"][jam][order]


def drive(
    grid: Grid,
    day: np.ndarray,
    start_h: np.ndarray,
    end_h: np.ndarray,
    jam: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Random walks on the grid, one per car and shift, vectorised over walks (one loop turn per
    segment crossed): per traversal the walk, segment, move, start crossing, entry and exit hour
    and speed. A traversal's speed is set by the hour the car enters the segment."""
    n = day.size
    length_m = grid.length_m()
    i = rng.integers(0, grid.n_i, n)
    j = rng.integers(0, grid.n_j, n)
    heading = rng.integers(0, 4, n)
    t = start_h.copy()
    active = np.ones(n, bool)
    out: list[dict[str, np.ndarray]] = []
    # relative to the heading: keep straight 55 %, right 20 %, back 5 %, left 20 %
    turn_w = np.array([0.55, 0.2, 0.05, 0.2])
    jam_code, jam_factor = jam
    while active.any():
        c = np.flatnonzero(active)
        moves = (heading[c, None] + np.arange(4)[None, :]) % 4
        ni, nj = i[c, None] + MOVES[moves, 0], j[c, None] + MOVES[moves, 1]
        ok = (ni >= 0) & (ni < grid.n_i) & (nj >= 0) & (nj < grid.n_j)
        w = ok * turn_w[None, :]
        cum = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)
        pick = np.minimum((rng.random((c.size, 1)) > cum).sum(axis=1), 3)
        move = moves[np.arange(c.size), pick]
        seg = grid.seg_of(i[c], j[c], move)
        hour = np.floor(t[c]).astype(np.int64)
        noise = np.exp(rng.normal(0, 0.08, c.size))
        usual = grid.free_kmh[seg] * np.where(np.isin(hour, RUSH_HOURS), 0.85, 1.0) * noise
        speed = usual
        if jam_code.size:
            code = (day[c] * 10_000 + seg) * 24 + hour
            pos = np.minimum(np.searchsorted(jam_code, code), jam_code.size - 1)
            speed = np.where(jam_code[pos] == code, grid.free_kmh[seg] * jam_factor[pos] * noise,
                             usual)  # fmt: skip
        km = length_m[seg] / 1000
        t1 = t[c] + km / speed
        # a jam clears at the end of its hour: the rest of the segment at the usual speed
        split = (speed < usual) & (t1 > hour + 1)
        f = np.where(split, np.clip(speed * (hour + 1 - t[c]) / km, 0.0, 1.0), 1.0)
        t_mid = np.where(split, hour + 1.0, t1)
        t1 = np.where(split, t_mid + (1 - f) * km / usual, t1)
        out.append({"car_day": c, "seg": seg, "move": move, "i": i[c], "j": j[c], "t0": t[c],
                    "t1": t_mid, "speed": speed, "f0": np.zeros(c.size), "f1": f})  # fmt: skip
        s_ = np.flatnonzero(split)
        out.append({"car_day": c[s_], "seg": seg[s_], "move": move[s_], "i": i[c][s_],
                    "j": j[c][s_], "t0": t_mid[s_], "t1": t1[s_], "speed": usual[s_],
                    "f0": f[s_], "f1": np.ones(s_.size)})  # fmt: skip
        i[c], j[c] = i[c] + MOVES[move, 0], j[c] + MOVES[move, 1]
        heading[c], t[c] = move, t1
        active[c] = t1 < end_h[c]
    return {k: np.concatenate([o[k] for o in out]) for k in out[0]}


def pings_of(
    grid: Grid,
    trips: dict[str, np.ndarray],
    base_h: np.ndarray,
    step_s: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """The terminal's reports along the traversals: one every ``step_s`` seconds of each car-day's
    clock (``base_h``), placed along the segment, with the traversal's speed and the heading."""
    step = step_s / 3600
    base = base_h[trips["car_day"]]
    first = np.ceil((trips["t0"] - base) / step).astype(np.int64)
    last = np.ceil((trips["t1"] - base) / step).astype(np.int64) - 1
    count = np.maximum(last - first + 1, 0)
    rows = np.repeat(np.arange(count.size), count)
    k = first[rows] + np.arange(rows.size) - np.repeat(np.cumsum(count) - count, count)
    hour = base[rows] + k * step
    t0, t1 = trips["t0"][rows], trips["t1"][rows]
    f0, f1 = trips["f0"][rows], trips["f1"][rows]
    frac = f0 + (f1 - f0) * np.clip((hour - t0) / (t1 - t0), 0.0, 1.0)
    i, j, move = trips["i"][rows], trips["j"][rows], trips["move"][rows]
    i1, j1 = i + MOVES[move, 0], j + MOVES[move, 1]
    lon = grid.xs[i] + (grid.xs[i1] - grid.xs[i]) * frac
    lat = grid.ys[j] + (grid.ys[j1] - grid.ys[j]) * frac
    return {
        "car_day": trips["car_day"][rows],
        "hour": hour,
        "lon": lon,
        "lat": lat,
        "speed": trips["speed"][rows] * np.exp(rng.normal(0, 0.05, rows.size)),
        "heading": (move * 90 + rng.normal(0, 4, rows.size)) % 360,
        "occupied": (rng.random(count.size) < 0.6)[rows],
    }


def dirty(
    pings: dict[str, np.ndarray], start_h: np.ndarray, end_h: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """GPS dirt in place (jitter, bad points) and the rows kept and re-sent: lost pings, a half
    hour with the terminal off on a few car-days, duplicates. Returns the row order to write."""
    n = pings["hour"].size
    pings["lon"] = pings["lon"] + rng.normal(0, 0.00004, n)
    pings["lat"] = pings["lat"] + rng.normal(0, 0.00004, n)
    jump = rng.random(n) < 0.0005  # a multipath jump of a few kilometres
    pings["lon"] = np.where(jump, pings["lon"] + rng.uniform(-0.03, 0.03, n), pings["lon"])
    pings["lat"] = np.where(jump, pings["lat"] + rng.uniform(-0.03, 0.03, n), pings["lat"])
    pings["speed"] = np.where(rng.random(n) < 0.0005, BAD_SPEED, np.round(pings["speed"], 1))
    walks = start_h.size
    off_from = np.where(rng.random(walks) < 0.05, rng.uniform(start_h, end_h, walks), np.inf)[
        pings["car_day"]
    ]
    off = (pings["hour"] >= off_from) & (pings["hour"] < off_from + 0.5)
    off |= pings["hour"] >= end_h[pings["car_day"]]  # off duty: the last crossing is not sent
    kept = np.flatnonzero(~off & (rng.random(n) >= 0.03))
    resent = kept[rng.random(kept.size) < 0.01]
    return np.concatenate([kept, resent])


def build(ctx: SystemContext) -> None:
    w = ctx.world
    plan = ctx.rng(SYSTEM, "plan")
    grid = grid_of(w, plan)
    jams = plant_jams(w, grid, plan)
    happens = jam_days(w, jams, plan)
    jam = jam_codes(jams, happens)
    cars = n_cars(w)
    plates = pa.array([f"川AD{10_000 + 37 * c:05d}" for c in range(cars)], pa.string())
    step_s = ping_seconds(w)
    folder = ctx.dir(SYSTEM)
    epoch0 = w.month_starts[0].astype("datetime64[ms]").astype(np.int64) - 8 * 3600 * 1000
    seq = 0
    for m in range(w.months):
        rng = ctx.rng(SYSTEM, str(m))
        d_month = int((w.month_starts[m] - w.month_starts[0]).astype(np.int64))
        works = rng.random((w.days_in_month(m), cars, len(SHIFTS))) < 0.9
        day_i, car, shift = np.nonzero(works)
        day = d_month + day_i
        start_h = np.array(SHIFTS)[shift, 0] + rng.uniform(0, 0.25, day.size)
        end_h = np.array(SHIFTS)[shift, 1]
        trips = drive(grid, day, start_h, end_h, jam, rng)
        pings = pings_of(grid, trips, start_h, step_s, rng)
        order = dirty(pings, start_h, end_h, rng)
        cd = pings["car_day"][order]
        ms = epoch0 + day[cd] * 86_400_000 + (pings["hour"][order] * 3_600_000).astype(np.int64)
        by_time = np.lexsort((car[cd], ms))
        order, cd, ms = order[by_time], cd[by_time], ms[by_time]
        n = order.size
        table = pa.table(
            {
                "gps_id": concat("TX", padded(np.arange(seq, seq + n), 10)),
                "car_no": plates.take(pa.array(car[cd])),
                "gps_time": ms,
                "lng": np.round(pings["lon"][order], 6),
                "lat": np.round(pings["lat"][order], 6),
                "speed": pings["speed"][order],
                "direction": pings["heading"][order].astype(np.int16),
                "occupied": pings["occupied"][order].astype(np.int8),
            }
        )
        seq += n
        path = folder / f"taxi_{w.month_label(m)}.parquet"
        ctx.count(SYSTEM, write_parquet(path, table, use_dictionary=["car_no"]))
    ctx.truth.write(TRUTH, truth_table(w, grid, jams, happens))


def truth_table(
    world: World, grid: Grid, jams: dict[str, np.ndarray], happens: np.ndarray
) -> pa.Table:
    """One row per planted jam: the segment (road, ``{road_id}-{n}`` as road_traffic numbers it,
    its ends and middle), the hour, the slow factor, free flow, and on how many days it happened
    (weekdays only)."""
    seg = grid.table()
    s = jams["seg"]
    roads = world.geo.roads
    names = dict(zip(roads["road_id"].to_pylist(), roads["road_name"].to_pylist(), strict=True))
    road = seg["road_id"][s]
    return pa.table(
        {
            "segment_no": concat(
                pa.array(road).cast(pa.string()), "-", pa.array(seg["piece"][s]).cast(pa.string())
            ),
            "road_id": road,
            "road_name": [names[r] for r in road.tolist()],
            "lon": np.round(seg["lon"][s], 6),
            "lat": np.round(seg["lat"][s], 6),
            "lon0": seg["lon0"][s],
            "lat0": seg["lat0"][s],
            "lon1": seg["lon1"][s],
            "lat1": seg["lat1"][s],
            "hour": jams["hour"].astype(np.int64),
            "speed_factor": jams["factor"],
            "free_flow_kmh": grid.free_kmh[s],
            "days": happens.sum(axis=1).astype(np.int64),
        }
    )
