"""Bikes per zone by grid cell (tests ``topics/builtin/shared_bikes/counts.py``): the cells cover
every box, and the engine's counts equal a plain NumPy count of each bike's last report in each
fence — zones over several cells, a district-wide zone a grid level up, reports on a box's edge
and on a cell's edge, a bike that leaves a zone within a snapshot, broken fixes — on DuckDB and
Spark alike."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from citybrain.core.engine import Engine
from citybrain.topics.builtin.shared_bikes import counts

T0 = datetime(2023, 3, 14, 8, 0)
W, H = 0.0004, 0.0002  # a fence of about 40 m × 20 m, as most are
OPERATORS = ("meituan", "hellobike", "qingju")
Count = tuple[str, int, str, int]  # zone, snapshot bucket, operator, bikes


def _rectangle(x: float, y: float, w: float, h: float) -> str:
    return f"POLYGON(({x} {y},{x + w} {y},{x + w} {y + h},{x} {y + h},{x} {y}))"


def _zones(rng: np.random.Generator) -> pa.Table:
    x = np.round(rng.uniform(104.001, 104.027, 12), 6)
    y = np.round(rng.uniform(30.501, 30.517, 12), 6)
    x[1], y[1] = x[0] + W / 2, y[0] + H / 2  # two fences overlapping: a bike between is in both
    geometry = [_rectangle(a, b, W, H) for a, b in zip(x, y, strict=True)]
    geometry.append(_rectangle(104.0, 30.5, 0.03, 0.02))  # the whole district: a level up
    geometry.append("POLYGON((104.02 30.5,104.0212 30.5,104.02 30.5012,104.02 30.5))")  # triangle
    geometry.append("POLYGON((not a shape))")
    n = len(geometry)
    return pa.table(
        {
            "zone_id": [f"Z{i:02d}" for i in range(n)],
            "name": [f"停放区{i}" for i in range(n)],
            "geometry": geometry,
            "quota": [5] * n,
        }
    )


Report = tuple[str, str | None, datetime, float, float]  # operator, bike, ts, lon, lat


def _table(rows: list[Report]) -> pa.Table:
    op, bike, ts, lon, lat = zip(*rows, strict=True)
    return pa.table(
        {
            "operator": pa.array(op, pa.string()),
            "bike_id": pa.array(bike, pa.string()),
            "ts": pa.array(ts, pa.timestamp("us")),
            "lon": pa.array(lon, pa.float64()),
            "lat": pa.array(lat, pa.float64()),
        }
    )


def _random_positions(rng: np.random.Generator, zones: counts.Zones) -> pa.Table:
    """Bikes of three operators over three snapshots, one to three reports each, most near a
    fence (some just outside it), the rest anywhere around."""
    box = zones.table
    rows: list[Report] = []
    for op in OPERATORS:
        for bike in range(60):
            for bucket in range(3):
                for k in range(int(rng.integers(1, 4))):
                    if rng.random() < 0.7:
                        z = box.iloc[int(rng.integers(len(box)))]
                        w, h = (z.maxx - z.minx) * 0.3, (z.maxy - z.miny) * 0.3
                        lon = rng.uniform(z.minx - w, z.maxx + w)
                        lat = rng.uniform(z.miny - h, z.maxy + h)
                    else:
                        lon, lat = rng.uniform(103.998, 104.035), rng.uniform(30.498, 30.525)
                    ts = T0 + timedelta(minutes=15 * bucket, seconds=60 * k + int(rng.integers(59)))
                    rows.append((op, f"{op[0]}{bike}", ts, float(lon), float(lat)))
    return _table(rows)


def _hand_made(zones: counts.Zones) -> tuple[pa.Table, str]:
    """The hard cases around one small fence that spans a cell line (and that fence's id)."""
    cells = counts.grid_cells(zones.table)
    spans = cells.groupby("zone_id")["cx"].nunique()
    zone_id = str(spans.loc[spans > 1].index[0])
    box = zones.table.loc[zones.table["zone_id"] == zone_id, ["minx", "miny", "maxx", "maxy"]]
    minx, miny, maxx, maxy = (float(v) for v in box.to_numpy(float)[0])
    line = cells.loc[cells["zone_id"] == zone_id]
    edge = float(line["cx"].max()) / float(line["scale"].iloc[0])  # a cell's west edge
    assert minx < edge < maxx
    mid, away = (miny + maxy) / 2, (104.0405, 30.5305)  # away: outside every fence
    rows: list[Report] = [
        ("meituan", "EDGE1", T0, minx, miny),  # on the box's corners: inside
        ("meituan", "EDGE2", T0, maxx, maxy),
        ("meituan", "EDGE3", T0, float(np.nextafter(maxx, np.inf)), mid),  # beyond: outside
        ("qingju", "LINE", T0, edge, mid),  # on a cell's edge, inside the box
        ("hellobike", "GONE", T0, minx + W / 2, mid),  # in the zone, then it leaves
        ("hellobike", "GONE", T0 + timedelta(minutes=5), *away),
        ("hellobike", "BACK", T0, *away),  # away, then parks in the zone
        ("hellobike", "BACK", T0 + timedelta(minutes=5), minx + W / 2, mid),
        ("qingju", "TRI1", T0, 104.0201, 30.5001),  # two at one place in the triangle
        ("qingju", "TRI2", T0, 104.0201, 30.5001),
        ("qingju", "TRI3", T0, 104.0211, 30.5011),  # in its box, not in the triangle
        ("qingju", "NAN", T0, float("nan"), mid),  # broken fixes: nowhere, and no error
        ("qingju", "INF", T0, float("inf"), mid),
        ("qingju", "ZERO", T0, 0.0, 0.0),
        ("qingju", None, T0, minx + W / 2, mid),
    ]
    return _table(rows), zone_id


def _expected(positions: pa.Table, zones: counts.Zones) -> set[Count]:
    """Each bike's last report per 15-minute snapshot, counted in every fence that holds it."""
    p = positions.to_pandas()
    finite = np.isfinite(p["lon"]) & np.isfinite(p["lat"])
    p = p.loc[p["bike_id"].notna() & ~(finite & (p["lon"] == 0) & (p["lat"] == 0))]
    p = p.assign(bucket=p["ts"].astype("int64") // 10**6 // 900 * 900)
    last = p.sort_values("ts").groupby(["operator", "bike_id", "bucket"]).tail(1)
    x, y = last["lon"].to_numpy()[:, None], last["lat"].to_numpy()[:, None]
    z = zones.table
    inside = (
        (x >= z["minx"].to_numpy())
        & (x <= z["maxx"].to_numpy())
        & (y >= z["miny"].to_numpy())
        & (y <= z["maxy"].to_numpy())
    )
    for j, zone_id in enumerate(z["zone_id"]):
        if zone_id in zones.shapes:
            inside[:, j] &= shapely.contains_xy(zones.shapes[zone_id], x[:, 0], y[:, 0])
    at, zone = np.nonzero(inside)
    hits = pd.DataFrame(
        {
            "zone_id": z["zone_id"].to_numpy()[zone],
            "bucket": last["bucket"].to_numpy()[at],
            "operator": last["operator"].to_numpy()[at],
        }
    )
    counted = hits.groupby(["zone_id", "bucket", "operator"], as_index=False).size()
    return {
        (str(z), int(b), str(o), int(n))
        for z, b, o, n in counted[["zone_id", "bucket", "operator", "size"]].itertuples(
            index=False, name=None
        )
    }


def test_every_box_is_covered_by_its_cells() -> None:
    rng = np.random.default_rng(3)
    side = np.where(rng.random(300) < 0.9, 0.0004, rng.uniform(0.0001, 0.5, 300))
    minx, miny = rng.uniform(103.5, 104.5, 300), rng.uniform(30.0, 31.0, 300)
    boxes = pd.DataFrame(
        {
            "zone_id": np.arange(300),
            "minx": minx,
            "miny": miny,
            "maxx": minx + side,
            "maxy": miny + side * rng.uniform(0.2, 1.0, 300),
            "rectangle": True,
        }
    )
    cells = counts.grid_cells(boxes)
    per_zone = cells.groupby("zone_id").size()
    assert per_zone.max() <= counts.GRID_CAP and len(per_zone) == 300
    scales = cells.groupby("zone_id")["scale"].first()
    assert scales.nunique() > 1, "the larger zones take wider cells"
    assert (np.log2(scales) == np.round(np.log2(scales))).all(), "cell sides are powers of two"
    assert scales[side.argmax()] < scales[np.argmin(side)]
    # corners, edges and points within each box: the cell each lies in is one of the box's
    u, v = np.meshgrid([0.0, 1e-9, 0.3, 0.5, 1 - 1e-9, 1.0], [0.0, 0.5, 1.0])
    x = (
        boxes["minx"].to_numpy()[:, None]
        + u.ravel() * (boxes["maxx"] - boxes["minx"]).to_numpy()[:, None]
    )
    y = (
        boxes["miny"].to_numpy()[:, None]
        + v.ravel() * (boxes["maxy"] - boxes["miny"]).to_numpy()[:, None]
    )
    x[:, -1], y[:, -1] = boxes["maxx"], boxes["maxy"]  # the far corner exactly
    s = scales.to_numpy()[:, None]
    points = pd.DataFrame(
        {
            "zone_id": np.repeat(boxes["zone_id"].to_numpy(), x.shape[1]),
            "cx": np.floor(x * s).astype(np.int64).ravel(),
            "cy": np.floor(y * s).astype(np.int64).ravel(),
        }
    )
    found = points.merge(cells, on=["zone_id", "cx", "cy"], how="left", indicator=True)
    assert (found["_merge"] == "both").all()


def _counted(engine: Engine, positions: pa.Table, zones: counts.Zones) -> set[Count]:
    reports = counts.last_reports(engine.register("positions", positions), 15)
    got = counts.zone_counts(engine, reports, zones)
    assert not got.duplicated(["zone_id", "bucket", "operator"]).any()
    return {
        (str(z), int(b), str(o), int(n))
        for z, b, o, n in got[["zone_id", "bucket", "operator", "bikes"]].itertuples(
            index=False, name=None
        )
    }


def test_counts_equal_each_last_report_in_each_fence(engine: Engine) -> None:
    rng = np.random.default_rng(11)
    zones = counts.read_zones(engine, engine.register("zones", _zones(rng)))
    assert zones.unreadable == ["Z14"] and set(zones.shapes) == {"Z13"}
    assert counts.grid_cells(zones.table)["scale"].nunique() == 2, "the district a level up"
    hand, _ = _hand_made(zones)
    positions = pa.concat_tables([_random_positions(rng, zones), hand])
    expected = _expected(positions, zones)
    assert {k[0] for k in expected} >= {"Z00", "Z12", "Z13"}, "small, district and triangle"
    assert _counted(engine, positions, zones) == expected


def test_the_last_report_on_an_edge_decides(engine: Engine) -> None:
    zones = counts.read_zones(engine, engine.register("zones", _zones(np.random.default_rng(11))))
    hand, zone_id = _hand_made(zones)
    bucket = int((T0 - datetime(1970, 1, 1)).total_seconds()) // 900 * 900
    got = {k[:3]: k[3] for k in _counted(engine, hand, zones) if k[0] in (zone_id, "Z13")}
    # two corners, the cell edge and the bike that came back; not the one beyond, nor the one gone
    assert got == {(zone_id, bucket, "meituan"): 2, (zone_id, bucket, "qingju"): 1,
                   (zone_id, bucket, "hellobike"): 1, ("Z13", bucket, "qingju"): 2}  # fmt: skip


def test_no_readable_zone_counts_nothing(engine: Engine) -> None:
    zones = counts.read_zones(
        engine,
        engine.register(
            "zones", pa.table({"zone_id": ["Z1"], "geometry": ["POLYGON((x))"], "quota": [3]})
        ),
    )
    rng = np.random.default_rng(1)
    positions = _positions_anywhere(rng)
    got = counts.zone_counts(
        engine, counts.last_reports(engine.register("p", positions), 15), zones
    )
    assert got.empty and list(got.columns) == ["zone_id", "bucket", "operator", "bikes"]


def _positions_anywhere(rng: np.random.Generator) -> pa.Table:
    n = 50
    return pa.table(
        {
            "operator": pa.array(["meituan"] * n),
            "bike_id": pa.array([f"M{i}" for i in range(n)]),
            "ts": pa.array([T0 + timedelta(seconds=i) for i in range(n)], pa.timestamp("us")),
            "lon": rng.uniform(104.0, 104.01, n),
            "lat": rng.uniform(30.5, 30.51, n),
        }
    )
