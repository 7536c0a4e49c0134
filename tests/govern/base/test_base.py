from __future__ import annotations

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from citybrain.core.catalog import Catalog
from citybrain.core.engine import Engine
from citybrain.govern.base import PERSON_RULES, SurvivorshipRules, build_base, survive


def test_survivorship_prefers_the_trusted_source_then_the_latest_load(engine: Engine) -> None:
    links = engine.register(
        "links",
        pa.table(
            {
                "record_id": ["a", "b", "c", "d"],
                "golden_person_id": ["P1", "P1", "P1", "P2"],
                "source_system": ["parcel_express", "police_household", "parcel_express", "x"],
                "source_row": ["p:1", "h:1", "p:2", "x:1"],
                "load_id": ["2023-01", "2020-01", "2023-03", "1"],
                "name_norm": ["王五", "王伍", None, "李四"],
                "phone_norm": ["13800000001", None, "13800000002", None],
            }
        ),
    )
    rules = SurvivorshipRules(
        fields={"name": "name_norm", "phone": "phone_norm"},
        source_rank=("police_household", "parcel_express"),
    )
    out = engine.to_arrow(survive(links, "golden_person_id", rules)).to_pylist()
    p1, p2 = out
    assert (p1["name"], p1["name__source_system"], p1["name__source_row"]) == (
        "王伍", "police_household", "h:1",
    )  # fmt: skip
    assert (p1["phone"], p1["phone__source_row"]) == ("13800000002", "p:2")  # latest load
    assert p1["records"] == 3 and p1["systems"] == 2
    assert p2["name"] == "李四" and p2["phone"] is None


@pytest.mark.parametrize("loads", [("L-b", "L-a"), ("L-a", "L-b")])
def test_survivorship_between_untrusted_systems_does_not_hang_on_load_order(
    engine: Engine, loads: tuple[str, str]
) -> None:
    """Two systems nobody ranked: the winner is the same whichever was loaded later (two loads of
    one second order by chance), and recency still decides within one system."""
    links = engine.register(
        f"links_{loads[0][-1]}",
        pa.table(
            {
                "record_id": ["a", "b", "c"],
                "golden_enterprise_id": ["E1", "E1", "E1"],
                "source_system": ["water_utility", "power_grid", "power_grid"],
                "source_row": ["w:1", "p:1", "p:2"],
                "load_id": [loads[0], loads[1], "L-0"],
                "address_norm": ["天府五街15号2栋", "天府五街15号1幢", "天府五街15号"],
            }
        ),
    )
    rules = SurvivorshipRules(fields={"address": "address_norm"}, source_rank=("market_registry",))
    (only,) = engine.to_arrow(survive(links, "golden_enterprise_id", rules)).to_pylist()
    assert (only["address__source_system"], only["address__source_row"]) == ("power_grid", "p:1")


@pytest.mark.duckdb
def test_build_base_writes_every_base_table_with_lineage(
    engine: Engine, std: dict[str, ir.Table], tmp_path: object
) -> None:
    if engine.name != "duckdb":
        pytest.skip("the Spark side is covered by the resolve test")
    catalog = Catalog.open("sqlite://")
    build = build_base(engine, std, catalog=catalog)
    assert {"person", "enterprise", "dwelling", "vehicle"} <= set(build.rows)
    person = engine.to_arrow(engine.table("base", "person"))
    assert person.num_rows == build.rows["person"]
    # Every golden field that has a value names the source row it came from.
    for name in PERSON_RULES.fields:
        has_value = pc.is_valid(person[name])
        assert pc.all(pc.is_valid(pc.filter(person[f"{name}__source_row"], has_value))).as_py()
    # A person with a household registration takes its name from the household registry.
    registered = person.filter(pc.equal(person["id_number__source_system"], "police_household"))
    assert registered.num_rows > 0
    dwelling = engine.to_arrow(engine.table("base", "dwelling"))
    assert pc.sum(dwelling["linked_records"]).as_py() > 0
    graph = catalog.lineage("base/person_link")
    assert any(edge.upstream.name == "person_registration" for edge in graph.edges)
    vehicles = engine.to_arrow(engine.table("base", "vehicle"))
    assert (
        vehicles.num_rows > 0 and pc.all(pc.starts_with(vehicles["golden_vehicle_id"], "V")).as_py()
    )


def test_the_summary_counts_source_records_nameless_ones_and_says_what_was_skipped() -> None:
    from citybrain.govern.base import BaseBuild
    from citybrain.govern.resolve import Resolution

    person = Resolution("person", pa.table({"record_id": ["a"]}), "", {"records_without_name": 3})
    build = BaseBuild(
        resolutions={"person": person},
        rows={"person": 10, "vehicle": 2},
        skipped={"enterprise": "skipped (no std table carries enterprise records)"},
        source_records={"person": 40, "vehicle": 2_000},
    )
    assert build.summary() == (
        "10 persons, 2 vehicles from 2,040 source records (3 of them without a name, linked by "
        "their identifiers); enterprise: skipped (no std table carries enterprise records)"
    )
