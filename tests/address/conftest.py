"""Fixtures for the address tests. Tests that read the division data use `divisions_installed`;
without the npm package they skip and say which command installs it."""

from __future__ import annotations

import pytest

from citybrain.address.divisions import NPM_COMMAND, package_dir


@pytest.fixture(scope="session")
def divisions_installed() -> None:
    root = package_dir()
    if not ((root / "dist" / "areas.csv").is_file() or (root / "areas.csv").is_file()):
        pytest.skip(f"division data not installed: run `{NPM_COMMAND}`")
