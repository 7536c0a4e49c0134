"""How the true address of a dwelling is written: the canonical register form and each
department's habits (estate name or road number, 栋/幢/号楼, missing levels, floor and number).

Every style is built column-wise from per-dwelling parts, so writing a million addresses is a few
Arrow string joins. Further dirt (full width, Chinese numerals, old road names …) comes from
``sim.dirt`` on top of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.geography import CITY, DISTRICT, PROVINCE, Geography, address_ids
from citybrain.sim.ids import concat

Style = Literal["full", "road", "estate", "shorthand", "floor_number", "no_district", "building"]


@dataclass(frozen=True)
class AddressParts:
    """Per-dwelling address components as Arrow arrays (index = dwelling id)."""

    street: pa.Array
    community: pa.Array
    road: pa.Array
    road_no: pa.Array  # string
    estate: pa.Array
    building: pa.Array  # string
    unit: pa.Array  # string
    floor: pa.Array  # string
    room: pa.Array  # string, floor*100 + number
    number: pa.Array  # string, number on the floor
    address_id: pa.Array
    grid_code: pa.Array

    def take(self, rows: np.ndarray) -> AddressParts:
        idx = pa.array(np.asarray(rows, dtype=np.int64))
        return AddressParts(*(getattr(self, f).take(idx) for f in self.__dataclass_fields__))


def address_parts(geo: Geography) -> AddressParts:
    """Components of every dwelling's address."""
    d = geo.dwellings
    est = d["estate_id"].to_numpy()
    e = geo.estates
    bld = d["building_id"].to_numpy()

    def by_estate(col: str) -> pa.Array:
        return e[col].combine_chunks().take(pa.array(est))

    grid = e["grid_id"].to_numpy()[est]
    comm = e["community_id"].to_numpy()[est]
    street = e["street_id"].to_numpy()[est]
    road = e["road_id"].to_numpy()[est]
    room = d["room_no"].to_numpy()
    return AddressParts(
        street=geo.streets["street_name"].combine_chunks().take(pa.array(street)),
        community=geo.communities["community_name"].combine_chunks().take(pa.array(comm)),
        road=geo.roads["road_name"].combine_chunks().take(pa.array(road)),
        road_no=by_estate("road_no").cast(pa.string()),
        estate=by_estate("estate_name"),
        building=pa.array(geo.buildings["building_no"].to_numpy()[bld]).cast(pa.string()),
        unit=d["unit"].combine_chunks().cast(pa.string()),
        floor=d["floor"].combine_chunks().cast(pa.string()),
        room=d["room_no"].combine_chunks().cast(pa.string()),
        number=pa.array(room % 100).cast(pa.string()),
        address_id=address_ids("D", d["dwelling_id"].to_numpy()),
        grid_code=geo.grids["grid_code"].combine_chunks().take(pa.array(grid)),
    )


def write_address(p: AddressParts, style: Style) -> pa.StringArray:
    """One department habit applied to every row of ``p``."""
    bu = concat(p.building, "栋", p.unit, "单元")
    if style == "full":  # the register's canonical form
        return concat(
            PROVINCE, CITY, DISTRICT, p.street, p.road, p.road_no, "号", p.estate, bu, p.room, "室"
        )
    if style == "road":  # utilities: road number, no estate
        return concat(
            CITY, DISTRICT, p.road, p.road_no, "号", p.building, "栋", p.unit, "单元", p.room, "号"
        )
    if style == "estate":  # platforms: what the customer types
        return concat(p.estate, p.building, "栋", p.unit, "单元", p.room)
    if style == "shorthand":
        return concat(p.estate, p.building, "-", p.unit, "-", p.room)
    if style == "floor_number":  # power: 幢, floor and number
        return concat(
            DISTRICT,
            p.road,
            p.road_no,
            "号",
            p.estate,
            p.building,
            "幢",
            p.unit,
            "单元",
            p.floor,
            "楼",
            p.number,
            "号",
        )
    if style == "no_district":  # community workers know the district
        return concat(p.community, p.estate, bu, p.room, "室")
    if style == "building":  # neighbours complain about a building, not a flat
        return concat(p.estate, p.building, "栋", p.unit, "单元", p.floor, "楼")
    raise ValueError(f"unknown address style {style!r}")


def mixed(p: AddressParts, styles: list[Style], rng: np.random.Generator) -> pa.StringArray:
    """Each row written in one of several styles (different clerks, different habits)."""
    choice = rng.integers(0, len(styles), len(p.room))
    out = write_address(p, styles[0])
    for i, s in enumerate(styles[1:], start=1):
        out = pc.if_else(pa.array(choice == i), write_address(p, s), out)
    return out
