"""Finding every ops-database model, including those of stages above ``core``.

``core`` may not import the stages (the layering contract forbids it), yet Alembic must see their
tables. So a stage keeps its tables in ``citybrain/<stage>/opsdb_models.py``, derived from
``citybrain.core.opsdb.Base``, and this module imports those files by name at migration time.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from sqlalchemy import MetaData

import citybrain
from citybrain.core.opsdb.base import Base

STAGE_MODELS_MODULE = "opsdb_models"


def stage_model_modules() -> list[str]:
    """Dotted names of the stages' ``opsdb_models`` modules, in a stable order."""
    root = Path(citybrain.__file__).parent
    return sorted(
        f"citybrain.{path.parent.name}.{STAGE_MODELS_MODULE}"
        for path in root.glob(f"*/{STAGE_MODELS_MODULE}.py")
    )


def load_models() -> MetaData:
    """Import every model module and return the metadata that holds all their tables."""
    importlib.import_module("citybrain.core.opsdb.models")
    for name in stage_model_modules():
        importlib.import_module(name)
    return Base.metadata
