"""The standard address base, built from the address register's std tables.

``std.standard_address`` (road number → building → unit → dwelling, each with its parent),
``std.admin_area`` (street, community and grid polygons) and ``std.road_alias`` (old road names)
become an `AddressBase` for matching, a parser that knows the city's roads, estates and old names,
and a table of every standard address's grid, community, street and H3 cell (point in polygon).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import h3
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from citybrain.address import (
    AddressBase,
    AddressParser,
    Gazetteer,
    ParserConfig,
    ZoneAlias,
    rules_version,
)
from citybrain.address.divisions import DEFAULT_ZONES
from citybrain.core.engine import Engine
from citybrain.govern.standardize.flags import BBox

H3_RESOLUTION = 9
AREA_LEVELS = ("grid", "community", "street")
AREA_COLUMNS = ("grid_id", "community_id", "street_id")


@dataclass(frozen=True)
class AddressIndex:
    """Everything matching needs; ``version`` changes when the register does."""

    base: AddressBase
    parser: AddressParser
    areas: pa.Table  # address_id, grid_id, community_id, street_id, h3_cell
    version: str
    bbox: BBox | None
    estate_roads: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)


def _read(engine: Engine, name: str) -> pa.Table | None:
    return engine.to_arrow(engine.table("std", name)) if engine.exists("std", name) else None


def city_bbox(engine: Engine) -> BBox | None:
    """The box around the register's admin areas (else its address points)."""
    admin = _read(engine, "admin_area")
    if admin is not None and admin.num_rows:
        geoms = shapely.from_wkt(admin.column("geometry").to_numpy(zero_copy_only=False))
        geoms = geoms[~shapely.is_missing(geoms)]
        if len(geoms):
            minx, miny, maxx, maxy = shapely.total_bounds(geoms)
            return (float(minx), float(miny), float(maxx), float(maxy))
    return None


def build_address_index(engine: Engine, *, city_name: str | None = None) -> AddressIndex | None:
    """The index over the std register tables, or None when the city has no register yet."""
    register = _read(engine, "standard_address")
    if register is None or register.num_rows == 0:
        return None
    admin = _read(engine, "admin_area")
    areas = _areas(register, admin)
    rows = _with_area_names(_base_rows(register), areas, admin)
    aliases = _road_aliases(_read(engine, "road_alias"))
    # The city the register covers: an address naming another never matches in it (outside_city).
    base = AddressBase(rows, road_aliases=aliases, region=_default_region(admin))
    zones = _city_zones(admin, city_name)
    config = ParserConfig(
        default_region=_default_region(admin), zones=zones,
        gazetteer=Gazetteer(road_aliases=aliases),
    )  # fmt: skip
    parser = base.parser(config)
    digest = hashlib.sha256()
    for table in (register.select(["address_id", "full_address"]), areas):
        # Sorted: the engine reads rows in no fixed order, and the same register is one version.
        ordered = table.sort_by([(name, "ascending") for name in table.column_names])
        digest.update(repr(ordered.to_pydict()).encode())
    digest.update(repr(sorted(aliases.items())).encode())
    digest.update(rules_version().encode())  # new parsing or matching rules: match again
    return AddressIndex(
        base, parser, areas, digest.hexdigest()[:16], city_bbox(engine), _estate_roads(rows)
    )


def _estate_roads(rows: pa.Table) -> dict[str, tuple[tuple[str, str], ...]]:
    """Estate name → the road numbers it stands on (several when the name repeats)."""
    data = rows.select(["estate", "road", "road_number"]).to_pydict()
    found: dict[str, set[tuple[str, str]]] = {}
    for estate, road, number in zip(data["estate"], data["road"], data["road_number"], strict=True):
        if estate and road and number:
            found.setdefault(estate, set()).add((road, number))
    return {estate: tuple(sorted(roads)) for estate, roads in found.items() if len(roads) > 1}


def _base_rows(register: pa.Table) -> pa.Table:
    """One row per standard address with the ids of every level above it."""
    data = register.select(
        ["address_id", "level", "parent_id", "road_name", "road_no", "estate_name",
         "building_no", "unit_no", "room_no"]
    ).to_pydict()  # fmt: skip
    level = dict(zip(data["address_id"], data["level"], strict=True))
    parent = dict(zip(data["address_id"], data["parent_id"], strict=True))
    ids: dict[str, list[str | None]] = {k: [] for k in ("rn", "b", "u", "d")}
    slot = {"road_number": "rn", "building": "b", "unit": "u", "dwelling": "d"}
    for address_id in data["address_id"]:
        found: dict[str, str | None] = {}
        current: str | None = address_id
        for _ in range(6):  # the chain is at most four deep
            if current is None or current not in level:
                break
            key = slot.get(str(level[current]))
            if key is not None:
                found.setdefault(key, current)
            current = parent.get(current)
        for key, values in ids.items():
            values.append(found.get(key))
    return pa.table(
        {
            "road": data["road_name"],
            "road_number": data["road_no"],
            "estate": data["estate_name"],
            "building": data["building_no"],
            "unit": data["unit_no"],
            "room": data["room_no"],
            "road_number_id": ids["rn"],
            "building_id": ids["b"],
            "unit_id": ids["u"],
            "dwelling_id": ids["d"],
        }
    )


