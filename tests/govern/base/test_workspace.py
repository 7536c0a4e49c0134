"""The resolve stage on a real workspace: ingested, standardised, then `build_workspace_base`."""

from __future__ import annotations

from pathlib import Path

import pytest
from evaluate import pairwise

from citybrain.core.catalog import Catalog
from citybrain.core.workspace import Workspace
from citybrain.govern.base import build_workspace_base
from citybrain.govern.resolve import stability
from citybrain.govern.standardize import standardize_workspace
from govern.standardize.city import ingested_city


@pytest.fixture(scope="module")
def std_workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Path]:
    workspace, sim = ingested_city(tmp_path_factory.mktemp("basews"))
    standardize_workspace(workspace)
    return workspace, sim


@pytest.mark.duckdb
def test_the_workspace_base_is_built_from_std_and_recorded_with_lineage(
    std_workspace: tuple[Workspace, Path],
) -> None:
    workspace, sim = std_workspace
    steps: list[str] = []
    build = build_workspace_base(workspace, run_id="run-1", report=steps.append)
    assert steps[:2] == ["resolve persons", "resolve enterprises"] and "catalog" in steps
    assert {"person", "enterprise", "dwelling", "vehicle"} <= set(build.rows)
    assert "persons" in build.summary() and "source records" in build.summary()
    # The std tables standardisation wrote resolve as well as the test adapter's do.
    person = build.resolutions["person"]
    scores = pairwise(sim, "person", person.links, person.golden_column)
    assert scores["precision"] >= 0.995 and scores["recall"] >= 0.95, scores
    catalog = Catalog.open(workspace.ops_db_url)
    try:
        graph = catalog.lineage("base/person", depth=2)
        upstream = {str(e.upstream) for e in graph.edges}
        assert {"base/person_link", "std/person_registration", "std/delivery"} <= upstream
        assert all(e.run_id == "run-1" for e in graph.edges if e.kind == "resolve")
        # The std tables list the address-base match standardisation added to them.
        columns = {c.name for c in catalog.get_dataset("std/person_registration").columns}
        assert {"address_id", "address_level", "grid_id"} <= columns
        assert catalog.get_dataset("base/vehicle").latest is not None
    finally:
        catalog.close()


@pytest.mark.duckdb
def test_a_second_run_is_incremental_and_keeps_every_golden_id(
    std_workspace: tuple[Workspace, Path],
) -> None:
    workspace, _ = std_workspace
    first = build_workspace_base(workspace)
    again = build_workspace_base(workspace)
    for kind in ("person", "enterprise"):
        assert again.resolutions[kind].stats.get("new") == 0  # nothing new: nothing scored
        assert stability(first.resolutions[kind].id_map(), again.resolutions[kind].id_map()) == 1
