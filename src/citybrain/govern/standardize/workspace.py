"""Standardise a workspace: its contracts, its raw zone, its engine and its catalog."""

from __future__ import annotations

from collections.abc import Mapping

from citybrain.core.catalog import Catalog, ColumnInfo, DatasetSpec
from citybrain.core.engine import Engine
from citybrain.core.stdmodel import STD_TABLES
from citybrain.core.workspace import Workspace
from citybrain.govern.standardize.addresses import AREAS, CACHE
from citybrain.govern.standardize.pipeline import standardize_all
from citybrain.govern.standardize.results import StandardizeResult, TableResult
from citybrain.govern.standardize.sources import RawSource, by_table, contracts_in, raw_sources
from citybrain.ingest import SourceContract, discover_sources


def workspace_sources(
    workspace: Workspace, contracts: list[SourceContract] | None = None
) -> dict[str, list[RawSource]]:
    """Std table → the landed systems that feed it; ``contracts``: the workspace's, when the
    caller has read them already."""
    if contracts is None:
        contracts = contracts_in(discover_sources(workspace))
    return by_table(raw_sources(workspace.lake, contracts))


def standardize_workspace(
    workspace: Workspace,
    *,
    engine: Engine | None = None,
    tables: list[str] | None = None,
    catalog: Catalog | None = None,
    append: Mapping[str, Mapping[str, int]] | None = None,
) -> StandardizeResult:
    """Write ``std/`` for every system that landed and record the tables in the catalog.

    ``append``: see `standardize_all` (the tables whose new loads may be appended).
    """
    sources = workspace_sources(workspace)
    own = engine is None
    engine = engine or workspace.engine()
    try:
        results, _ = standardize_all(
            engine, sources, city_name=workspace.config.name, tables=tables, append=append,
            address_workers=workspace.config.standardize.address_workers,
        )  # fmt: skip
    finally:
        if own:
            engine.close()
    result = StandardizeResult(results)
    if catalog is None:
        with Catalog.open(workspace.ops_db_url) as catalog:
            record_in_catalog(catalog, result, workspace)
    else:
        record_in_catalog(catalog, result, workspace)
    return result


def record_in_catalog(catalog: Catalog, result: StandardizeResult, workspace: Workspace) -> None:
    for table in result.tables:
        _record(catalog, table, workspace)
    for name, zh in ((CACHE, "地址匹配缓存"), (AREAS, "标准地址所属网格")):
        if (workspace.lake / "std" / name).is_dir():
            catalog.register_dataset(
                DatasetSpec(
                    zone="std", name=name, path=str(workspace.lake / "std" / name), description=zh
                )
            )
            catalog.add_lineage(("std", "standard_address"), ("std", name), kind="standardize")


def _record(catalog: Catalog, table: TableResult, workspace: Workspace) -> None:
    std = STD_TABLES[table.table]
    catalog.register_dataset(
        DatasetSpec(
            zone="std",
            name=std.name,
            path=str(workspace.lake / "std" / std.name),
            description=f"{std.zh} / {std.en}",
            columns=tuple(
                ColumnInfo(name=c.name, type=c.type, description=c.zh) for c in std.columns
            ),
        )
    )
    catalog.record_stats(("std", std.name), rows=table.rows)
    for source in table.sources:
        catalog.add_lineage(("raw", source.system), ("std", std.name), kind="standardize")
