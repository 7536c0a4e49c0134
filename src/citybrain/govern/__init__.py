"""Data governance: standardisation, validation, quality, identity resolution, base databases.

The public surface other stages use (the API, the CLI)::

    quality_report(workspace), score_history(ops_engine, "water_utility")  # data quality
    QualityScore, QualityAlert                                   # its rows in the ops database
    entity_360(lake_engine, "person", golden_id)                 # one entity across all sources
    EntityKind, GOLDEN_ID_COLUMN[kind], LINK_TABLE[kind]          # where the base zone keeps it
    contracts_in(contract_files)                                 # the sources' contracts

Names are imported on first use (PEP 562): the stage's modules pull in Ibis, Splink and friends,
which a caller wanting one of them should not pay for all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from citybrain.govern.entity360 import (
        GOLDEN_ID_COLUMN,
        LINK_TABLE,
        Entity360,
        EntityKind,
        entity_360,
    )
    from citybrain.govern.opsdb_models import QualityAlert, QualityScore
    from citybrain.govern.quality import QualityReport, quality_report, score_history
    from citybrain.govern.standardize.sources import contracts_in

_WHERE = {
    "Entity360": "citybrain.govern.entity360",
    "GOLDEN_ID_COLUMN": "citybrain.govern.entity360",
    "LINK_TABLE": "citybrain.govern.entity360",
    "EntityKind": "citybrain.govern.entity360",
    "entity_360": "citybrain.govern.entity360",
    "QualityAlert": "citybrain.govern.opsdb_models",
    "QualityScore": "citybrain.govern.opsdb_models",
    "QualityReport": "citybrain.govern.quality",
    "quality_report": "citybrain.govern.quality",
    "score_history": "citybrain.govern.quality",
    "contracts_in": "citybrain.govern.standardize.sources",
}

__all__ = [
    "GOLDEN_ID_COLUMN",
    "LINK_TABLE",
    "Entity360",
    "EntityKind",
    "QualityAlert",
    "QualityReport",
    "QualityScore",
    "contracts_in",
    "entity_360",
    "quality_report",
    "score_history",
]


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'citybrain.govern' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
