"""core.coords: great-circle distances, and how GCJ-02 → WGS-84 converges (the shifts themselves
are tested through ingest's mapping)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from citybrain.core import coords
from citybrain.core.coords import EARTH_RADIUS_M, gcj02_to_wgs84, great_circle_m, wgs84_to_gcj02


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


def _china_wide(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.uniform(73.5, 135.0, n), rng.uniform(18.0, 53.5, n)


def test_gcj02_to_wgs84_returns_the_points_within_microns() -> None:
    lon, lat = _china_wide(20_000)
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    worst_deg = max(np.abs(back_lon - lon).max(), np.abs(back_lat - lat).max())
    assert worst_deg * 111_000 < 1e-4  # metres: a tenth of a millimetre


def test_gcj02_to_wgs84_stops_once_settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed rounds cost minutes on a month of a city's bike positions: the loop ends when a step
    moves no point by more than a millimetre (four steps across China), and at once for points
    outside China (not shifted) or unknown (NaN)."""
    calls: list[int] = []
    forward = coords.wgs84_to_gcj02

    def counted(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(len(lon))
        return forward(lon, lat)

    monkeypatch.setattr(coords, "wgs84_to_gcj02", counted)
    gcj02_to_wgs84(*forward(*_china_wide(20_000)))
    assert 3 <= len(calls) <= 4
    calls.clear()
    abroad = gcj02_to_wgs84(np.array([2.35, np.nan]), np.array([48.86, np.nan]))  # Paris, unknown
    assert len(calls) == 1
    assert abroad[0][0] == 2.35 and abroad[1][0] == 48.86
    assert np.isnan(abroad[0][1]) and np.isnan(abroad[1][1])
