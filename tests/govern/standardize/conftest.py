"""A tiny synthetic city, ingested and standardised once per test run (DuckDB); this module's
tests get their own copy of it (one of them standardises again)."""

from __future__ import annotations

from pathlib import Path

import pytest

from citybrain.core.workspace import Workspace
from citybrain.govern.standardize import StandardizeResult
from fixtures.tinycity import std_city_copy


@pytest.fixture(scope="session")
def std_city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Path, StandardizeResult]:
    return std_city_copy(tmp_path_factory, tmp_path_factory.mktemp("stdcity"))
