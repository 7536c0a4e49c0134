"""The parking platform's lots have a place (tests ``sim/systems/parking.py`` with its contract):
each lot stands at a building of the address register, every snapshot gives it the same point,
and the contract carries it onto ``std.parking_occupancy``'s lon and lat."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from citybrain.core.stdmodel import STD_TABLES
from citybrain.ingest.check import load_contract
from citybrain.ingest.simsources import SIM_CONTRACTS


def test_lots_stand_at_buildings_and_reach_the_std_table(tiny_root: Path) -> None:
    lots = pa.concat_tables(
        pq.read_table(p) for p in sorted((tiny_root / "parking_occupancy" / "data").glob("*"))
    )
    points = lots.group_by("parkId").aggregate([("lng", "min"), ("lng", "max"), ("lat", "min")])
    assert pc.all(pc.equal(points["lng_min"], points["lng_max"])).as_py()  # one place per lot
    register = pq.read_table(tiny_root / "place_address_register" / "standard_address.parquet")
    buildings = register.filter(pc.equal(register["level"], "building"))
    at = set(zip(buildings["lon"].to_pylist(), buildings["lat"].to_pylist(), strict=True))
    lot_points = zip(points["lng_min"].to_pylist(), points["lat_min"].to_pylist(), strict=True)
    assert all(p in at for p in lot_points)
    contract = load_contract(SIM_CONTRACTS / "parking_occupancy.yaml")
    mapped = {c.source: c.target for c in contract.mapping.columns}
    assert (mapped["lng"], mapped["lat"]) == ("lon", "lat")
    assert set(mapped) <= set(lots.column_names)
    std = {c.name for c in STD_TABLES["parking_occupancy"].columns}
    assert set(mapped.values()) <= std
