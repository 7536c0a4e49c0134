"""The sim plants off-route days (tests ``sim/muck.py``): only permitted trucks (an unpermitted
truck has no route to leave), never on a day the truck already breaks another rule, the detour
``DETOUR_M`` across its route and inside the zone; the other violations are drawn as before."""

from __future__ import annotations

import numpy as np

from citybrain.sim.geography import LAT0, LAT1, LON0, LON1
from citybrain.sim.muck import DETOUR_M, build_muck
from citybrain.sim.scales import SCALES
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
