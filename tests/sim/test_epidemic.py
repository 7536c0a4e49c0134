"""The epidemic: arrivals read like tickets, and travel contacts shared the case's trip."""

from __future__ import annotations

import re

import pyarrow.compute as pc

from citybrain.sim.epidemic import build_epidemic
from citybrain.sim.scales import SCALES
from citybrain.sim.world import build_world


def test_arrivals_and_travel_contacts() -> None:
    epi = build_epidemic(build_world(SCALES["small"], 3))
    a = epi.arrivals
    assert a.num_rows > 10_000
    trips = set(a["trip"].to_pylist())
    assert all(re.fullmatch(r"[GD]8\d{3}|(3U|CA|MU|CZ)8\d{3}", t) for t in trips), trips
    rail = a.filter(a["rail"])["trip"].to_pylist()
    assert all(t[0] in "GD" for t in rail)
    assert all(
        re.fullmatch(r"(0[1-9]|1[0-6])车(1[0-9]|[1-9])[ABCDF]", s) for s in a["seat"].to_pylist()
    )
    travel = epi.contacts.filter(pc.equal(epi.contacts["kind"], "travel")).to_pylist()
    assert travel, "imported cases should have fellow passengers"
    rows = a.select(["person_id", "day", "trip"]).to_pylist()
    trip_of = {(r["person_id"], r["day"]): r["trip"] for r in rows}
    for c in travel[:300]:
        assert trip_of[(c["person_id"], c["day"])] == trip_of[(c["contact_of"], c["day"])]
