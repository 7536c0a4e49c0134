"""The tiny synthetic city as std-shaped tables: fixtures shared by the resolve, base and
entity-360 tests (import them into a test module or a conftest)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import ibis.expr.types as ir
import pyarrow as pa
import pytest
from simstd import load_std

from citybrain.core.engine import Engine
from fixtures.tinycity import SEED, tiny_city

PERSON_AND_ENTERPRISE_SYSTEMS = [
    "police_household", "police_residence_permit", "power_grid", "water_utility", "gas_utility",
    "parcel_express", "hotline_12345", "transport_arrivals", "health_tests", "market_registry",
    "tax_declarations", "social_security", "court_dishonest", "admin_penalties",
    "credit_commitments", "muck_transport_permits", "muck_truck_gps", "place_address_register",
]  # fmt: skip


@pytest.fixture(scope="session")
def resolve_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test run's one tiny city (seed 7, generated once for every worker): of its systems,
    ``PERSON_AND_ENTERPRISE_SYSTEMS`` are read — their files, and their rows of ``truth/``, are
    the same bytes and rows as a city generated with only those systems."""
    return tiny_city(tmp_path_factory, SEED)


#: the std-shaped tables per city folder: the resolve and base conftests and the entity-360
#: module each define these fixtures, and the one city is read once per worker
_LOADED: dict[Path, dict[str, pa.Table]] = {}


@pytest.fixture(scope="session")
def std_arrow(resolve_city: Path) -> dict[str, pa.Table]:
    if resolve_city not in _LOADED:
        _LOADED[resolve_city] = load_std(resolve_city)
    return dict(_LOADED[resolve_city])  # Arrow tables are immutable; the mapping is the caller's


def register_std(engine: Engine, tables: Mapping[str, pa.Table]) -> dict[str, ir.Table]:
    """The std-shaped Arrow tables as tables of ``engine``."""
    return {name: engine.register(f"std_{name}", table) for name, table in tables.items()}


@pytest.fixture
def std(engine: Engine, std_arrow: dict[str, pa.Table]) -> dict[str, ir.Table]:
    return register_std(engine, std_arrow)


def held_back(tables: Mapping[str, pa.Table], share: float = 0.01) -> dict[str, pa.Table]:
    """The tables without every row whose source row hashes into the last ``share``: a load
    missing its newest 1 %, for runs where that 1 % arrives next."""
    import pyarrow.compute as pc

    out: dict[str, pa.Table] = {}
    for name, table in tables.items():
        rows = table["source_row"].to_pandas()
        keep = (rows.map(hash_row) % 10_000) >= share * 10_000
        out[name] = table.filter(pa.array(keep.to_numpy()))
        assert pc.sum(pa.array(keep.to_numpy())).as_py() <= table.num_rows
    return out


def hash_row(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode("utf-8"))
