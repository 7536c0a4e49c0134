"""A tiny synthetic city, ingested and standardised once per test session, for built-in topics.

Only the department systems the built-in topics read are landed (all of them files or a SQLite
database, so no server is needed). Truth is read by the evaluation tests only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from citybrain.core import Workspace
from fixtures.tinycity import built_once, copy_workspace, shared_root, tiny_city

SEED = 7
SYSTEMS = (
    "water_utility",
    "power_grid",
    "gas_utility",
    "food_delivery_platform",
    "parcel_express",
    "hotline_12345",
    "police_household",
    "police_residence_permit",
    "place_address_register_admin_area",
    "place_address_register_road",
    "place_address_register_road_alias",
    "place_address_register_standard_address",
)


def _tiny_city(factory: pytest.TempPathFactory) -> Path:
    """The tiny city of ``SEED``, generated once per test run (read-only)."""
    return tiny_city(factory, SEED)


@pytest.fixture(scope="session")
def tiny_truth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_city(tmp_path_factory) / "truth"


def std_workspace(city: Path, systems: tuple[str, ...], root: Path) -> Workspace:
    """A workspace in ``root``: ``systems`` of ``city`` landed (each must load), standardised."""
    from citybrain.govern.standardize import standardize_workspace
    from citybrain.ingest import ingest_sources, recorder_for
    from citybrain.ingest.simsources import write_sim_sources

    workspace = Workspace.init(root / "ws")
    sources = workspace.root / "sources"
    write_sim_sources(sources, city)
    paths = [sources / f"{name}.yaml" for name in systems]
    summary = ingest_sources(workspace, paths, recorder=recorder_for(workspace))
    failed = [r.system for r in summary.results if r.status != "ok"]
    assert not failed, failed
    standardize_workspace(workspace)
    return workspace


@pytest.fixture(scope="session")
def tiny_std_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace whose std zone holds the tiny city's tables the built-in topics need.

    Built once per test run (by the first xdist worker to ask); each worker gets its own copy."""
    city = _tiny_city(tmp_path_factory)
    built = built_once(
        shared_root(tmp_path_factory) / "shared-topics-ws",
        lambda out: std_workspace(city, SYSTEMS, out),
    )
    return copy_workspace(built / "ws", tmp_path_factory.mktemp("topics-ws") / "ws")
