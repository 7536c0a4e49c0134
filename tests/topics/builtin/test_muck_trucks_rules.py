"""Muck-truck rules on hand-made tracks: each rule fires on its own case, and noise alone never
raises a violation (tests ``topics/builtin/muck_trucks/{track,rules,violations}.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from citybrain.core.engine import Engine, open_engine
from citybrain.topics.builtin.muck_trucks.rules import (
    RuleLimits,
    daily,
    permit_windows,
    permits_overlap,
    with_permits,
)
from citybrain.topics.builtin.muck_trucks.track import TrackRules, clean_track, ping_counts
from citybrain.topics.builtin.muck_trucks.violations import find_violations
from topics.builtin.gps_noise import add_noise

pytestmark = pytest.mark.duckdb

SITE = (104.00, 30.50)  # construction site
DUMP = (104.05, 30.50)  # disposal site, about 4.8 km east
FIELD = (104.025, 30.53)  # a field far from both


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with open_engine("duckdb", tmp_path / "lake") as e:
        yield e


Point = tuple[float, float]


def leg(
    plate: str, start: datetime, a: Point, b: Point, *, n: int = 12, minutes: float = 5.0,
    speed: float = 35.0, loaded: bool = True,
) -> pa.Table:  # fmt: skip
    frac = np.linspace(0, 1, n)
    return pa.table(
        {
            "plate": [plate] * n,
            "ts": pa.array(
                [start + timedelta(minutes=minutes * i) for i in range(n)], pa.timestamp("us")
            ),
            "lon": a[0] + (b[0] - a[0]) * frac,
            "lat": a[1] + (b[1] - a[1]) * frac,
            "speed": np.full(n, speed),
            "loaded": np.full(n, loaded),
        }
    )


def night(plate: str, day: datetime) -> pa.Table:
    """A lawful shift: 22:00 loaded to the disposal site, back empty, twice."""
    t0 = day.replace(hour=22)
    return pa.concat_tables(
        [
            leg(plate, t0, SITE, DUMP),
            leg(plate, t0 + timedelta(hours=1), DUMP, SITE, loaded=False),
            leg(plate, t0 + timedelta(hours=2), SITE, DUMP),
            leg(plate, t0 + timedelta(hours=3), DUMP, SITE, loaded=False),
        ]
    )


def permits(*plates: str) -> pa.Table:
    n = len(plates)
    return pa.table(
        {
            "permit_no": [f"P{i}" for i in range(n)],
            "plate": list(plates),
            "allowed_hours": ["22:00-06:00"] * n,
            "valid_from": pa.array([datetime(2023, 1, 1).date()] * n),
            "valid_to": pa.array([datetime(2023, 12, 31).date()] * n),
        }
    )


SITES = pa.table({"lon": [SITE[0], DUMP[0]], "lat": [SITE[1], DUMP[1]]})


def found(engine: Engine, pings: pa.Table, plates: pa.Table | None = None) -> set[tuple[str, ...]]:
    v = find_violations(
        engine,
        engine.register("pings", pings),
        engine.register("permits", plates if plates is not None else permits("川A00001")),
        engine.register("sites", SITES),
        TrackRules(),
        RuleLimits(),
    )
    return set(v[["plate", "kind", "period"]].itertuples(index=False, name=None))


DAY = datetime(2023, 3, 14)


def test_a_lawful_night_is_clean(engine: Engine) -> None:
    assert found(engine, night("川A00001", DAY)) == set()


def test_driving_by_day_is_outside_hours(engine: Engine) -> None:
    day = leg("川A00001", DAY.replace(hour=10), SITE, DUMP, n=12, minutes=5)
    assert found(engine, pa.concat_tables([night("川A00001", DAY), day])) == {
        ("川A00001", "outside_hours", "2023-03-14")
    }


def test_a_night_shift_past_midnight_counts_on_its_evening(engine: Engine) -> None:
    late = leg("川A00001", DAY.replace(hour=23, minute=50), SITE, DUMP, n=30, minutes=10)
    assert found(engine, late) == set()  # 23:50 to 04:40: all within 22:00-06:00


def test_standing_loaded_in_a_field_is_suspected_dumping(engine: Engine) -> None:
    t0 = DAY.replace(hour=23)
    stop = leg("川A00001", t0 + timedelta(minutes=30), FIELD, FIELD, n=4, minutes=5, speed=0.0)
    track = pa.concat_tables([leg("川A00001", t0, SITE, FIELD, n=6), stop])
    assert found(engine, track) == {("川A00001", "illegal_dumping", "2023-03-14")}


def test_standing_empty_or_at_a_site_is_not_dumping(engine: Engine) -> None:
    t0 = DAY.replace(hour=23)
    empty = leg("川A00001", t0, FIELD, FIELD, n=6, minutes=5, speed=0.0, loaded=False)
    at_site = leg("川A00001", t0 + timedelta(hours=1), DUMP, DUMP, n=6, minutes=5, speed=0.0)
    assert found(engine, pa.concat_tables([empty, at_site])) == set()


def _lone_stop(plate: str, before: float, after: float) -> pa.Table:
    """A sparse terminal: driving pings 20 minutes apart and one loaded ping standing in the
    field, ``before`` minutes after the last driving ping and ``after`` minutes before the next."""
    t0 = DAY.replace(hour=23)
    there = leg(plate, t0, SITE, FIELD, n=3, minutes=20)
    at = t0 + timedelta(minutes=40 + before)
    stop = leg(plate, at, FIELD, FIELD, n=1, speed=0.0)
    back = leg(plate, at + timedelta(minutes=after), FIELD, DUMP, n=3, minutes=20)
    return pa.concat_tables([there, stop, back])


def _moved(track: pa.Table, row: int, d_lon: float) -> pa.Table:
    lon = track["lon"].to_numpy().copy()
    lon[row] += d_lon  # 0.1 degree of longitude: about 9.6 km here
    return track.set_column(2, "lon", pa.array(lon))


def sparse_terminals() -> tuple[pa.Table, set[str]]:
    """Tracks of sparse terminals (one truck per case) and the trucks that stopped to dump."""
    cases = {
        "川A00001": (22.0, 4.5),  # about 13 minutes its own (small city seed 5's missed trip)
        "川A00002": (4.5, 22.0),
        "川A00003": (2.0, 2.0),  # a dense terminal: a short halt
        "川A00004": (240.0, 10.0),  # after a long silence a lone fix says nothing
        "川A00005": (12.0, 3.0),  # 7.5 minutes: shorter than 8
    }
    track = [_lone_stop(p, *gaps) for p, gaps in cases.items()]
    # a jump that says "standing" one second after a real fix, 30 km away, silence after it
    track.append(_moved(_lone_stop("川A00006", 1 / 60, 120.0), 3, 0.3))
    # every reported speed impossible, ~0.9 km per 20 min: implied 2.6 km/h, but it drove
    track.append(leg("川A00007", DAY.replace(hour=23), SITE, FIELD, n=6, minutes=20, speed=999.0))
    # a jump whose real fix was lost: 19 km from fixes 20 minutes away on both sides (57 km/h,
    # no jump by the track's rule) left no time to stand there at a truck's speed
    track.append(_moved(_lone_stop("川A00008", 20.0, 20.0), 3, 0.2))
    # but a field 5.8 km off, 25 minutes each way, leaves 16 minutes to stand: a stop
    track.append(_moved(_lone_stop("川A00009", 25.0, 25.0), 3, 0.06))
    # two "standing" jumps in a row, 25 km apart 12 minutes apart: two places, no stop
    two = _moved(_lone_stop("川A00010", 15.0, 24.0), 3, 0.13)
    at = DAY.replace(hour=23) + timedelta(minutes=67)
    other = (FIELD[0] - 0.13, FIELD[1])
    track += [two, leg("川A00010", at, other, other, n=1, speed=0.0)]
    return pa.concat_tables(track), {"川A00001", "川A00002", "川A00009"}


def test_stops_of_a_sparse_terminal(engine: Engine) -> None:
    """A lone standing ping stands for half the time its neighbours leave spare (at a truck's
    road speed), each leaving half the shortest stop; speeds no truck can reach say nothing of
    standing when the truck moved on (a slow average over 20-minute gaps)."""
    track, dumped = sparse_terminals()
    held = permits(*sorted(set(track["plate"].to_pylist())))
    assert found(engine, track, held) == {(p, "illegal_dumping", "2023-03-14") for p in dumped}


def test_other_fleets_in_the_ping_table_are_not_muck_trucks(engine: Engine) -> None:
    taxi = leg("川AT0001", DAY.replace(hour=10), SITE, DUMP, n=12, minutes=5, speed=70.0)
    taxi = taxi.set_column(5, "loaded", pa.nulls(taxi.num_rows, pa.bool_()))  # no load status
    unpermitted = night("川A00002", DAY)  # a muck terminal (load status) without a permit
    # a permit holder whose terminal reports no load is still judged (by day, too fast)
    blind = taxi.set_column(0, "plate", pa.array(["川A00001"] * taxi.num_rows))
    assert found(engine, pa.concat_tables([taxi, unpermitted, blind])) == {
        ("川A00002", "no_permit", "2023-03"),
        ("川A00001", "outside_hours", "2023-03-14"),
        ("川A00001", "speeding", "2023-03-14"),
    }


def test_a_truck_without_permit_is_flagged_once_a_month(engine: Engine) -> None:
    track = pa.concat_tables([night("川A00002", DAY), night("川A00002", DAY + timedelta(days=1))])
    assert found(engine, track) == {("川A00002", "no_permit", "2023-03")}


def test_speeding_needs_more_than_one_fast_fix(engine: Engine) -> None:
    t0 = DAY.replace(hour=23)
    one = leg("川A00001", t0, SITE, DUMP, n=12, minutes=5)
    speeds = one["speed"].to_numpy().copy()
    speeds[5] = 80.0
    single = one.set_column(4, "speed", pa.array(speeds))
    assert found(engine, single) == set()
    speeds[6] = 90.0
    double = one.set_column(4, "speed", pa.array(speeds))
    assert found(engine, double) == {("川A00001", "speeding", "2023-03-14")}


def test_noise_alone_raises_no_violation(engine: Engine) -> None:
    days = [DAY + timedelta(days=d) for d in range(5)]
    clean = pa.concat_tables([night(p, d) for p in ("川A00001", "川A00003") for d in days])
    lawful = permits("川A00001", "川A00003")
    assert found(engine, clean, lawful) == set()
    # a parked truck drifting at its site all day, engine off, reporting 0 km/h
    parked = leg("川A00003", DAY.replace(hour=8), DUMP, DUMP, n=100, minutes=6, speed=0.0)
    drift = np.random.default_rng(3).normal(0, 0.0002, (2, parked.num_rows))
    parked = parked.set_column(2, "lon", pa.array(parked["lon"].to_numpy() + drift[0]))
    parked = parked.set_column(3, "lat", pa.array(parked["lat"].to_numpy() + drift[1]))
    noisy = add_noise(pa.concat_tables([clean, parked]), seed=5, share=0.05)
    assert noisy.num_rows > clean.num_rows
    assert found(engine, noisy, lawful) == set()


def test_noise_hides_no_real_violation(engine: Engine) -> None:
    day = leg("川A00001", DAY.replace(hour=10), SITE, DUMP, n=24, minutes=5)
    track = pa.concat_tables([night("川A00001", DAY), day])
    noisy = add_noise(track, seed=2, share=0.05)
    assert found(engine, noisy) == {("川A00001", "outside_hours", "2023-03-14")}


def test_broken_fixes_are_counted_not_fatal(engine: Engine) -> None:
    track = night("川A00001", DAY)
    bad = pa.table(
        {
            "plate": [None, "川A00001", "川A00001", "  "],
            "ts": pa.array([DAY, None, DAY, DAY], pa.timestamp("us")),
            "lon": [104.0, 104.0, 0.0, 104.0],
            "lat": [30.5, 30.5, 0.0, 30.5],
            "speed": [10.0, 10.0, 10.0, 10.0],
            "loaded": [True, True, True, True],
        }
    )
    both = pa.concat_tables([track, bad])
    assert found(engine, both) == set()
    counts = ping_counts(engine.register("both", both), TrackRules())
    figures = {
        k: int(engine.to_arrow(v.as_table()).column(0)[0].as_py()) for k, v in counts.items()
    }
    assert figures["received"] == both.num_rows
    assert figures["usable"] == track.num_rows


def test_clean_track_orders_and_merges(engine: Engine) -> None:
    track = night("川A00001", DAY)
    shuffled = pa.concat_tables([track, track.slice(0, 5)]).take(
        pa.array(np.random.default_rng(0).permutation(track.num_rows + 5))
    )
    clean = engine.to_pandas(clean_track(engine.register("s", shuffled), TrackRules()))
    assert len(clean) == track.num_rows
    assert int(clean["copies"].max()) == 2


def test_places_are_exact_means_in_any_order_of_the_pings(engine: Engine) -> None:
    """A day's place (and its driving outside the hours') is the exact mean of its pings, the
    same in whatever order the engine sums them: a float sum's order moved a 6-decimal
    terminal's tie at the 7th decimal with the engine's thread count."""
    n = 48
    micro = np.random.default_rng(3).integers(104_000_000, 104_100_000, n)  # 6 decimals
    lon = micro / 1e6
    assert sum(lon) != sum(lon[::-1])  # two orders, two float sums: what this test must catch
    outside = np.arange(n) % 3 == 0
    pinged = pa.table(
        {
            "plate": ["川A00001"] * n,
            "shift_date": pa.array([DAY.date()] * n),
            "ts": pa.array([DAY + timedelta(minutes=i) for i in range(n)], pa.timestamp("us")),
            "lon": lon,
            "lat": np.full(n, 30.5),
            "speed_ok": np.full(n, 30.0),
            "standing": np.zeros(n, bool),
            "allowed": ~outside,
            "permitted": np.ones(n, bool),
        }
    )
    exact = float(Fraction(int(micro.sum()), n * 10**6))
    exact_outside = float(Fraction(int(micro[outside].sum()), int(outside.sum()) * 10**6))
    for name, rows in (("forward", pinged), ("backward", pinged.take(np.arange(n)[::-1]))):
        day = engine.to_pandas(daily(engine.register(name, rows), RuleLimits()))
        assert day["lon"].tolist() == [exact], name
        assert day["outside_lon"].tolist() == [exact_outside], name


def _permit(no: str, hours: str, valid_from: str, valid_to: str) -> dict[str, object]:
    return {
        "permit_no": no,
        "plate": "川A00001",
        "allowed_hours": hours,
        "valid_from": date.fromisoformat(valid_from),
        "valid_to": date.fromisoformat(valid_to),
    }


def test_a_permit_renewed_or_two_at_once(engine: Engine) -> None:
    """Hours come from the permit valid that day (a renewal with other hours: one at a time, each
    ping joins one); with two valid at once, a ping within either's hours is allowed."""
    morning = [leg("川A00001", d.replace(hour=7), SITE, DUMP) for d in (DAY, DAY.replace(month=8))]
    renewed = pa.Table.from_pylist(
        [
            _permit("P1", "22:00-06:00", "2023-01-01", "2023-06-30"),
            _permit("P2", "06:00-10:00", "2023-07-01", "2023-12-31"),
        ]
    )
    assert not permits_overlap(engine.to_pandas(permit_windows(engine.register("r", renewed))))
    assert found(engine, pa.concat_tables(morning), renewed) == {
        ("川A00001", "outside_hours", "2023-03-14")
    }
    march = _permit("P3", "05:00-09:00", "2023-03-01", "2023-03-31")
    both = pa.Table.from_pylist([*renewed.to_pylist(), march])
    assert permits_overlap(engine.to_pandas(permit_windows(engine.register("b", both))))
    assert found(engine, pa.concat_tables(morning), both) == set()


def test_pings_meeting_one_permit_each_need_no_grouping(engine: Engine) -> None:
    """`with_permits` without the group-by (no two permits of a plate valid on a common day)
    gives the rows the group-by gives."""
    pings = pa.concat_tables([night("川A00001", DAY), night("川A00002", DAY),
                              leg("川A00001", DAY.replace(hour=10), SITE, DUMP)])  # fmt: skip
    windows = permit_windows(engine.register("p", permits("川A00001")))
    track = clean_track(engine.register("t", pings), TrackRules())
    one, grouped = (
        engine.to_arrow(with_permits(track, windows, overlapping=o)).sort_by("ts").sort_by("plate")
        for o in (False, True)
    )
    assert one.num_rows == pings.num_rows and one.equals(grouped)
    assert 0 < pc.sum(one["permitted"]).as_py() < one.num_rows  # 川A00002 holds no permit
