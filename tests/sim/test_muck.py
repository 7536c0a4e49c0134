"""The sim plants off-route days (tests ``sim/muck.py``): only permitted trucks (an unpermitted
truck has no route to leave), never on a day the truck already breaks another rule, the detour
``DETOUR_M`` across its route and inside the zone; the other violations are drawn as before."""

from __future__ import annotations

import numpy as np
from pytest import approx

from citybrain.sim.geography import LAT0, LAT1, LON0, LON1
from citybrain.sim.muck import (
    DETOUR_M,
    DUMP_KMH,
    DUMP_START_H,
    DUMP_STAY_MIN,
    DUMP_STEP_MIN,
    build_muck,
)
from citybrain.sim.scales import SCALES
from citybrain.sim.systems.muck_gps import BACK, OUT, ROUTE, STAY, TruckDays
from citybrain.sim.world import build_world


def test_detours_beside_the_route_of_permitted_trucks_only() -> None:
    plan = build_muck(build_world(SCALES["small"], 5, people=False))
    v = plan.violations.to_pandas()
    off = v.loc[v["kind"] == "off_route"]
    assert len(off) >= 5
    trucks = plan.trucks.to_pandas().set_index("truck_id")
    assert trucks.loc[off["truck_id"], "permitted"].all()
    assert not v.duplicated(["truck_id", "day"]).any()  # one rule broken per truck-day
    assert (v.loc[v["kind"] != "off_route", ["d_lon", "d_lat"]] == 0).all().all()

    sites = plan.sites.to_pandas().set_index("site_id")
    a = sites.loc[trucks.loc[off["truck_id"], "site_id"], ["lon", "lat"]].to_numpy()
    b = sites.loc[trucks.loc[off["truck_id"], "disposal_id"], ["lon", "lat"]].to_numpy()
    kx = 111_320.0 * np.cos(np.radians((LAT0 + LAT1) / 2))
    route = (b - a) * [kx, 110_574.0]
    offset = off[["d_lon", "d_lat"]].to_numpy() * [kx, 110_574.0]
    assert np.allclose(np.hypot(offset[:, 0], offset[:, 1]), DETOUR_M)
    assert np.allclose((route * offset).sum(axis=1), 0.0, atol=1e-6 * DETOUR_M**2)  # across
    assert off["lon"].between(LON0, LON1).all() and off["lat"].between(LAT0, LAT1).all()


def test_a_dumping_trip_is_driven_at_road_speed() -> None:
    """The truth's half-hour stop is in the track, and every position is reachable from the one
    before at the trip's speed (the sim once put the truck in the field for one ping and back on
    its route the next, 10+ km away 20 minutes apart — tests ``systems/muck_gps.TruckDays``)."""
    site, disposal, field = (104.01, 30.52), (104.09, 30.52), (104.05, 30.64)  # field ~13 km off
    one = np.array
    days = TruckDays(one([22.0, 22.0]), one([site[0]] * 2), one([site[1]] * 2),
                     one([disposal[0]] * 2), one([disposal[1]] * 2),
                     one([field[0], np.nan]), one([field[1], np.nan]))  # fmt: skip
    hours = np.arange(22.0, 30.0, 1 / 60)  # every minute of the shift
    rows = np.zeros(hours.size, np.int64)
    lon, lat, loaded, leg = days.at(rows, hours)
    kx = 111_320.0 * np.cos(np.radians(30.57))
    kmh = np.hypot(np.diff(lon) * kx, np.diff(lat) * 110_574.0) / 1000 * 60
    assert kmh.max() <= DUMP_KMH * 1.01
    at_field = np.hypot((lon - field[0]) * kx, (lat - field[1]) * 110_574.0) < 1.0
    assert at_field.sum() == DUMP_STAY_MIN and (leg[at_field] == STAY).all()
    assert loaded[leg == OUT].all() and loaded[at_field].all() and not loaded[leg == BACK].any()
    assert (hours[leg != ROUTE].min() - DUMP_START_H) * 60 < 1.0
    trip_rows, trip_hours = days.trip_pings(np.array([0]))
    assert list(np.diff(trip_hours) * 60) == approx([DUMP_STEP_MIN] * (trip_hours.size - 1))
    assert (trip_rows == 0).all()
    assert (days.at(trip_rows, trip_hours)[3] == STAY).sum() >= 2  # the stop is seen as a stop
    # a day without a dumping trip is the plain shuttle
    plain = days.at(np.ones(hours.size, np.int64), hours)
    assert (plain[3] == ROUTE).all()
