"""地名地址 (民政/规划) — the authoritative place-name and address register: standard addresses at
road-number, building, unit and dwelling level with coordinates and admin membership, the areas as
WKT polygons, roads with their old names (the alias list). Clean by design: it is the reference."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.addresses import write_address
from citybrain.sim.formats import write_csv, write_parquet
from citybrain.sim.geography import CITY, DISTRICT, DISTRICT_CODE, PROVINCE, address_ids
from citybrain.sim.ids import concat
from citybrain.sim.systems.base import SystemContext

SYSTEM = "place_address_register"


def build(ctx: SystemContext) -> None:
    geo = ctx.world.geo
    folder = ctx.dir(SYSTEM)
    d = geo.dwellings
    p = ctx.parts
    est = d["estate_id"].to_numpy()
    e = geo.estates
    grid = e["grid_id"].to_numpy()[est]
    levels = []
    # dwelling level: one per dwelling
    dwell = pa.table(
        {
            "address_id": p.address_id,
            "level": pa.repeat(pa.scalar("dwelling"), len(d)),
            "parent_id": address_ids("U", _unit_seq(ctx)),
            "full_address": write_address(p, "full"),
            "road_name": p.road,
            "road_no": p.road_no,
            "estate_name": p.estate,
            "building_no": p.building,
            "unit_no": p.unit,
            "floor_no": p.floor,
            "room_no": p.room,
            "lon": np.round(d["lon"].to_numpy(), 6),
            "lat": np.round(d["lat"].to_numpy(), 6),
            "grid_code": p.grid_code,
            "area_m2": d["area_m2"],
            "use": d["use"],
        }
    )
    # unit, building and road-number levels: first dwelling of each group stands for it
    unit_seq = _unit_seq(ctx)
    first_unit = np.unique(unit_seq, return_index=True)[1]
    bld = d["building_id"].to_numpy()
    first_bld = np.unique(bld, return_index=True)[1]
    first_est = np.unique(est, return_index=True)[1]
    for level, letter, rows, ids, parent in (
        ("unit", "U", first_unit, unit_seq[first_unit], address_ids("B", bld[first_unit])),
        ("building", "B", first_bld, bld[first_bld], address_ids("R", est[first_bld])),
        ("road_number", "R", first_est, est[first_est], pa.nulls(first_est.size, pa.string())),
    ):
        sub = p.take(rows)
        base = concat(PROVINCE, CITY, DISTRICT, sub.street, sub.road, sub.road_no, "号")
        text = {
            "unit": concat(base, sub.estate, sub.building, "栋", sub.unit, "单元"),
            "building": concat(base, sub.estate, sub.building, "栋"),
            "road_number": concat(base, sub.estate),
        }[level]
        null = pa.nulls(rows.size, pa.string())
        levels.append(
            pa.table(
                {
                    "address_id": address_ids(letter, ids),
                    "level": pa.repeat(pa.scalar(level), rows.size),
                    "parent_id": parent,
                    "full_address": text,
                    "road_name": sub.road,
                    "road_no": sub.road_no,
                    "estate_name": sub.estate,
                    "building_no": sub.building if level != "road_number" else null,
                    "unit_no": sub.unit if level == "unit" else null,
                    "floor_no": null,
                    "room_no": null,
                    "lon": np.round(d["lon"].to_numpy()[rows], 6),
                    "lat": np.round(d["lat"].to_numpy()[rows], 6),
                    "grid_code": sub.grid_code,
                    "area_m2": pa.nulls(rows.size, pa.float64()),
                    "use": d["use"].take(pa.array(rows)),
                }
            )
        )
    register = pa.concat_tables([*levels[::-1], dwell])
    ctx.count(SYSTEM, write_parquet(folder / "standard_address.parquet", register))
    ctx.truth.link(
        "dwelling",
        SYSTEM,
        "standard_address",
        "address_id",
        p.address_id,
        d["dwelling_id"].to_numpy(),
    )
    aliases = geo.road_aliases.rename_columns(["road_id", "road_name", "old_name", "renamed_year"])
    ctx.count(SYSTEM, write_csv(folder / "road_alias.csv", aliases))
    roads = geo.roads.select(["road_id", "road_name", "direction", "wkt"])
    ctx.count(SYSTEM, write_csv(folder / "road.csv", roads))
    areas = pa.concat_tables(
        [
            _area(geo.streets, "street", "street_code", "street_name", None),
            _area(
                geo.communities,
                "community",
                "community_code",
                "community_name",
                pc.take(geo.streets["street_code"], geo.communities["street_id"]),
            ),
            _area(
                geo.grids,
                "grid",
                "grid_code",
                "grid_name",
                pc.take(geo.communities["community_code"], geo.grids["community_id"]),
            ),
        ]
    )
    ctx.count(SYSTEM, write_csv(folder / "admin_area.csv", areas))
    _ = grid, DISTRICT_CODE


def _unit_seq(ctx: SystemContext) -> np.ndarray:
    d = ctx.world.geo.dwellings
    seq: np.ndarray = d["building_id"].to_numpy().astype(np.int64) * 8 + d["unit"].to_numpy() - 1
    return seq


def _area(
    t: pa.Table, level: str, code: str, name: str, parent: pa.ChunkedArray | None
) -> pa.Table:
    n = len(t)
    return pa.table(
        {
            "level": pa.repeat(pa.scalar(level), n),
            "code": t[code],
            "name": t[name],
            "parent_code": parent if parent is not None else pa.nulls(n, pa.string()),
            "wkt": t["wkt"],
        }
    )
