"""One tiny synthetic city per test session, shared read-only by the sim tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from citybrain.sim import GenerateResult, generate

TINY_SEED = 11


@pytest.fixture(scope="session")
def tiny_city(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    """The tiny city for seed 11 (generated once, by two worker processes; tests must not write
    into it)."""
    return generate("tiny", TINY_SEED, tmp_path_factory.mktemp("tiny") / "city", workers=2)


@pytest.fixture(scope="session")
def tiny_root(tiny_city: GenerateResult) -> Path:
    return tiny_city.out
