"""base.vehicle: one row per vehicle (normalised plate, or VIN), never one per ping."""

from __future__ import annotations

import pyarrow as pa

from citybrain.core.engine import Engine
from citybrain.govern.base.vehicle import build_vehicle_base


def _pings(plates: list[str | None], vins: list[str | None] | None = None) -> pa.Table:
    n = len(plates)
    columns: dict[str, list[object]] = {
        "ping_id": [f"g{i}" for i in range(n)],
        "plate": list(plates),
        "ts": [f"2024-03-01 08:00:{i % 60:02d}" for i in range(n)],
        "source_system": ["gps"] * n,
        "source_row": [str(i) for i in range(n)],
    }
    if vins is not None:
        columns["vin"] = list(vins)
    return pa.table(columns)


def test_a_gps_feed_alone_gives_one_vehicle_per_plate(engine: Engine) -> None:
    plates = ["川A·12345", "川a 12345", "川A12345", "川B-67890", None, ""] * 50
    pings = engine.register("pings", _pings(plates))
    built = build_vehicle_base(engine, None, pings)
    table = engine.to_arrow(engine.table("base", "vehicle")).sort_by("golden_vehicle_id")
    assert table["golden_vehicle_id"].to_pylist() == ["V川A12345", "V川B67890"]
    assert table["pings"].to_pylist() == [150, 50]
    assert built.info.rows == 2 and built.source_records == 300


def test_a_ping_with_only_a_vin_joins_the_plate_that_vin_carries(engine: Engine) -> None:
    plates = ["川A12345", None, None, "川C11111"]
    vins = ["LGB12345678901234", "lgb1234567890-1234", "WVW99999999999999", None]
    pings = engine.register("pings_vin", _pings(plates, vins))
    build_vehicle_base(engine, None, pings)
    table = engine.to_arrow(engine.table("base", "vehicle")).sort_by("golden_vehicle_id")
    assert table["golden_vehicle_id"].to_pylist() == [
        "VVINWVW99999999999999", "V川A12345", "V川C11111",
    ]  # fmt: skip
    assert table["pings"].to_pylist() == [1, 2, 1]