def _road_aliases(table: pa.Table | None) -> dict[str, tuple[str, ...]]:
    """Old road name → current names; several when the old road was split between new ones."""
    if table is None:
        return {}
    data = table.select(["name", "old_name"]).to_pydict()
    out: dict[str, list[str]] = {}
    for new, old in zip(data["name"], data["old_name"], strict=True):
        if old and new and new not in out.setdefault(old, []):
            out[old].append(new)
    # Sorted: the rows come in no fixed order, and one register must read the same every run.
    return {old: tuple(sorted(names)) for old, names in out.items()}


def _with_area_names(rows: pa.Table, areas: pa.Table, admin: pa.Table | None) -> pa.Table:
    """The street and community names of each row's road number (its gate), for the matcher to
    tell apart two places with one name by the street or community written with them."""
    if admin is None:
        return rows
    names = dict(
        zip(admin.column("code").to_pylist(), admin.column("name").to_pylist(), strict=True)
    )
    by_id = areas.select(["address_id", "street_id", "community_id"]).to_pydict()
    area_of = {
        a: (names.get(s), names.get(c))
        for a, s, c in zip(
            by_id["address_id"], by_id["street_id"], by_id["community_id"], strict=True
        )
    }
    gates = [area_of.get(rn, (None, None)) for rn in rows.column("road_number_id").to_pylist()]
    return rows.append_column("street", pa.array([g[0] for g in gates], pa.string())).append_column(
        "community", pa.array([g[1] for g in gates], pa.string())
    )


def _street_codes(admin: pa.Table | None) -> list[str]:
    if admin is None:
        return []
    streets = admin.filter(pc.equal(admin.column("level"), "street"))
    return [c for c in streets.column("code").to_pylist() if c]


def _default_region(admin: pa.Table | None) -> str | None:
    """The district all of the register's streets belong to (first six digits of their codes)."""
    prefixes = {code[:6] for code in _street_codes(admin) if len(code) >= 6}
    if len(prefixes) != 1:
        return None
    district = prefixes.pop()
    return district[:4] + "00"  # the city: the district itself may be a zone the codes lack


def _city_zones(admin: pa.Table | None, city_name: str | None) -> tuple[ZoneAlias, ...]:
    """The workspace's own district as a zone under its city, if the codes do not know it."""
    region = _default_region(admin)
    if not city_name or region is None:
        return DEFAULT_ZONES
    short = city_name.removeprefix("示例") if city_name.startswith("示例") else None
    aliases = (short,) if short and short != city_name else ()
    return (*DEFAULT_ZONES, ZoneAlias(city_name, region, tuple(a for a in aliases if a)))


def _areas(register: pa.Table, admin: pa.Table | None) -> pa.Table:
    """Grid, community and street of every standard address by point in polygon; its H3 cell."""
    lon = pc.cast(register.column("lon"), pa.float64()).to_numpy(zero_copy_only=False)
    lat = pc.cast(register.column("lat"), pa.float64()).to_numpy(zero_copy_only=False)
    points = shapely.points(lon, lat)
    columns: dict[str, pa.Array] = {"address_id": register.column("address_id").combine_chunks()}
    for level, name in zip(AREA_LEVELS, AREA_COLUMNS, strict=True):
        columns[name] = _containing(points, admin, level)
    cells = [
        None if np.isnan(x) or np.isnan(y) else h3.latlng_to_cell(float(y), float(x), H3_RESOLUTION)
        for x, y in zip(lon, lat, strict=True)
    ]
    columns["h3_cell"] = pa.array(cells, pa.string())
    return pa.table(columns)


def _containing(points: np.ndarray, admin: pa.Table | None, level: str) -> pa.Array:
    out = np.full(len(points), None, dtype=object)
    if admin is None:
        return pa.array(out, pa.string())
    areas = admin.filter(pc.equal(admin.column("level"), level))
    if areas.num_rows == 0:
        return pa.array(out, pa.string())
    polygons = shapely.from_wkt(areas.column("geometry").to_numpy(zero_copy_only=False))
    codes = np.array(areas.column("code").to_pylist(), dtype=object)
    tree = shapely.STRtree(polygons)
    point_idx, area_idx = tree.query(points, predicate="intersects")
    # On a shared edge the first area wins, so every point gets exactly one.
    first = np.unique(point_idx, return_index=True)[1]
    out[point_idx[first]] = codes[area_idx[first]]
    return pa.array(out, pa.string())
