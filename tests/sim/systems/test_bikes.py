"""共享单车: coordinates as text, and the over-parking truth matches the three fleets' data."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from citybrain.core.coords import gcj02_to_wgs84
from citybrain.sim.bikes import ZONE_H, ZONE_W
from citybrain.sim.systems.bikes import _lng_lat_text
from sim.readers import read_any, system_files


def test_location_text_has_six_decimals() -> None:
    rng = np.random.default_rng(3)
    lon = np.round(rng.uniform(104.0, 104.1, 1000), 6)
    lat = np.round(rng.uniform(30.5, 30.65, 1000), 6)
    got = _lng_lat_text(lon, lat).to_pylist()
    assert got == [f"{a:.6f},{b:.6f}" for a, b in zip(lon, lat, strict=True)]


def _positions(root: Path) -> list[tuple[datetime, float, float]]:
    out: list[tuple[datetime, float, float]] = []
    for path in system_files(root, "bike_meituan"):
        t = read_any(path).to_pydict()
        w_lon, w_lat = gcj02_to_wgs84(np.asarray(t["lng"], float), np.asarray(t["lat"], float))
        for ts, lon, lat in zip(t["ts"], w_lon.tolist(), w_lat.tolist(), strict=True):
            when = datetime(1970, 1, 1, 8) + timedelta(seconds=ts)
            out.append((when, lon, lat))
    for path in system_files(root, "bike_hellobike"):
        t = read_any(path).to_pydict()
        for when, loc in zip(t["reportTime"], t["location"], strict=True):
            lon, lat = map(float, loc.split(","))
            out.append((datetime.fromisoformat(when), lon, lat))
    for path in system_files(root, "bike_qingju"):
        t = read_any(path).to_pydict()
        for when, lon, lat in zip(t["上报时间"], t["经度"], t["纬度"], strict=True):
            out.append((datetime.strptime(str(when), "%Y%m%d%H%M%S"), float(lon), float(lat)))
    return out


def test_over_parking_truth_matches_the_fleets(tiny_root: Path) -> None:
    zones = pq.read_table(tiny_root / "truth" / "bike_zones.parquet").to_pylist()
    over = pq.read_table(tiny_root / "truth" / "bike_overparking.parquet").to_pylist()
    assert over, "the tiny city should over-park some metro zone"
    seen: Counter[tuple[datetime, int]] = Counter()
    for when, lon, lat in _positions(tiny_root):
        for z in zones:
            # six-decimal rounding may put a bike a hair outside its rectangle
            if (
                z["lon"] - 1e-6 <= lon <= z["lon"] + ZONE_W + 1e-6
                and z["lat"] - 1e-6 <= lat <= z["lat"] + ZONE_H + 1e-6
            ):
                seen[(when, z["zone_id"])] += 1
    for row in over:
        # bikes roaming free may happen to stand in a zone too, so at least the truth's count
        assert row["bikes"] > row["quota"]
        assert seen[(row["snapshot"], row["zone_id"])] >= row["bikes"], row
