"""Alembic environment for the ops database.

citybrain runs migrations from code (``citybrain.core.opsdb.upgrade``), which hands over an open
connection in ``config.attributes["connection"]``; there is no alembic.ini and no offline mode.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from citybrain.core.opsdb.base import UTCDateTime
from citybrain.core.opsdb.registry import load_models

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through citybrain.core.opsdb.upgrade(url), not the alembic command line"
    )


def _render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # A migration must not import the models it freezes (they change later), so our own column
    # types are written out as the plain SQLAlchemy type they store as.
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


context.configure(
    connection=connection,
    target_metadata=load_models(),
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead, so one migration
    # script serves both SQLite and PostgreSQL.
    render_as_batch=True,
    compare_type=True,
    render_item=_render_item,
)
with context.begin_transaction():
    context.run_migrations()
