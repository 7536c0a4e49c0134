"""Profiles: the second district (德清县) over the default generator — its map, its departments'
exports and its source contracts. Hand-written files and the tiny map only (no whole city)."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from citybrain.sim.geography import build_geography
from citybrain.sim.profiles import DEFAULT, PROFILES, get_profile
from citybrain.sim.profiles.deqing import EXPORTS, PROFILE, TEXTS, places
from citybrain.sim.profiles.deqing.geography import rural_texts
from citybrain.sim.profiles.reexport import Export, recode, reexport, replace_texts
from citybrain.sim.scales import SCALES


@pytest.fixture(scope="module")
def maps() -> tuple:
    geo = build_geography(SCALES["small"], 7)
    return geo, PROFILE.reshape(geo)


def test_sim_help_lists_the_profiles() -> None:
    from citybrain.cli.main import app

    result = CliRunner().invoke(app, ["sim", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--profile" in result.output
    for name in PROFILES:
        assert name in result.output


def test_an_unknown_profile_names_the_known_ones(tmp_path: Path) -> None:
    from citybrain.sim import generate

    with pytest.raises(ValueError, match="unknown profile 'nowhere'; known: default, deqing"):
        generate("tiny", 7, tmp_path / "city", profile="nowhere")
    assert not (tmp_path / "city").exists()
    assert get_profile("default") is DEFAULT and DEFAULT.is_default and not PROFILE.is_default


def test_the_default_profile_keeps_the_map(maps: tuple) -> None:
    geo, _ = maps
    assert DEFAULT.reshape(geo) is geo


def test_towns_and_villages_carry_real_codes_the_address_parser_knows(maps: tuple) -> None:
    from citybrain.address.divisions import load_index

    _, dq = maps
    streets = dq.streets.to_pydict()
    assert streets["street_code"] == [code for code, _, _ in places.TOWNS[:3]]
    divisions = load_index().divisions  # the national list the address parser reads
    assert divisions["330521"].name == places.DISTRICT
    for code, name, _ in places.TOWNS:
        assert divisions[code].name == name and divisions[code].parent == "330521"
    comm = dq.communities.to_pydict()
    listed = {c: n for _, _, villages in places.TOWNS for c, n in villages}
    for code, name, street in zip(
        comm["community_code"], comm["community_name"], comm["street_id"], strict=True
    ):
        assert listed[code] == name and code.startswith(streets["street_code"][street])
    grids = dq.grids.to_pydict()
    for code, community in zip(grids["grid_code"], grids["community_id"], strict=True):
        assert re.fullmatch(r"\d{14}", code) and code.startswith(comm["community_code"][community])
    assert len(set(grids["grid_code"])) == len(grids["grid_code"])
    assert any(n.endswith("村") for n in comm["community_name"])  # a rural town is in the zone


def test_village_houses_get_their_own_group_and_other_roads_other_names(maps: tuple) -> None:
    geo, dq = maps
    assert dq.estates.num_rows == geo.estates.num_rows  # same layout, renamed
    assert dq.dwellings is geo.dwellings
    e = dq.estates.to_pydict()
    roads = dq.roads["road_name"].to_pylist()
    comm = dq.communities["community_name"].to_pylist()
    houses = [i for i, n in enumerate(e["estate_name"]) if re.fullmatch(r".+村\d+组\d+号", n)]
    assert houses, "no village house in the small zone"
    for i in houses:
        village = comm[e["community_id"][i]]
        road = roads[e["road_id"][i]]
        assert re.fullmatch(rf"{village}\d+组", road)
        assert e["estate_name"][i] == f"{road}{e['road_no'][i]}号"
        assert e["era"][i] == "old" and e["kind"][i] == "residential"
    groups = [roads[e["road_id"][i]] for i in houses]
    assert len(set(groups)) == len(groups)  # one group, one lane of houses
    others = set(roads[: geo.roads.num_rows])
    assert others <= set(places.NS_ROADS) | set(places.EW_ROADS)
    assert not others & set(geo.roads["road_name"].to_pylist())
    assert set(dq.road_aliases["old_name"].to_pylist()) <= set(places.OLD_ROADS)
    pairs = dict(rural_texts(dq))
    name = e["estate_name"][houses[0]]
    wide = name.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert pairs[name + name] == name and pairs[wide + wide] == wide != name


def test_reexport_renames_recodes_and_re_encodes(tmp_path: Path) -> None:
    folder = tmp_path / "police_residence_permit"
    folder.mkdir()
    text = (
        "编号,性别,地址\nP1,1,四川省成都市示例高新区天府大道1号\nP2,2,高新区锦城花园\nP3,9,x\nP4,1"
    )
    (folder / "permits_2023.csv").write_bytes(text.encode("gb18030"))  # the last row was cut off
    export = Export(
        "police_residence_permit",
        "police_residence_permit/permits_*.csv",
        "csv",
        "{stem}.jsonl",
        "jsonl",
        {"编号": "id", "性别": "xb", "地址": "dz"},
        encoding="gb18030",
        codes={"xb": {"1": "男", "2": "女"}},
        stem_from="permits_",
        stem_to="居住证_",
    )
    written = reexport(tmp_path, export, TEXTS)
    assert written == {"police_residence_permit/居住证_2023.jsonl": 3}
    assert not (folder / "permits_2023.csv").exists()
    lines = (folder / "居住证_2023.jsonl").read_text("utf-8").splitlines()
    assert lines[0] == '{"id":"P1","xb":"男","dz":"浙江省湖州市德清县天府大道1号"}'
    assert '"xb":"女","dz":"德清县锦城花园"' in lines[1]
    assert '"xb":"9"' in lines[2]  # a code the list lacks is handed over as it is


def test_reexport_refuses_a_column_it_would_drop(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    export = Export("s", "s/a.csv", "csv", "a.jsonl", "jsonl", {"a": "A"})
    with pytest.raises(ValueError, match=r"columns \['b'\] have no name"):
        reexport(tmp_path, export, ())


def test_recode_keeps_nulls_and_unlisted_values() -> None:
    out = recode(pa.array(["存续", None, "吊销", "其他"]), {"存续": "1", "吊销": "2"})
    assert out.to_pylist() == ["1", None, "2", "其他"]


def _contract(path: Path) -> dict:
    from ruamel.yaml import YAML

    return dict(YAML(typ="safe").load(path.read_text(encoding="utf-8")))


def test_every_export_has_a_valid_contract_mapping_its_columns() -> None:
    from citybrain.ingest.check import check_contract
    from citybrain.ingest.simsources import SIM_CONTRACTS

    contracts = {p: _contract(p) for p in sorted(PROFILE.contracts.glob("*.yaml"))}
    assert len(contracts) == len(EXPORTS)
    for export in EXPORTS:
        pattern = export.target.replace("{stem}", f"{export.stem_to}*")
        (path, contract), *more = [
            (p, c)
            for p, c in contracts.items()
            if c["connector"]["path"] == f"{export.system}/{pattern}"
        ]
        assert not more
        assert check_contract(path).passed, check_contract(path)
        assert contract["connector"]["kind"] == export.target_kind
        mapped: set[str] = set(contract["mapping"].get("ignore", []))
        shipped = _contract(SIM_CONTRACTS / path.name)  # the first city's, for the same system
        default = {c["target"]: c.get("codes") or {} for c in shipped["mapping"]["columns"]}
        for column in contract["mapping"]["columns"]:
            sources = column["source"] if isinstance(column["source"], list) else [column["source"]]
            mapped |= set(sources)
            if sources[0] in export.codes:  # every code the department writes maps back
                given = {str(k): v for k, v in column["codes"].items()}
                before = default[column["target"]]
                for old, new in export.codes[sources[0]].items():
                    assert given[new] == before.get(old, old), (path.name, old, new)
        assert mapped == set(export.columns.values()), path.name


def test_texts_say_the_district_not_the_default_zone() -> None:
    table = pa.table(
        {"a": ["四川省成都市示例高新区中和街道", "成都锦城科技有限公司", None], "n": [1, 2, 3]}
    )
    done = replace_texts(table, TEXTS)
    assert done["a"].to_pylist() == ["浙江省湖州市德清县中和街道", "湖州锦城科技有限公司", None]
    assert done["n"].to_pylist() == [1, 2, 3]
