"""base.person (人口库) and base.enterprise (法人库) from the resolved links."""

from __future__ import annotations

from citybrain.core.engine import Engine, TableInfo
from citybrain.govern.base.survivorship import SurvivorshipRules, survive
from citybrain.govern.resolve import GOLDEN_COLUMN, link_table

# Most trusted first: the registries that own a fact before the systems that only repeat it.
PERSON_RULES = SurvivorshipRules(
    fields={
        "name": "name_norm",
        "id_number": "id_valid",
        "birth_date": "dob",
        "gender": "gender",
        "phone": "phone_norm",
        "address": "address",
    },
    source_rank=(
        "police_household", "police_residence_permit", "market_registry", "health_tests",
        "transport_arrivals", "court_dishonest", "parcel_express", "hotline_12345",
        "power_grid", "water_utility", "gas_utility",
    ),
    # A phone is best where people give it for a delivery, not where it was registered years ago.
    field_rank={"phone": ("transport_arrivals", "health_tests", "parcel_express",
                          "police_residence_permit", "police_household", "hotline_12345")},
)  # fmt: skip

ENTERPRISE_RULES = SurvivorshipRules(
    fields={"name": "name_norm", "uscc": "id_valid", "address": "address"},
    source_rank=(
        "market_registry", "tax_declarations", "social_security", "credit_commitments",
        "admin_penalties", "muck_transport_permits", "court_dishonest",
    ),
)  # fmt: skip

BASE_TABLE = {"person": "person", "enterprise": "enterprise"}


def build_entity_base(
    engine: Engine, kind: str, rules: SurvivorshipRules | None = None
) -> TableInfo:
    """Write ``base.person`` or ``base.enterprise`` from ``base.<kind>_link``."""
    if kind not in BASE_TABLE:
        raise ValueError(f"kind must be person or enterprise, not {kind!r}")
    rules = rules or (PERSON_RULES if kind == "person" else ENTERPRISE_RULES)
    links = engine.table("base", link_table(kind))  # type: ignore[arg-type]
    golden = survive(links, GOLDEN_COLUMN[kind], rules)
    return engine.write(golden, "base", BASE_TABLE[kind])
