"""Arrivals by train and plane, and the infections and close contacts they bring.

Epidemic episodes last three weeks; arrivals from the episode's risk city are sometimes infected
(imported cases). Fellow passengers on the same trip that day become travel contacts; a resident
case infects some household members and makes the rest, and the neighbours on its landing (same
unit, the case's floor and the floors above and below), contacts. An episode whose draw brings no
case still gets one (its first resident arrival from the risk city), so a tiny city has one. All
arrays are built at once (rows are arrivals, a few hundred thousand at district scale); the
systems (交通, 卫健, 社区排查) are views of this."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from citybrain.sim.rng import rng_for
from citybrain.sim.world import World

ORIGINS = [
    "北京",
    "上海",
    "广州",
    "深圳",
    "重庆",
    "西安",
    "昆明",
    "贵阳",
    "武汉",
    "长沙",
    "杭州",
    "南京",
    "郑州",
    "兰州",
    "乌鲁木齐",
    "拉萨",
    "三亚",
    "哈尔滨",
]
STATIONS = ["成都东站", "成都南站", "成都西站", "天府国际机场", "双流国际机场"]


def _trip_names() -> pa.Array:
    """Train numbers (G/D) then flight numbers, indexed by trip code."""
    no = np.arange(10 * len(ORIGINS))
    trains = [f"{'G' if k % 2 == 0 else 'D'}{8000 + k * 7 % 1000}" for k in no]
    flights = [f"{('3U', 'CA', 'MU', 'CZ')[k % 4]}{8400 + k * 13 % 500}" for k in no]
    return pa.array(trains + flights)


# every car 01–16, row 1–19 and seat letter, indexed by ((car - 1) * 19 + row - 1) * 5 + letter
_SEATS = pa.array([f"{c:02d}车{r}{x}" for c in range(1, 17) for r in range(1, 20) for x in "ABCDF"])
_TRIPS = _trip_names()


@dataclass(frozen=True)
class Epidemic:
    arrivals: pa.Table  # arrival_id, person_id, day, time, mode, station, trip, origin, car_seat
    infections: pa.Table  # person_id, infected_day, kind, source_person_id, episode
    contacts: pa.Table  # person_id, contact_of, kind, day, episode
    episodes: pa.Table  # episode, start_day, end_day, risk_origin


def build_epidemic(world: World) -> Epidemic:
    """The epidemic of this world (systems share one through ``SystemContext.shared``)."""
    rng = rng_for(world.seed, "epidemic")
    sc = world.scale
    days = world.days
    per_day = rng.poisson(sc.arrivals_per_day, days)
    day = np.repeat(np.arange(days), per_day)
    n = day.size
    p = world.pop.persons
    role = p["role"].to_numpy(zero_copy_only=False)
    residents = np.flatnonzero(
        (role != "visitor")
        & (role != "absentee")
        & p["phone"].is_valid().to_numpy(zero_copy_only=False)
    )
    visitors = np.flatnonzero(role == "visitor")
    is_res = rng.random(n) < 0.45
    person = np.where(
        is_res,
        residents[rng.integers(0, residents.size, n)],
        visitors[rng.integers(0, max(1, visitors.size), n)],
    )
    rail = rng.random(n) < 0.7
    station = np.where(rail, rng.choice(3, n, p=[0.7, 0.2, 0.1]), 3 + rng.integers(0, 2, n))
    origin = rng.integers(0, len(ORIGINS), n)
    # a few trips per origin and day, so passengers from the zone share trains and flights
    trip_no = origin * 10 + rng.integers(0, 3, n)
    # trips and seats are a few thousand distinct texts: rows hold integer codes into them
    # (NumPy unicode arrays of millions of rows cost gigabytes at city size)
    trip = np.where(rail, trip_no, trip_no + 10 * len(ORIGINS))
    minute = rng.integers(6 * 60, 24 * 60, n)
    order = np.lexsort((minute, day))
    day, person, rail, station = day[order], person[order], rail[order], station[order]
    origin, trip, minute = origin[order], trip[order], minute[order]
    car, row, letter = rng.integers(1, 17, n), rng.integers(1, 20, n), rng.integers(0, 5, n)
    seat = ((car - 1) * 19 + row - 1) * 5 + letter
    arrivals = pa.table(
        {
            "arrival_id": np.arange(n, dtype=np.int64),
            "person_id": person,
            "day": day,
            "minute": minute,
            "rail": rail,
            "station": pa.array(STATIONS).take(pa.array(station)),
            "trip": _TRIPS.take(pa.array(trip)),
            "origin": pa.array(ORIGINS).take(pa.array(origin)),
            "seat": _SEATS.take(pa.array(seat)),
        }
    )
    # episodes: one every ~10 months, three weeks long, with a risk city
    n_ep = max(1, sc.months // 10)
    ep_start = np.sort(rng.integers(10, max(11, days - 25), n_ep))
    ep_origin = rng.integers(0, len(ORIGINS), n_ep)
    inf_rows: list[tuple[int, int, str, int, int]] = []
    con_rows: list[tuple[int, int, str, int, int]] = []
    has_home = p["dwelling_id"].to_numpy()[person] >= 0
    for ep in range(n_ep):  # per episode (a handful), not per row
        window = (day >= ep_start[ep]) & (day < ep_start[ep] + 21) & (origin == ep_origin[ep])
        cases = np.flatnonzero(window & (rng.random(n) < 0.08))
        if cases.size == 0:  # a small city too gets its imported case: the first resident arrival
            cases = np.flatnonzero(window & has_home)[:1]
        for c in cases[:200]:
            src = int(person[c])
            inf_rows.append((src, int(day[c]), "imported", -1, ep))
            mates = np.flatnonzero((day == day[c]) & (trip == trip[c]))
            con_rows += [
                (int(person[x]), src, "travel", int(day[c]), ep) for x in mates if person[x] != src
            ]
            _household(world, rng, src, int(day[c]), ep, inf_rows, con_rows)
    infections = pa.Table.from_pylist(
        [
            dict(
                zip(
                    ("person_id", "infected_day", "kind", "source_person_id", "episode"),
                    r,
                    strict=True,
                )
            )
            for r in inf_rows
        ],
        schema=pa.schema(
            [
                ("person_id", pa.int64()),
                ("infected_day", pa.int64()),
                ("kind", pa.string()),
                ("source_person_id", pa.int64()),
                ("episode", pa.int64()),
            ]
        ),
    )
    contacts = pa.Table.from_pylist(
        [
            dict(zip(("person_id", "contact_of", "kind", "day", "episode"), r, strict=True))
            for r in con_rows
        ],
        schema=pa.schema(
            [
                ("person_id", pa.int64()),
                ("contact_of", pa.int64()),
                ("kind", pa.string()),
                ("day", pa.int64()),
                ("episode", pa.int64()),
            ]
        ),
    )
    episodes = pa.table(
        {
            "episode": np.arange(n_ep),
            "start_day": ep_start,
            "end_day": ep_start + 21,
            "risk_origin": np.array(ORIGINS)[ep_origin],
        }
    )
    return Epidemic(arrivals, infections, contacts, episodes)


def _household(
    world: World,
    rng: np.random.Generator,
    src: int,
    day: int,
    ep: int,
    inf_rows: list[tuple[int, int, str, int, int]],
    con_rows: list[tuple[int, int, str, int, int]],
) -> None:
    """A resident case infects some flatmates; the rest and the landing neighbours are contacts."""
    p = world.pop.persons
    home = int(p["dwelling_id"][src].as_py())
    if home < 0:
        return
    # only who lives there that month: a flatmate who moves in later was never exposed
    when = world.month_starts[0] + np.timedelta64(day, "D")
    m = int(np.searchsorted(world.month_starts, when, side="right") - 1)
    there = (p["in_month"].to_numpy() <= m) & (m < p["out_month"].to_numpy())
    dw = np.where(there, p["dwelling_id"].to_numpy(), -1)
    mates = np.flatnonzero(dw == home)
    for x in mates:
        if x == src:
            continue
        if rng.random() < 0.35:
            inf_rows.append((int(x), day + int(rng.integers(2, 7)), "household", src, ep))
        else:
            con_rows.append((int(x), src, "household", day, ep))
    # neighbours: who lives in the same stairwell on the case's floor or the floor above or below
    # (they share the landing and the lift); the rest of the building is not a contact
    d = world.geo.dwellings
    b, u, f = d["building_id"].to_numpy(), d["unit"].to_numpy(), d["floor"].to_numpy()
    landing = np.flatnonzero((b == b[home]) & (u == u[home]) & (np.abs(f - f[home]) <= 1))
    near = np.flatnonzero(np.isin(dw, landing[landing != home]))
    for x in near:
        con_rows.append((int(x), src, "neighbour", day, ep))
