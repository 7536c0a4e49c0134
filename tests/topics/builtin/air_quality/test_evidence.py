"""An episode's truck evidence counts muck trucks only (tests ``air_quality/evidence.py``): the
vehicle ping table also holds taxis, which neither hold a transport permit nor report a load."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from citybrain.core.engine import Engine, open_engine
from citybrain.topics.builtin.air_quality import evidence

pytestmark = pytest.mark.duckdb


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with open_engine("duckdb", tmp_path / "lake") as e:
        yield e


def test_only_muck_trucks_count_near_a_station(engine: Engine) -> None:
    at = datetime(2023, 4, 17, 23, 10)
    # one place, one hour: a truck reporting its load, a permit holder whose terminal does not,
    # a taxi (no load, no permit) three times, and a ping without a plate
    plates = ["川A10001", "川A20002", "川AT0003", "川AT0003", "川AT0003", None]
    loaded = [True, None, None, None, None, None]
    pings = engine.register(
        "pings",
        pa.table(
            {
                "plate": pa.array(plates, pa.string()),
                "ts": pa.array([at] * len(plates), pa.timestamp("us")),
                "lon": [104.02] * len(plates),
                "lat": [30.55] * len(plates),
                "loaded": pa.array(loaded, pa.bool_()),
            }
        ),
    )
    permits = engine.register("permits", pa.table({"plate": ["川A20002", "川A99999"]}))

    cells = evidence.ping_cells(engine, evidence.truck_pings(pings, permits))
    assert cells["pings"].sum() == 2  # the truck and the permit holder, not the taxi
    # without the permit table only a reported load makes a truck
    alone = evidence.ping_cells(engine, evidence.truck_pings(pings, None))
    assert alone["pings"].sum() == 1
