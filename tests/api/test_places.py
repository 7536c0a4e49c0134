"""``api/places.py``: a subject's address and golden dwelling looked up for the few ids of one
answer; ids without a value, unknown ids and missing tables give nothing, never an error."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from citybrain.api.deps import Lake
from citybrain.api.places import Places
from citybrain.core import Workspace


def test_addresses_and_dwellings_by_address_id(tmp_path: Path) -> None:
    places = Places(Lake(Workspace.init(tmp_path / "ws")))
    assert places.addresses(["A1"]) == {} and places.dwelling_ids(["A1"]) == {}  # no tables yet
    register = pa.table({"address_id": ["A1", "A2", "A3"],
                         "full_address": ["天府大道1号3栋", None, "天府大道2号"]})  # fmt: skip
    dwellings = pa.table({"address_id": ["A1", "A3"], "golden_dwelling_id": ["D9", None]})
    with places.lake.engine() as engine:
        engine.write(register, "std", "standard_address")
        engine.write(dwellings, "base", "dwelling")
    assert places.addresses(["A1", "A2", "X", "", "A1"]) == {"A1": "天府大道1号3栋"}
    assert places.dwelling_ids(["A1", "A3", "X"]) == {"A1": "D9"}
    assert places.addresses([]) == {}
