"""Adoption by another city (拿来主义): the second district's departments hand over the systems the
credit and group-rental topics read with other column names, code lists, formats and encodings,
and its source contracts alone land them as the same standard rows the first city's contracts land.

The topics adopted end to end, side by side, are test_adoption_topics.py (tiny) and
`benchmarks/adoption.py` (the sizes where the figures mean something); this test checks what they
rest on, per system and column, on the tiny city the topic tests share.
"""

# ruff: noqa: F811 (test arguments are the imported fixtures)

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from ruamel.yaml import YAML

from citybrain.core import Workspace
from citybrain.ingest import ingest_sources
from citybrain.ingest.simsources import SIM_CONTRACTS
from citybrain.sim.profiles.deqing import EXPORTS, PROFILE, TEXTS
from citybrain.sim.profiles.reexport import reexport

# the tiny city's session fixtures, shared with the built-in topics' tests
from topics.builtin.conftest import tiny_truth  # noqa: F401

# system → (contract, the standard columns whose values the hand-over must keep; the key first)
SYSTEMS = {
    "police_residence_permit": (
        "police_residence_permit",
        ("permit_id", "gender", "id_number", "issued_date", "valid_until", "cancelled_date",
         "status"),
    ),
    "market_registry": (
        "market_registry",
        ("registration_id", "uscc", "entity_type", "established_date", "registered_capital",
         "industry_code", "status"),
    ),
    "tax_declarations": (
        "tax_declarations", ("declaration_id", "uscc", "period", "revenue", "tax_payable"),
    ),
    "credit_commitments": (
        "credit_commitments", ("commitment_id", "uscc", "kind", "committed_date", "check_result"),
    ),
    "hotline_12345": ("hotline_12345", ("ticket_id", "received_at", "category")),
}  # fmt: skip


def _land(workspace: Workspace, contract: Path, city: Path) -> pa.Table:
    """Deploy a contract written for ``city`` (paths relative to it) and ingest it."""
    yaml = YAML(typ="rt")
    tree = yaml.load(contract.read_text(encoding="utf-8"))
    connector = tree["connector"]
    if "path" in connector:
        connector["path"] = str(city / str(connector["path"]))
    else:  # sqlite:///police_residence_permit/police.db
        connector["url"] = "sqlite:///" + str(city / str(connector["url"])[len("sqlite:///") :])
    target = workspace.root / "sources" / contract.name
    target.parent.mkdir(exist_ok=True)
    with target.open("w", encoding="utf-8") as handle:
        yaml.dump(tree, handle)
    summary = ingest_sources(workspace, [target])
    (result,) = summary.results
    assert result.status == "ok", result
    assert result.rows_quarantined == 0, result
    with workspace.engine() as engine:
        return engine.to_arrow(engine.table("raw", tree["id"]))


@pytest.mark.slow
def test_the_second_city_lands_the_same_standard_rows_through_its_own_contracts(
    tiny_truth: Path, tmp_path: Path
) -> None:
    city = tiny_truth.parent
    first = Workspace.init(tmp_path / "first")
    second = Workspace.init(tmp_path / "second", name="德清县")
    handed = tmp_path / "deqing"
    for system, (contract, columns) in SYSTEMS.items():
        shutil.copytree(city / system, handed / system)
        for export in (e for e in EXPORTS if e.system == system):
            reexport(handed, export, TEXTS)
        ours = _land(first, SIM_CONTRACTS / f"{contract}.yaml", city.resolve())
        assert PROFILE.contracts is not None
        theirs = _land(second, PROFILE.contracts / f"{contract}.yaml", handed)
        assert theirs.num_rows == ours.num_rows > 0, system
        key = columns[0]
        a = ours.select(list(columns)).sort_by(key)
        b = theirs.select(list(columns)).sort_by(key)
        for column in columns:
            left, right = a[column], b[column]
            if pa.types.is_floating(left.type):  # 万元 there, 元 here: the contract converts
                assert np.allclose(
                    left.to_numpy(zero_copy_only=False),
                    right.to_numpy(zero_copy_only=False),
                    equal_nan=True,
                ), (system, column)
            else:
                assert left.equals(right), (system, column, left[:3], right[:3])
