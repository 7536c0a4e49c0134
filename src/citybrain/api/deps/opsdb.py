"""The ops database (SQLAlchemy) and the catalog over it, as dependencies.

Handlers take ``ops_engine: OpsEngine`` and open their unit of work with
``with session(ops_engine) as db:`` — a block commits when it ends, so a write is committed before
the answer leaves. Tests swap either with ``app.dependency_overrides[get_ops_engine]``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy import Engine as SqlEngine

from citybrain.api.deps.auth import Security, get_security
from citybrain.core.catalog import Catalog


async def get_ops_engine(security: Annotated[Security, Depends(get_security)]) -> SqlEngine:
    """The app's pooled engine on the ops database (one per app, made by ``create_app``)."""
    return security.ops_engine


OpsEngine = Annotated[SqlEngine, Depends(get_ops_engine)]


async def get_catalog(ops_engine: OpsEngine) -> Catalog:
    """The data catalog (datasets, loads, lineage, source systems) in the ops database."""
    return Catalog(ops_engine)


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
