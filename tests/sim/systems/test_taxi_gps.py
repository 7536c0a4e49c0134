"""Taxi floating-car GPS (sim/systems/taxi_gps.py), built alone on the tiny map: cars drive along
the road grid, the planted jams are slow and only there, weekdays only, and the feed carries GPS
dirt (re-sent duplicates, gaps, jumps, unknown speeds) without a row ingest would refuse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from citybrain.sim.geography import LAT0, LAT1, LON0, LON1
from citybrain.sim.scales import SCALES
from citybrain.sim.systems import taxi_gps
from citybrain.sim.systems.base import SystemContext
from citybrain.sim.truth import TruthSink
from citybrain.sim.world import build_world


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    out = tmp_path_factory.mktemp("taxi")
    world = build_world(SCALES["tiny"], 7, people=False)
    taxi_gps.build(SystemContext(world, out, TruthSink(out)))
    files = sorted((out / taxi_gps.SYSTEM).glob("taxi_*.parquet"))
    pings = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    truth = pq.read_table(out / "truth" / f"{taxi_gps.TRUTH}.parquet").to_pandas()
    return out, pings, truth


def test_cars_drive_along_the_roads(built: tuple[Path, pd.DataFrame, pd.DataFrame]) -> None:
    _, pings, _ = built
    world = build_world(SCALES["tiny"], 7, people=False)
    roads = world.geo.roads.to_pandas()
    xs = roads.loc[roads["direction"] == "NS", "position"].to_numpy()
    ys = roads.loc[roads["direction"] == "EW", "position"].to_numpy()
    off_x = np.abs(pings["lng"].to_numpy()[:, None] - xs[None, :]).min(axis=1) * 96_000
    off_y = np.abs(pings["lat"].to_numpy()[:, None] - ys[None, :]).min(axis=1) * 111_000
    on_road = np.minimum(off_x, off_y) < 30  # metres
    assert 0.995 < on_road.mean() < 1.0  # all but the planted jumps
    assert pings["lng"].between(LON0 - 0.05, LON1 + 0.05).all()
    assert pings["lat"].between(LAT0 - 0.05, LAT1 + 0.05).all()
    assert 20_000 < len(pings) < 60_000  # a small feed at tiny scale
    assert pings["gps_id"].is_unique


def test_jams_are_slow_on_their_weekdays_only(
    built: tuple[Path, pd.DataFrame, pd.DataFrame],
) -> None:
    _, pings, truth = built
    assert len(truth) >= 2 and set(truth["hour"]) <= {7, 8, 9, 17, 18, 19}
    assert (truth["speed_factor"] < 0.5).all() and (truth["days"] > 40).all()
    ts = pd.to_datetime(pings["gps_time"], unit="ms") + pd.Timedelta(hours=8)
    hour, weekday = ts.dt.hour.to_numpy(), ts.dt.day_of_week.to_numpy() < 5
    lon, lat = pings["lng"].to_numpy(), pings["lat"].to_numpy()
    speed = pings["speed"].to_numpy()
    ok = speed < 200  # not the terminal's "unknown"
    for row in truth.to_dict("records"):
        ns = row["lon0"] == row["lon1"]  # a north-south piece
        across, along = (lon, lat) if ns else (lat, lon)
        a0, a1 = (row["lat0"], row["lat1"]) if ns else (row["lon0"], row["lon1"])
        metres = 96_000 if ns else 111_000
        near = np.abs(across - (row["lon"] if ns else row["lat"])) * metres < 30
        on = near & (along >= min(a0, a1)) & (along <= max(a0, a1)) & ok
        jam = on & (hour == row["hour"]) & weekday
        free = on & np.isin(hour, [7, 8, 9, 16, 17, 18, 19]) & ~weekday
        assert jam.sum() > 30 and free.sum() > 10, row["segment_no"]
        assert np.median(speed[jam]) < 0.5 * row["free_flow_kmh"]
        assert np.median(speed[free]) > 0.75 * row["free_flow_kmh"]


def test_gps_dirt_is_there_and_lands(built: tuple[Path, pd.DataFrame, pd.DataFrame]) -> None:
    _, pings, _ = built
    resent = pings.duplicated(["car_no", "gps_time", "lng", "lat"]).sum()
    assert 0.005 * len(pings) < resent < 0.02 * len(pings)  # re-sent, each with its own id
    assert (pings["speed"] == taxi_gps.BAD_SPEED).any()
    gaps = pings.sort_values("gps_time").groupby("car_no")["gps_time"].diff() / 1000
    step = taxi_gps.ping_seconds(build_world(SCALES["tiny"], 7, people=False))
    assert ((gaps > 20 * 60) & (gaps < 2 * 3600)).any()  # a terminal off for half an hour
    assert ((gaps > 1.5 * step) & (gaps < 2.5 * step)).any()  # one lost ping
    # nothing the contract refuses: ranges of taxi_gps.yaml
    assert pings["lng"].between(73, 136).all() and pings["lat"].between(3, 54).all()
    assert (pings["speed"] >= 0).all() and pings["direction"].between(0, 360).all()


def test_same_seed_same_bytes(
    built: tuple[Path, pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    out, _, _ = built
    world = build_world(SCALES["tiny"], 7, people=False)
    taxi_gps.build(SystemContext(world, tmp_path, TruthSink(tmp_path)))
    for f in sorted((out / taxi_gps.SYSTEM).glob("*.parquet")):
        assert (tmp_path / taxi_gps.SYSTEM / f.name).read_bytes() == f.read_bytes()
