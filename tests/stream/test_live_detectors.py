"""The live detectors' knowledge of the workspace and the bike positions detector, on small
hand-written tables (no broker)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from citybrain.core.coords import wgs84_to_gcj02
from citybrain.core.workspace import Workspace
from citybrain.stream.detector import DetectorContext, StreamBatch
from citybrain.stream.detectors.bike_positions import BikePositionDetector
from citybrain.stream.detectors.muck_trucks import MuckTruckDetector


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.init(tmp_path / "ws")


def test_bind_reads_sites_and_each_plates_newest_permit_hours(workspace: Workspace) -> None:
    permits = pa.table(
        {
            "permit_no": ["P1", "P2", "P3", "P4"],
            "plate": ["川A00001", "川A00001", "川A00002", "川A00003"],
            "allowed_hours": ["20:00-05:00", "21:30-04:00", "22:00-06:00", "白天"],
            "valid_from": [date(2024, 1, 1), date(2024, 6, 1), date(2024, 1, 1), None],
            "valid_to": [date(2024, 5, 31), date(2024, 12, 31), date(2024, 12, 31), None],
        }
    )
    sites = pa.table({"site_id": ["S1", "S2"], "kind": ["construction", "disposal"],
                      "lon": [104.05, 104.10], "lat": [30.55, 30.60]})  # fmt: skip
    with workspace.engine() as engine:
        engine.write(permits, "std", "transport_permit")
        engine.write(sites, "std", "site")
    detector = MuckTruckDetector()
    assert detector.sites is None and detector.plate_hours is None
    detector.bind(DetectorContext(workspace))
    assert detector.plate_hours == {"川A00001": (21 * 60 + 30, 4 * 60), "川A00002": (1320, 360)}
    first, last = (
        (date(2024, 6, 1) - date(1970, 1, 1)).days,
        (date(2024, 12, 31) - date(1970, 1, 1)).days,
    )
    assert detector.plate_valid is not None and detector.plate_valid["川A00001"] == (first, last)
    plates = np.array(["川A00001", "川A00009"], dtype=object)  # per point: plates[code]
    start, end = detector._hours(plates, np.array([0, 0, 1]), np.array([first, last + 1, first]))
    assert end.tolist() == [4 * 60, 360, 360]
    assert start.tolist() == [21 * 60 + 30, 1320, 1320]  # expired, or no permit: the city's
    assert detector.sites is not None
    assert sorted(detector.sites["lon"].tolist()) == [104.05, 104.10]


def test_bind_without_the_tables_leaves_the_city_rules(workspace: Workspace) -> None:
    detector = MuckTruckDetector()
    detector.bind(DetectorContext(workspace))
    assert detector.sites is None and detector.plate_hours is None


def test_bike_positions_newest_per_bike_in_wgs84_late_and_broken_counted() -> None:
    lon, lat = np.array([104.06, 104.07]), np.array([30.57, 30.58])
    glon, glat = wgs84_to_gcj02(lon, lat)
    detector = BikePositionDetector()
    state = detector.initial_state()
    first = pa.table(
        {
            "bike_id": ["B1", "B1", "B2", None, "B3"],
            "ts": [100, 200, 150, 150, 150],
            "lng": [glon[0] + 0.01, glon[0], glon[1], glon[1], 0.0],
            "lat": [glat[0] + 0.01, glat[0], glat[1], glat[1], 0.0],
        }
    )
    events = detector.process(StreamBatch("bike_meituan_live", "l1", first), state)
    shown = {e.data["bike_id"]: (e.data["lon"], e.data["lat"]) for e in events}
    assert set(shown) == {"B1", "B2"}
    assert shown["B1"] == pytest.approx((lon[0], lat[0]), abs=1e-5)  # the newest of B1's two
    assert shown["B2"] == pytest.approx((lon[1], lat[1]), abs=1e-5)
    late = pa.table({"bike_id": ["B1"], "ts": [199], "lng": [glon[1]], "lat": [glat[1]]})
    assert detector.process(StreamBatch("bike_meituan_live", "l2", late), state) == []
    assert state["counts"] == {"received": 6, "unusable": 2, "late": 1}
