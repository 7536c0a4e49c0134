"""`workspace init --sim` for a district with its own contracts (``citybrain sim --profile …``):
the city's ``contracts/`` folder is what gets deployed, pointed at the city; a city without one gets
the shipped contracts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ruamel.yaml import YAML

from citybrain.ingest.check import check_contract
from citybrain.ingest.simsources import city_contracts, shipped_sim_contracts, write_sim_sources
from citybrain.sim.profiles.deqing import CONTRACTS


def _city(root: Path, contracts: list[str]) -> Path:
    root.mkdir()
    (root / "README.json").write_text(json.dumps({"zone": "德清县"}), encoding="utf-8")
    if contracts:
        (root / "contracts").mkdir()
        for name in contracts:
            shutil.copyfile(CONTRACTS / name, root / "contracts" / name)
    return root


def test_a_city_with_its_own_contracts_gets_those_pointed_at_it(tmp_path: Path) -> None:
    city = _city(tmp_path / "deqing", ["water_utility.yaml", "police_household.yaml"])
    written = write_sim_sources(tmp_path / "ws" / "sources", city)
    assert sorted(p.name for p in written.files) == ["police_household.yaml", "water_utility.yaml"]
    tree = YAML(typ="safe").load((tmp_path / "ws" / "sources" / "water_utility.yaml").read_text())
    assert tree["connector"]["path"] == f"{city.resolve()}/water_utility/用水抄表_*.csv"
    assert tree["connector"]["encoding"] == "gbk" and "sim" in tree["tags"]
    assert all(check_contract(p).passed for p in written.files)


def test_a_city_without_contracts_gets_the_shipped_ones(tmp_path: Path) -> None:
    city = _city(tmp_path / "default", [])
    assert city_contracts(city) == shipped_sim_contracts()
