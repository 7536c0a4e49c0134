"""The ops database: catalog, runs and, later, cases, users and audit.

SQLite by default, PostgreSQL in production, through SQLAlchemy 2 with Alembic migrations that ship
inside this package. See ``migrations/README.md`` for how to add a migration.
"""

from citybrain.core.opsdb.base import Base, UTCDateTime, utcnow
from citybrain.core.opsdb.connection import connect, normalise_url, reach, session
from citybrain.core.opsdb.migrate import (
    current_revision,
    downgrade,
    head_revision,
    make_revision,
    upgrade,
)
from citybrain.core.opsdb.models import (
    RUN_STATUSES,
    CatalogDataset,
    CatalogDatasetStats,
    CatalogLineage,
    LoadRun,
    PipelineRun,
    PipelineStep,
)
from citybrain.core.opsdb.registry import load_models

__all__ = [
    "RUN_STATUSES",
    "Base",
    "CatalogDataset",
    "CatalogDatasetStats",
    "CatalogLineage",
    "LoadRun",
    "PipelineRun",
    "PipelineStep",
    "UTCDateTime",
    "connect",
    "current_revision",
    "downgrade",
    "head_revision",
    "load_models",
    "make_revision",
    "normalise_url",
    "reach",
    "session",
    "upgrade",
    "utcnow",
]
