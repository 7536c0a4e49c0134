from __future__ import annotations

import sys
from pathlib import Path

import ibis.expr.types as ir
import pyarrow.compute as pc
import pytest

from citybrain.core.engine import Engine
from citybrain.core.errors import UserError
from citybrain.govern.base import build_base
from citybrain.govern.entity360 import entity_360

sys.path.insert(0, str(Path(__file__).parent / "resolve"))
from simcity import resolve_city, std, std_arrow

__all__ = ["resolve_city", "std", "std_arrow"]


@pytest.mark.duckdb
def test_entity_360_of_a_person_an_enterprise_and_a_dwelling(
    engine: Engine, std: dict[str, ir.Table]
) -> None:
    if engine.name != "duckdb":
        pytest.skip("entity 360 reads the base zone the same way on both engines")
    build_base(engine, std)
    person = engine.to_arrow(engine.table("base", "person"))
    busiest = person.sort_by([("systems", "descending"), ("golden_person_id", "ascending")])
    golden_id = busiest["golden_person_id"][0].as_py()
    view = entity_360(engine, "person", golden_id, std=std)
    assert view.golden["golden_person_id"] == golden_id
    assert len(view.records) == view.golden["systems"] >= 2
    assert view.record_count == view.golden["records"]
    household = view.records.get("police_household")
    if household is not None:  # full std rows when std tables are given
        assert "household_id" in household.column_names

    firm = engine.to_arrow(engine.table("base", "enterprise"))
    firm_id = firm.sort_by([("records", "descending")])["golden_enterprise_id"][0].as_py()
    firm_view = entity_360(engine, "enterprise", firm_id)
    assert "market_registry" in firm_view.records
    assert firm_view.as_dict()["golden"]["uscc"] == firm_view.golden["uscc"]

    dwelling = engine.to_arrow(engine.table("base", "dwelling"))
    lived_in = dwelling.filter(pc.greater(dwelling["linked_persons"], 0))
    dwelling_view = entity_360(engine, "dwelling", lived_in["golden_dwelling_id"][0].as_py())
    assert dwelling_view.record_count >= 1

    with pytest.raises(UserError):
        entity_360(engine, "person", "P-NOT-THERE")
