"""core.coords: great-circle distances (GCJ-02 shifts are tested through ingest's mapping)."""

from __future__ import annotations

import math

import numpy as np

from citybrain.core.coords import EARTH_RADIUS_M, great_circle_m


def test_great_circle_distances_match_known_arcs() -> None:
    lon = np.array([0.0, 0.0, 180.0])
    lat = np.array([1.0, 0.0, 0.0])
    metres = great_circle_m(lon, lat, 0.0, 0.0)
    assert math.isclose(metres[0], EARTH_RADIUS_M * math.pi / 180, rel_tol=1e-12)  # 1° of meridian
    assert metres[1] == 0.0
    assert math.isclose(metres[2], EARTH_RADIUS_M * math.pi, rel_tol=1e-12)  # the antipode
    # 成都 天府广场 to 春熙路 (about 1.9 km east), from the point's side
    near = great_circle_m(np.array([104.0808]), np.array([30.6571]), 104.0619, 30.6599)
    assert 1_700 < near[0] < 2_000
