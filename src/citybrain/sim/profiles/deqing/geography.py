"""德清县's map over the default zone's layout: the same rectangles, estates and dwellings, renamed
to the county's real towns and villages (with their codes) and its own road and estate names; the
old low-rise estates of a village become its groups (组), each a lane of houses of its own, written
``新安村3组15号``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa

from citybrain.sim.geography import Geography
from citybrain.sim.profiles.deqing import places

FREE_TOWN = 200  # town codes 330521200+ are free in the list (for zones with more streets)
FREE_VILLAGE = 900  # village codes <town>900+ likewise


def _cycled(names: tuple[str, ...], n: int) -> list[str]:
    """``n`` names from ``names``, numbered after the first round (千秋街, …, 千秋街2)."""
    return [
        names[i % len(names)] + ("" if i < len(names) else str(i // len(names) + 1))
        for i in range(n)
    ]


def _towns(n: int) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    towns = list(places.TOWNS[:n])
    for k in range(len(towns), n):  # beyond the list: a free code, the listed town's villages
        code, name, villages = places.TOWNS[k % len(places.TOWNS)]
        new = str(places.DISTRICT_CODE * 1000 + FREE_TOWN + k)
        towns.append((new, f"{name[:-2] if name.endswith('街道') else name[:-1]}{k}镇", tuple(
            (new + v[len(code):], v_name) for v, v_name in villages
        )))  # fmt: skip
    return towns


def _areas(geo: Geography) -> tuple[pa.Table, pa.Table, pa.Table]:
    towns = _towns(geo.streets.num_rows)
    streets = geo.streets.set_column(
        1, "street_code", pa.array([t[0] for t in towns], pa.string())
    ).set_column(2, "street_name", pa.array([t[1] for t in towns], pa.string()))
    c_street = geo.communities["street_id"].to_numpy()
    c_codes: list[str] = []
    c_names: list[str] = []
    seen = np.zeros(len(towns), dtype=np.int64)
    for s in c_street:
        code, _, villages = towns[s]
        k = int(seen[s])
        seen[s] += 1
        if k < len(villages):
            c_codes.append(villages[k][0])
            c_names.append(villages[k][1])
        else:  # more communities than the town lists: a free code, a listed name numbered
            c_codes.append(f"{code}{FREE_VILLAGE + k:03d}")
            c_names.append(f"{villages[k % len(villages)][1][:-1]}{k}村")
    communities = geo.communities.set_column(
        1, "community_code", pa.array(c_codes, pa.string())
    ).set_column(2, "community_name", pa.array(c_names, pa.string()))
    g_comm = geo.grids["community_id"].to_numpy()
    per = np.arange(g_comm.size) - np.searchsorted(g_comm, g_comm)  # position within community
    g_code = [f"{c_codes[c]}{p + 1:02d}" for c, p in zip(g_comm, per, strict=True)]
    g_name = [f"{c_names[c]}第{p + 1}网格" for c, p in zip(g_comm, per, strict=True)]
    grids = geo.grids.set_column(1, "grid_code", pa.array(g_code, pa.string())).set_column(
        2, "grid_name", pa.array(g_name, pa.string())
    )
    return streets, communities, grids


def _roads(geo: Geography) -> tuple[pa.Table, pa.Table]:
    direction = geo.roads["direction"].to_pylist()
    ns = _cycled(places.NS_ROADS, direction.count("NS"))
    ew = _cycled(places.EW_ROADS, direction.count("EW"))
    it_ns, it_ew = iter(ns), iter(ew)
    names = [next(it_ns) if d == "NS" else next(it_ew) for d in direction]
    roads = geo.roads.set_column(1, "road_name", pa.array(names, pa.string()))
    a = geo.road_aliases
    distinct = list(dict.fromkeys(a["old_name"].to_pylist()))
    olds = dict(zip(distinct, _cycled(places.OLD_ROADS, len(distinct)), strict=True))
    aliases = a.set_column(
        1, "road_name", pa.array([names[r] for r in a["road_id"].to_pylist()], pa.string())
    ).set_column(2, "old_name", pa.array([olds[o] for o in a["old_name"].to_pylist()], pa.string()))
    return roads, aliases


def _estate_names(estates: pa.Table) -> list[str]:
    kinds = estates["kind"].to_pylist()
    homes = [p + s for s in places.ESTATE_SUFFIX for p in places.ESTATE_PREFIX]
    out: list[str] = []
    h = o = 0
    for kind in kinds:
        if kind == "residential":
            out.append(
                homes[h % len(homes)] + ("" if h < len(homes) else f"{h // len(homes) + 1}期")
            )
            h += 1
        else:
            park, zone = places.PARKS[o % len(places.PARKS)], o // len(places.PARKS)
            out.append(
                f"{park}{chr(ord('A') + zone % 26)}区" + ("" if zone < 26 else str(zone // 26))
            )
            o += 1
    return out


def reshape(geo: Geography) -> Geography:
    """The same zone, named as 德清县 names it, with its villages' old estates made groups."""
    streets, communities, grids = _areas(geo)
    roads, aliases = _roads(geo)
    e = geo.estates
    names = _estate_names(e)
    village = np.array([n.endswith("村") for n in communities["community_name"].to_pylist()])
    comm = e["community_id"].to_numpy()
    rural = (
        village[comm]
        & (np.array(e["kind"].to_pylist()) == "residential")
        & (np.array(e["era"].to_pylist()) == "old")
    )
    road_id = e["road_id"].to_numpy().copy()
    road_no = e["road_no"].to_numpy().copy()
    c_names = communities["community_name"].to_pylist()
    lon, lat = e["lon"].to_numpy(), e["lat"].to_numpy()
    groups: dict[int, int] = {}
    new_roads: list[dict[str, object]] = []
    for i in np.flatnonzero(rural):  # a few estates per village: small tables
        g = groups[int(comm[i])] = groups.get(int(comm[i]), 0) + 1
        rid = roads.num_rows + len(new_roads)
        new_roads.append(
            {
                "road_id": rid,
                "road_name": f"{c_names[comm[i]]}{g}组",  # the register keeps the group: 3组
                "direction": "NS",
                "position": float(lon[i]),
                "wkt": f"LINESTRING({lon[i]:.6f} {lat[i] - 0.0008:.6f},"
                f"{lon[i]:.6f} {lat[i] + 0.0008:.6f})",
            }
        )
        road_id[i], road_no[i] = rid, 2 * (int(road_no[i]) % 40) + 1
        # a house in a village group has no estate; what a courier or clerk writes for one is the
        # house's place, 句城村2组15号 (the register keeps no estate, see `rural_texts`)
        names[i] = f"{c_names[comm[i]]}{g}组{road_no[i]}号"
    if new_roads:
        roads = pa.concat_tables([roads, pa.Table.from_pylist(new_roads, schema=roads.schema)])
    estates = (
        e.set_column(
            e.schema.get_field_index("estate_name"), "estate_name", pa.array(names, pa.string())
        )
        .set_column(e.schema.get_field_index("road_id"), "road_id", pa.array(road_id))
        .set_column(e.schema.get_field_index("road_no"), "road_no", pa.array(road_no))
    )
    return replace(
        geo,
        streets=streets,
        communities=communities,
        grids=grids,
        roads=roads,
        road_aliases=aliases,
        estates=estates,
    )


RURAL_HOUSE = r"^.+村\d+组\d+号$"  # 句城村2组15号: a village house's place, no estate


def rural_texts(geo: Geography) -> tuple[tuple[str, str], ...]:
    """Text fixes for village houses, whose place is written where an estate's name would be:
    the department forms that write the road, the number and the estate would say it twice
    (句城村2组15号句城村2组15号1栋…), those that write the community before the estate would
    say the village twice (句城村句城村2组15号…)."""
    pairs: list[tuple[str, str]] = []
    e = geo.estates
    c_names = geo.communities["community_name"].to_pylist()
    for name, comm in zip(e["estate_name"].to_pylist(), e["community_id"].to_pylist(), strict=True):
        village = c_names[comm]
        if name.startswith(village) and name.endswith("号") and "组" in name:
            wide = name.translate(_FULL_WIDTH)  # a clerk's full-width digits: 句城村１组６７号
            pairs += [(name + name, name), (village + name, name)]
            pairs += [(wide + wide, wide), (village + wide, wide)]
    return tuple(pairs)


_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
