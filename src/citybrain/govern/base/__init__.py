"""The base databases: population, legal entities, dwellings and vehicles, with golden ids.

Public surface: `build_base` (from std tables on an engine), `build_workspace_base` (the
`citybrain run` stage on a workspace), `BaseBuild`, the kinds (`BASE_ORDER`), the tables each
writes (`BASE_TABLES`) and reads (`kind_inputs`, `kind_settings`), and the survivorship rules.
"""

from citybrain.govern.base.build import BASE_ORDER, BASE_TABLES, BaseBuild, build_base
from citybrain.govern.base.entities import ENTERPRISE_RULES, PERSON_RULES
from citybrain.govern.base.survivorship import SurvivorshipRules, survive
from citybrain.govern.base.workspace import (
    BASE_INPUTS,
    build_workspace_base,
    kind_inputs,
    kind_settings,
    std_inputs,
)

__all__ = [
    "BASE_INPUTS",
    "BASE_ORDER",
    "BASE_TABLES",
    "ENTERPRISE_RULES",
    "PERSON_RULES",
    "BaseBuild",
    "SurvivorshipRules",
    "build_base",
    "build_workspace_base",
    "kind_inputs",
    "kind_settings",
    "std_inputs",
    "survive",
]
