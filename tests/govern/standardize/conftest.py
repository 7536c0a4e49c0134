"""A tiny synthetic city, ingested and standardised once per test session (DuckDB)."""

from __future__ import annotations

from pathlib import Path

import pytest

from citybrain.core.workspace import Workspace
from citybrain.govern.standardize import StandardizeResult, standardize_workspace
from govern.standardize.city import ingested_city


@pytest.fixture(scope="session")
def std_city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Path, StandardizeResult]:
    workspace, sim = ingested_city(tmp_path_factory.mktemp("stdcity"))
    return workspace, sim, standardize_workspace(workspace)
