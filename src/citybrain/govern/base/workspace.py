"""Build the base zone of a workspace from its std tables: the `citybrain run` resolve stage.

A nightly run is incremental: records already linked keep their golden ids and only new ones
are scored (`resolve_new`); the first run of a workspace resolves everything.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis.expr.types as ir

from citybrain.core.catalog import Catalog
from citybrain.core.engine import Engine
from citybrain.core.workspace import Workspace
from citybrain.govern.base.build import BaseBuild, build_base
from citybrain.govern.resolve.records import ENTERPRISE_SPECS, PERSON_SPECS

#: Every std table a base table is built from.
BASE_INPUTS: tuple[str, ...] = tuple(
    sorted(
        {s.table for s in (*PERSON_SPECS, *ENTERPRISE_SPECS)}
        | {"standard_address", "transport_permit", "vehicle_ping"}
    )
)


def std_inputs(engine: Engine) -> dict[str, ir.Table]:
    """The std tables of `BASE_INPUTS` the workspace has written."""
    return {name: engine.table("std", name) for name in BASE_INPUTS if engine.exists("std", name)}


def build_workspace_base(
    workspace: Workspace,
    *,
    run_id: str | None = None,
    full: bool = False,
    report: Callable[[str], None] | None = None,
) -> BaseBuild:
    """Resolve and write the workspace's base tables and record them in its catalog."""
    catalog = Catalog.open(workspace.ops_db_url)
    try:
        with workspace.engine() as engine:
            std = std_inputs(engine)
            return build_base(
                engine, std, incremental=not full, catalog=catalog, run_id=run_id, report=report
            )
    finally:
        catalog.close()
