"""The zone's map: streets → communities → grids, roads (with old names), estates, buildings,
units, dwellings and the standard addresses at each level.

Areas are nested rectangles tiling the box 104.00–104.10 E × 30.50–30.65 N, so membership is
arithmetic and every point lies in exactly one grid. Streets, estates and roads are small dimension
tables built per entity; buildings and dwellings are expanded with NumPy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from citybrain.sim import placenames as places
from citybrain.sim.ids import concat, padded, pick
from citybrain.sim.rng import rng_for
from citybrain.sim.scales import Scale

LON0, LON1, LAT0, LAT1 = 104.00, 104.10, 30.50, 30.65
PROVINCE, CITY, DISTRICT = "四川省", "成都市", "示例高新区"
DISTRICT_CODE = 510109  # a code the national list leaves free; the zone is fictional


@dataclass(frozen=True)
class Geography:
    """All map tables of the zone; ids are positions (0-based) in their table."""

    streets: pa.Table
    communities: pa.Table
    grids: pa.Table
    roads: pa.Table
    road_aliases: pa.Table
    estates: pa.Table
    buildings: pa.Table
    dwellings: pa.Table


def _rect_wkt(x0: float, y0: float, x1: float, y1: float) -> str:
    return (
        f"POLYGON(({x0:.6f} {y0:.6f},{x1:.6f} {y0:.6f},{x1:.6f} {y1:.6f},"
        f"{x0:.6f} {y1:.6f},{x0:.6f} {y0:.6f}))"
    )


def _split(n: int) -> tuple[int, int]:
    """Columns and rows that tile exactly n cells (no empty cells: every point has an owner)."""
    cols = next(c for c in range(math.ceil(math.sqrt(n)), n + 1) if n % c == 0)
    return cols, n // cols


def _areas(scale: Scale) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Nested rectangles: each street a cell of the box, each community a cell of its street …"""
    s_rows: list[dict[str, object]] = []
    c_rows: list[dict[str, object]] = []
    g_rows: list[dict[str, object]] = []
    sx, sy = _split(scale.streets)
    cx, cy = _split(scale.communities_per_street)
    gx, gy = _split(scale.grids_per_community)
    sw, sh = (LON1 - LON0) / sx, (LAT1 - LAT0) / sy
    parts = iter(places.COMMUNITY_PARTS * 50)
    for s in range(scale.streets):
        x0, y0 = LON0 + (s % sx) * sw, LAT0 + (s // sx) * sh
        name = places.STREET_NAMES[s % len(places.STREET_NAMES)] + (
            "" if s < len(places.STREET_NAMES) else str(s)
        )
        scode = DISTRICT_CODE * 1000 + s + 1
        s_rows.append(
            {
                "street_id": s,
                "street_code": str(scode),
                "street_name": f"{name}街道",
                "wkt": _rect_wkt(x0, y0, x0 + sw, y0 + sh),
            }
        )
        cw, ch = sw / cx, sh / cy
        for c in range(scale.communities_per_street):
            cid = len(c_rows)
            ccode = scode * 1000 + c + 1
            x1, y1 = x0 + (c % cx) * cw, y0 + (c // cx) * ch
            cname = next(parts) + "社区"
            c_rows.append(
                {
                    "community_id": cid,
                    "community_code": str(ccode),
                    "community_name": cname,
                    "street_id": s,
                    "wkt": _rect_wkt(x1, y1, x1 + cw, y1 + ch),
                }
            )
            gw, gh = cw / gx, ch / gy
            for g in range(scale.grids_per_community):
                x2, y2 = x1 + (g % gx) * gw, y1 + (g // gx) * gh
                g_rows.append(
                    {
                        "grid_id": len(g_rows),
                        "grid_code": f"{ccode}{g + 1:02d}",
                        "grid_name": f"{cname}第{g + 1}网格",
                        "community_id": cid,
                        "street_id": s,
                        "wkt": _rect_wkt(x2, y2, x2 + gw, y2 + gh),
                    }
                )
    return pa.Table.from_pylist(s_rows), pa.Table.from_pylist(c_rows), pa.Table.from_pylist(g_rows)


def grid_of(lon: np.ndarray, lat: np.ndarray, scale: Scale) -> np.ndarray:
    """Grid id of each point (vectorised point-in-rectangle over the nested tiling)."""
    sx, sy = _split(scale.streets)
    cx, cy = _split(scale.communities_per_street)
    gx, gy = _split(scale.grids_per_community)
    fx = np.clip((lon - LON0) / (LON1 - LON0), 0, 1 - 1e-12) * sx
    fy = np.clip((lat - LAT0) / (LAT1 - LAT0), 0, 1 - 1e-12) * sy
    s = np.floor(fy).astype(np.int64) * sx + np.floor(fx).astype(np.int64)
    fx, fy = (fx % 1) * cx, (fy % 1) * cy
    c = np.floor(fy).astype(np.int64) * cx + np.floor(fx).astype(np.int64)
    fx, fy = (fx % 1) * gx, (fy % 1) * gy
    g = np.floor(fy).astype(np.int64) * gx + np.floor(fx).astype(np.int64)
    # points in a cell that the ragged tiling left empty fall back to the last real one
    s = np.minimum(s, scale.streets - 1)
    c = np.minimum(c, scale.communities_per_street - 1)
    g = np.minimum(g, scale.grids_per_community - 1)
    return (s * scale.communities_per_street + c) * scale.grids_per_community + g


def _roads(scale: Scale, seed: int) -> tuple[pa.Table, pa.Table]:
    rng = rng_for(seed, "geography", "roads")
    n_ns = min(len(places.NS_ROADS), max(3, scale.streets * 2))
    n_ew = min(len(places.EW_STREETS), max(4, scale.streets * 3))
    rows: list[dict[str, object]] = []
    for i in range(n_ns):
        lon = LON0 + (i + 0.5) * (LON1 - LON0) / n_ns
        rows.append(
            {
                "road_id": i,
                "road_name": places.NS_ROADS[i],
                "direction": "NS",
                "position": lon,
                "wkt": f"LINESTRING({lon:.6f} {LAT0:.6f},{lon:.6f} {LAT1:.6f})",
            }
        )
    for j in range(n_ew):
        lat = LAT0 + (j + 0.5) * (LAT1 - LAT0) / n_ew
        rows.append(
            {
                "road_id": n_ns + j,
                "road_name": places.EW_STREETS[j],
                "direction": "EW",
                "position": lat,
                "wkt": f"LINESTRING({LON0:.6f} {lat:.6f},{LON1:.6f} {lat:.6f})",
            }
        )
    olds = list(places.OLD_ROAD_NAMES)
    rng.shuffle(olds)
    aliases: list[dict[str, object]] = []
    for r in rows:
        # about a third of the roads were renamed once, a few twice (the register keeps both)
        k = int(rng.choice([0, 0, 1, 1, 2], p=[0.4, 0.25, 0.2, 0.1, 0.05]))
        for a in range(k):
            if olds:
                aliases.append(
                    {
                        "road_id": r["road_id"],
                        "road_name": r["road_name"],
                        "old_name": olds.pop(),
                        "renamed_year": int(1995 + 5 * a + rng.integers(0, 5)),
                    }
                )
    if olds and n_ew >= 2:
        # One old road was split when the grid was laid out: its name now belongs to two streets
        # (the register lists the old name under both), so an old address needs its number,
        # estate or building to say which.
        old = olds.pop()
        for r in rows[n_ns : n_ns + 2]:
            aliases.append(
                {"road_id": r["road_id"], "road_name": r["road_name"], "old_name": old,
                 "renamed_year": 2001}
            )  # fmt: skip
    return pa.Table.from_pylist(rows), pa.Table.from_pylist(
        aliases,
        schema=pa.schema(
            [
                ("road_id", pa.int64()),
                ("road_name", pa.string()),
                ("old_name", pa.string()),
                ("renamed_year", pa.int64()),
            ]
        ),
    )


_ERAS = {  # floors choices, units range, rooms per floor range, area mean/sd
    "old": ([6, 7], (1, 3), (2, 3), 68.0, 12.0),
    "mid": ([11, 12, 18], (2, 3), (2, 5), 95.0, 20.0),
    "high": ([26, 30, 33], (2, 4), (2, 5), 110.0, 28.0),
}


def _estates(
    scale: Scale, seed: int, roads: pa.Table
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Residential estates and office parks, each with its buildings (per entity: small tables)."""
    rng = rng_for(seed, "geography", "estates")
    n_grids = scale.streets * scale.communities_per_street * scale.grids_per_community
    target_size = max(40.0, scale.dwellings / max(8, n_grids * 1.5))
    names = [p + s for s in places.ESTATE_SUFFIX for p in places.ESTATE_PREFIX]
    rng.shuffle(names)
    estates: list[dict[str, object]] = []
    buildings: list[dict[str, object]] = []
    for kind, target in (("residential", scale.dwellings), ("office", scale.office_rooms)):
        total = 0
        first_office = len(estates)
        while total < target:
            e = len(estates)
            if kind == "residential":
                era = str(rng.choice(["old", "mid", "high"], p=[0.3, 0.35, 0.35]))
                floors_opts, units_r, rooms_r, _, _ = _ERAS[era]
                per_b = np.mean(floors_opts) * np.mean(units_r) * np.mean(rooms_r)
                if per_b > 1.5 * target_size:
                    era, (floors_opts, units_r, rooms_r, _, _) = "old", _ERAS["old"]
                    per_b = np.float64(6.5 * 2 * 2.5)
                nb = max(1, round(target_size / per_b * rng.uniform(0.5, 1.5)))
                name = names[e % len(names)] + (
                    "" if e < len(names) else f"{e // len(names) + 1}期"
                )
            else:
                era, floors_opts, units_r, rooms_r = "office", [12, 18, 24, 30], (1, 2), (4, 10)
                if target < 2_000:  # a tiny zone has low-rise offices, or one park is the zone
                    floors_opts, rooms_r = [4, 5, 6], (2, 4)
                nb = int(rng.integers(1, 5))
                name = _park_name(e - first_office)
            lon = float(rng.uniform(LON0 + 0.002, LON1 - 0.002))
            lat = float(rng.uniform(LAT0 + 0.002, LAT1 - 0.002))
            estates.append(
                {
                    "estate_id": e,
                    "estate_name": name,
                    "kind": kind,
                    "era": era,
                    "lon": lon,
                    "lat": lat,
                    "built_year": int(
                        {"old": 1992, "mid": 2005, "high": 2014, "office": 2010}[era]
                        + rng.integers(0, 8)
                    ),
                }
            )
            for b in range(nb):
                floors = int(rng.choice(floors_opts))
                units = (
                    int(rng.integers(units_r[0], units_r[1] + 1)) if kind == "residential" else 1
                )
                rooms = int(rng.integers(rooms_r[0], rooms_r[1] + 1))
                buildings.append(
                    {
                        "building_id": len(buildings),
                        "estate_id": e,
                        "building_no": b + 1,
                        "floors": floors,
                        "units": units,
                        "rooms_per_floor": rooms,
                        "lon": lon + float(rng.normal(0, 0.0006)),
                        "lat": lat + float(rng.normal(0, 0.0005)),
                    }
                )
                total += floors * units * rooms
    _assign_roads(estates, roads, rng)
    return estates, buildings


def _park_name(k: int) -> str:
    """The k-th office park: 软件园A区, 孵化园A区 … then 软件园B区. A zone letter names one
    compound, so no two parks of the zone share a name (one name, one gate, one road number)."""
    parks = places.PARK_NAMES
    round_, zone = divmod(k // len(parks), 26)
    return f"{parks[k % len(parks)]}{'' if round_ == 0 else round_ + 1}{chr(ord('A') + zone)}区"


def _assign_roads(
    estates: list[dict[str, object]], roads: pa.Table, rng: np.random.Generator
) -> None:
    """Each estate's gate is on its nearest road; numbers rise along the road, odd on one side."""
    direction = roads["direction"].to_pylist()
    position = np.array(roads["position"].to_pylist())
    lon = np.array([e["lon"] for e in estates])
    lat = np.array([e["lat"] for e in estates])
    ns = np.array([d == "NS" for d in direction])
    dist = np.where(
        ns[None, :],
        np.abs(lon[:, None] - position[None, :]) * 0.86,
        np.abs(lat[:, None] - position[None, :]),
    )
    nearest = dist.argmin(axis=1)
    for r in np.unique(nearest):
        members = np.flatnonzero(nearest == r)
        along = lat[members] if ns[r] else lon[members]
        side = (lon[members] > position[r]) if ns[r] else (lat[members] > position[r])
        last = {True: 0, False: -1}
        for m in members[np.argsort(along, kind="stable")]:
            s = bool(side[list(members).index(m)])
            last[s] += 2 * int(rng.integers(1, 12))
            estates[m]["road_id"] = int(r)
            estates[m]["road_no"] = int(last[s])


def build_geography(scale: Scale, seed: int) -> Geography:
    """The whole map for a scale and seed."""
    streets, communities, grids = _areas(scale)
    roads, aliases = _roads(scale, seed)
    est_rows, bld_rows = _estates(scale, seed, roads)
    est_lon = np.array([e["lon"] for e in est_rows])
    est_lat = np.array([e["lat"] for e in est_rows])
    grid = grid_of(est_lon, est_lat, scale)
    grid_comm = np.array(grids["community_id"].to_pylist())
    grid_street = np.array(grids["street_id"].to_pylist())
    for i, e in enumerate(est_rows):
        e["grid_id"], e["community_id"], e["street_id"] = (
            int(grid[i]),
            int(grid_comm[grid[i]]),
            int(grid_street[grid[i]]),
        )
    estates = pa.Table.from_pylist(est_rows)
    buildings = pa.Table.from_pylist(bld_rows)
    dwellings = _dwellings(buildings, estates, seed)
    return Geography(streets, communities, grids, roads, aliases, estates, buildings, dwellings)


def _dwellings(buildings: pa.Table, estates: pa.Table, seed: int) -> pa.Table:
    """Every unit × floor × room of every building (vectorised expansion)."""
    rng = rng_for(seed, "geography", "dwellings")
    units = buildings["units"].to_numpy()
    floors = buildings["floors"].to_numpy()
    rooms = buildings["rooms_per_floor"].to_numpy()
    per_b = units * floors * rooms
    b = np.repeat(np.arange(len(buildings)), per_b)
    start = np.concatenate([[0], np.cumsum(per_b)[:-1]])
    k = np.arange(b.size) - start[b]
    fr = (floors * rooms)[b]
    unit = k // fr + 1
    floor = (k % fr) // rooms[b] + 1
    room = (k % fr) % rooms[b] + 1
    estate = buildings["estate_id"].to_numpy()[b]
    kind = np.array(estates["kind"].to_pylist())[estate]
    era = np.array(estates["era"].to_pylist())[estate]
    mean = np.select([era == "old", era == "mid", era == "high"], [68.0, 95.0, 110.0], 120.0)
    sd = np.select([era == "old", era == "mid", era == "high"], [12.0, 20.0, 28.0], 80.0)
    area = np.round(np.clip(rng.normal(mean, sd), 28, 600), 1)
    n = b.size
    return pa.table(
        {
            "dwelling_id": np.arange(n, dtype=np.int64),
            "building_id": b.astype(np.int64),
            "estate_id": estate.astype(np.int64),
            "unit": unit.astype(np.int16),
            "floor": floor.astype(np.int16),
            "room_no": (floor * 100 + room).astype(np.int32),
            "use": pa.array(np.where(kind == "residential", "residential", "office")),
            "area_m2": area,
            "lon": buildings["lon"].to_numpy()[b],
            "lat": buildings["lat"].to_numpy()[b],
        }
    )


def address_ids(level: str, ids: np.ndarray) -> pa.StringArray:
    """Standard address ids: district code, level letter (R road-number, B building, U unit,
    D dwelling) and a 9-digit sequence."""
    return concat(f"{DISTRICT_CODE}{level}", padded(ids, 9))


_ = pick  # re-exported helper used by address formatting
