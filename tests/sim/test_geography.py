"""The map's addresses are as unambiguous as a real city's: one name per compound, one compound
per road number, and the register's alias list with an old road that was split."""

from __future__ import annotations

from collections import Counter

import pytest

from citybrain.sim.geography import _park_name, build_geography
from citybrain.sim.scales import SCALES


@pytest.mark.parametrize("scale", ["tiny", "small", "district"])
def test_every_compound_has_its_own_name_and_road_number(scale: str) -> None:
    estates = build_geography(SCALES[scale], 7).estates.to_pylist()
    names = Counter(e["estate_name"] for e in estates)
    gates = Counter((e["road_id"], e["road_no"]) for e in estates)
    assert [n for n, c in names.items() if c > 1] == []
    assert [g for g, c in gates.items() if c > 1] == []


def test_office_parks_take_the_next_zone_letter() -> None:
    assert [_park_name(k) for k in (0, 1, 12, 13)] == [
        "软件园A区",
        "孵化园A区",
        "软件园B区",
        "孵化园B区",
    ]
    assert _park_name(12 * 26) == "软件园2A区"


def test_one_old_road_name_belongs_to_two_streets() -> None:
    aliases = build_geography(SCALES["small"], 7).road_aliases.to_pylist()
    roads_of: dict[str, set[str]] = {}
    for a in aliases:
        roads_of.setdefault(a["old_name"], set()).add(a["road_name"])
    assert sorted(len(r) for r in roads_of.values())[-1] == 2
