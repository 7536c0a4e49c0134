"""Off-route driving on hand-made tracks (tests ``topics/builtin/muck_trucks/corridor.py`` through
``violations.find_violations``): a detour off the permit's route is found; a lawful night, GPS
noise, one or two stray fixes off the corridor, and permits without a route raise nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from citybrain.core.engine import Engine, open_engine
from citybrain.topics.builtin.muck_trucks.rules import RuleLimits
from citybrain.topics.builtin.muck_trucks.track import TrackRules
from citybrain.topics.builtin.muck_trucks.violations import find_violations
from topics.builtin.gps_noise import add_noise
from topics.builtin.test_muck_trucks_rules import DAY, DUMP, FIELD, SITE, SITES, leg, night, permits

pytestmark = pytest.mark.duckdb
ROUTE = f"LINESTRING({SITE[0]} {SITE[1]},{DUMP[0]} {DUMP[1]})"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with open_engine("duckdb", tmp_path / "lake") as e:
        yield e


def routed(*plates: str, route: str | None = ROUTE) -> pa.Table:
    table = permits(*plates)
    return table.append_column("route", pa.array([route] * table.num_rows, pa.string()))


def off_route(engine: Engine, pings: pa.Table, plates: pa.Table) -> set[tuple[str, str]]:
    v = find_violations(
        engine,
        engine.register("pings", pings),
        engine.register("permits", plates),
        engine.register("sites", SITES),
        TrackRules(),
        RuleLimits(),
    )
    return set(v.loc[v["kind"] == "off_route", ["plate", "period"]].itertuples(index=False))


def detour(plate: str) -> pa.Table:
    t0 = DAY.replace(hour=22)
    return pa.concat_tables(
        [leg(plate, t0, SITE, FIELD, n=8), leg(plate, t0 + timedelta(minutes=40), FIELD, DUMP, n=8)]
    )


def strays(plate: str, n: int) -> pa.Table:
    """A lawful night with ``n`` fixes in a row about 1.1 km north of the route (at speeds a
    truck can drive, so the track cleaning keeps them)."""
    track = night(plate, DAY)
    lat = track["lat"].to_numpy().copy()
    lat[5 : 5 + n] += 0.01
    return track.set_column(track.schema.get_field_index("lat"), "lat", pa.array(lat))


def test_a_detour_is_off_route_and_noise_or_stray_fixes_are_not(engine: Engine) -> None:
    lawful = pa.concat_tables([night("川A00001", DAY + timedelta(days=d)) for d in range(3)])
    tracks = pa.concat_tables(
        [
            add_noise(lawful, seed=7, share=0.05),  # jumps, repeats, reordering, 0,0, gaps
            detour("川A00002"),
            strays("川A00003", 1),
            strays("川A00004", 2),
        ]
    )
    plates = routed("川A00001", "川A00002", "川A00003", "川A00004")
    assert np.abs(strays("x", 1)["lat"].to_numpy() - SITE[1]).max() > 0.009
    assert off_route(engine, tracks, plates) == {("川A00002", "2023-03-14")}


def test_without_a_readable_route_nothing_is_judged(engine: Engine) -> None:
    tracks = pa.concat_tables([detour("川A00001"), detour("川A00002")])
    plates = pa.concat_tables(
        [routed("川A00001", route=None), routed("川A00002", route="LINESTRING(oops)")]
    )
    assert off_route(engine, tracks, plates) == set()


def test_a_detour_across_the_shift_start_is_one_run_on_the_day_it_began(engine: Engine) -> None:
    """Off the route from before 06:00 to after it: one run, on the shift it began, as long as
    the whole detour; fixes on route before 06:00 start no run on that shift. (Only the
    truck-days with a fix off the route are windowed: both shifts are.)"""
    early = DAY.replace(hour=5, minute=20)
    across = pa.concat_tables(
        [leg("川A00001", early, SITE, FIELD, n=8),
         leg("川A00001", early + timedelta(minutes=40), FIELD, DUMP, n=8)]
    )  # fmt: skip
    after = pa.concat_tables(
        [leg("川A00002", early, SITE, DUMP, n=8),
         leg("川A00002", early + timedelta(minutes=40), FIELD, DUMP, n=8)]
    )  # fmt: skip
    v = find_violations(
        engine,
        engine.register("pings", pa.concat_tables([across, after])),
        engine.register("permits", routed("川A00001", "川A00002")),
        engine.register("sites", SITES),
        TrackRules(),
        RuleLimits(),
    )
    runs = v.loc[v["kind"] == "off_route"].set_index("plate")
    assert sorted(runs["period"].items()) == [
        ("川A00001", "2023-03-13"),
        ("川A00002", "2023-03-14"),
    ]
    # the detour spans 06:00 and is counted whole: longer than its part on either side
    assert runs.loc["川A00001", "observed"] > runs.loc["川A00002", "observed"]
