"""Build the base zone of a workspace from its std tables: the `citybrain run` resolve stage.

A nightly run is incremental: records already linked keep their golden ids and only new ones
are scored (`resolve_new`); the first run of a workspace resolves everything. Which std tables and
columns identify whom is the workspace's resolver configuration (``[resolve]`` in
``citybrain.toml`` or ``resolve.yaml``; see `citybrain.govern.resolve.settings`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import ibis.expr.types as ir
from pydantic import BaseModel

from citybrain.core.catalog import Catalog
from citybrain.core.engine import Engine
from citybrain.core.workspace import Workspace
from citybrain.govern.base.build import BASE_ORDER, BaseBuild, build_base
from citybrain.govern.resolve import ResolveConfig, load_resolve_config


def kind_inputs(config: ResolveConfig | None = None) -> dict[str, tuple[str, ...]]:
    """Per base kind (`BASE_ORDER`), the std tables it is built from under ``config`` (default:
    the defaults). Dwellings also read the person and enterprise links (see `build_base`)."""
    config = config or ResolveConfig()
    tables = {
        kind: {s.table for s in config.kind(kind).sources} for kind in ("person", "enterprise")
    }
    tables["dwelling"] = {config.dwelling.addresses}
    tables["vehicle"] = {config.vehicle.permits, config.vehicle.pings}
    return {kind: tuple(sorted(tables[kind])) for kind in BASE_ORDER}


def kind_settings(config: ResolveConfig, kind: str) -> str:
    """The part of ``config`` that decides ``kind``'s tables, as text (JSON)."""
    section: BaseModel = getattr(config, kind)
    return section.model_dump_json()


def base_inputs(config: ResolveConfig | None = None) -> tuple[str, ...]:
    """Every std table a base table is built from under ``config`` (default: the defaults)."""
    return tuple(sorted({t for tables in kind_inputs(config).values() for t in tables}))


#: Every std table a base table is built from by default.
BASE_INPUTS: tuple[str, ...] = base_inputs()


def std_inputs(engine: Engine, config: ResolveConfig | None = None) -> dict[str, ir.Table]:
    """The std tables of `base_inputs` the workspace has written."""
    names = base_inputs(config)
    return {name: engine.table("std", name) for name in names if engine.exists("std", name)}


def build_workspace_base(
    workspace: Workspace,
    *,
    run_id: str | None = None,
    full: bool = False,
    report: Callable[[str], None] | None = None,
    kinds: Collection[str] | None = None,
) -> BaseBuild:
    """Resolve and write the workspace's base tables of ``kinds`` (default: every kind) and
    record them in its catalog; the other kinds' tables are kept as they are."""
    config = load_resolve_config(workspace.root, workspace.config.resolve)
    with Catalog.open(workspace.ops_db_url) as catalog, workspace.engine() as engine:
        std = std_inputs(engine, config)
        return build_base(
            engine,
            std,
            config=config,
            incremental=not full,
            catalog=catalog,
            run_id=run_id,
            report=report,
            kinds=kinds,
        )
