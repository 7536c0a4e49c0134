"""The tiny city's enterprise systems and address register (and more) in a workspace,
and what a run leaves behind in a form two workspaces can be compared by (row counts and
order-independent checksums, load and run ids left out)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import text

from citybrain.core.catalog import Catalog
from citybrain.core.workspace import Workspace
from citybrain.ingest.simsources import write_sim_sources
from citybrain.topics.runner import latest_findings

SEED = 7
SYSTEMS = (
    "market_registry",
    "tax_declarations",
    "social_security",
    "place_address_register_admin_area",
    "place_address_register_road",
    "place_address_register_road_alias",
    "place_address_register_standard_address",
)
#: columns that name a load or a run: another workspace gives them other ids
VOLATILE = {"load_id", "run_id", "_load_id", "_run_id"}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny city of the session (generated once, shared with the topic tests)."""
    from topics.builtin.conftest import _tiny_city

    return _tiny_city(tmp_path_factory)


def city_workspace(
    root: Path, sim: Path, *changes: tuple[str, str], systems: tuple[str, ...] = SYSTEMS
) -> Workspace:
    """A workspace on ``systems`` of ``sim``, its citybrain.toml as ``workspace init`` writes it
    with ``changes`` (old, new) made and no PDF of the daily report (no browser here)."""
    workspace = Workspace.init(root)
    sources = workspace.root / "sources"
    write_sim_sources(sources, sim)
    for contract in sources.glob("*.yaml"):
        if contract.stem not in systems:
            contract.unlink()
    toml = workspace.root / "citybrain.toml"
    settings = toml.read_text("utf-8")
    for old, new in changes:
        assert old in settings, old
        settings = settings.replace(old, new, 1)
    toml.write_text(settings + "\n[report]\npdf = false\n", "utf-8")
    return Workspace.open(workspace.root)


def _rounded(value: Any) -> Any:
    """Floats to 9 significant digits: the two engines may differ in the last bits of a sum."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def checksum(table: pa.Table) -> tuple[int, str]:
    """Row count and an order-independent digest of the rows, load and run ids left out."""
    keep = [c for c in table.column_names if c not in VOLATILE]
    rows = sorted(
        json.dumps(_rounded(row), sort_keys=True, default=str, ensure_ascii=False)
        for row in table.select(keep).to_pylist()
    )
    return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()


def outputs(workspace: Workspace) -> dict[str, Any]:
    """The std and base tables, the topics' latest findings and the cases of ``workspace``."""
    found: dict[str, Any] = {}
    with workspace.engine() as engine:  # read back on DuckDB: the files are what counts
        for zone in ("std", "base"):
            for name in engine.list_tables(zone):
                found[f"{zone}/{name}"] = checksum(engine.to_arrow(engine.table(zone, name)))
        for name in engine.list_tables("topic"):
            if name.endswith("_findings"):
                topic = name.removesuffix("_findings")
                found[f"findings/{topic}"] = checksum(latest_findings(engine, topic))
    catalog = Catalog.open(workspace.ops_db_url)
    try:
        with catalog.ops_engine.connect() as db:
            cases = db.execute(
                text(
                    "SELECT topic, subject_id, period, status, level, department "
                    "FROM case_record ORDER BY topic, subject_id, period"
                )
            ).all()
        found["cases"] = [tuple(row) for row in cases]
    finally:
        catalog.close()
    return found
