from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from citybrain.address.divisions import (
    CITY,
    CONTEXT,
    DISTRICT,
    FULL,
    INDEX_FORMAT,
    PROVINCE,
    SHORT,
    STREET,
    ZoneAlias,
    build_index,
    default_index,
    load_index,
    short_forms,
)
from citybrain.core.errors import EnvironmentProblem

pytestmark = pytest.mark.usefixtures("divisions_installed")


@pytest.mark.parametrize(
    ("name", "level", "forms"),
    [
        ("四川省", PROVINCE, ["四川"]),
        ("广西壮族自治区", PROVINCE, ["广西"]),
        ("新疆维吾尔自治区", PROVINCE, ["新疆"]),
        ("凉山彝族自治州", CITY, ["凉山州", "凉山"]),
        ("阿坝藏族羌族自治州", CITY, ["阿坝州", "阿坝"]),
        ("成都市", CITY, ["成都", "成都地区"]),  # 海东地区 → 海东市: prefectures made cities
        ("武侯区", DISTRICT, ["武侯", "武侯县"]),
        ("浦东新区", DISTRICT, ["浦东"]),
        ("简阳市", DISTRICT, ["简阳", "简阳县"]),
        ("峨边彝族自治县", DISTRICT, ["峨边县", "峨边"]),
        ("桂溪街道", STREET, ["桂溪街道办事处", "桂溪街办", "桂溪"]),
        ("城区", DISTRICT, []),  # a one-character stem is never an alias
    ],
)
def test_short_forms_by_rule(name: str, level: int, forms: list[str]) -> None:
    assert short_forms(name, level) == forms


def test_index_covers_the_country_down_to_streets() -> None:
    index = default_index()
    levels = [d.level for d in index.divisions.values()]
    assert levels.count(PROVINCE) == 34  # the 31 of the mainland, 台湾, 香港 and 澳门
    assert levels.count(STREET) > 40_000
    assert index.divisions["510107"].name == "武侯区"
    assert [d.name for d in index.lineage("510107064")] == [
        "四川省",
        "成都市",
        "武侯区",
        "桂溪街道",
    ]
    # Municipalities have the province's name at city level too.
    assert index.divisions["110100"].name == "北京市"


def test_aliases_and_their_kinds() -> None:
    names = default_index().names
    assert ("510000", SHORT) in names["四川"]
    assert ("510000", FULL) in names["四川省"]
    assert ("510100", SHORT) in names["成都"]
    assert ("220173", FULL) in names["长春高新区"]
    assert ("zone:成都高新技术产业开发区", CONTEXT) in names["高新区"]
    assert names["成都高新区"] == (("zone:成都高新技术产业开发区", FULL),)


def test_zone_alias_maps_to_its_real_parent() -> None:
    index = load_index().with_zones([ZoneAlias("示例高新区", "510100", ("示例区",))])
    zone = index.divisions["zone:示例高新区"]
    assert (zone.level, zone.parent) == (DISTRICT, "510100")
    assert index.names["示例区"] == (("zone:示例高新区", CONTEXT),)


def test_unknown_zone_parent_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown parent"):
        load_index().with_zones([ZoneAlias("某区", "999900")])


def test_missing_data_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="npm ci --prefix third_party/divisions"):
        build_index(tmp_path)


def test_index_is_cached_by_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYBRAIN_CACHE_DIR", str(tmp_path))
    first = load_index()
    cached = list(tmp_path.glob("divisions-*.pickle"))
    assert len(cached) == 1 and first.version in cached[0].name
    again = load_index()
    assert again.divisions.keys() == first.divisions.keys()


def test_env_var_points_at_another_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYBRAIN_DIVISIONS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(EnvironmentProblem):
        load_index(use_cache=False)


def test_cities_without_districts_hold_their_streets() -> None:
    index = default_index()
    dongguan = index.divisions["441900"]
    assert (dongguan.name, dongguan.level) == ("东莞市", CITY)
    for division in index.divisions.values():
        assert division.parent != division.code
    streets = [d for d in index.divisions.values() if d.parent == "441900"]
    assert streets and all(d.level == STREET for d in streets)


def test_a_cache_from_another_build_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_index()  # from the user's cache: one build (the one below) is enough
    monkeypatch.setenv("CITYBRAIN_CACHE_DIR", str(tmp_path))
    cached = tmp_path / f"divisions-{first.version}-v{INDEX_FORMAT}.pickle"
    cached.write_bytes(b"cno_such_module_of_citybrain\nIndex\n.")  # a class that is gone
    again = load_index()
    assert again.divisions.keys() == first.divisions.keys()
    with cached.open("rb") as handle:  # and the broken file was replaced by the rebuilt index
        assert pickle.load(handle).divisions.keys() == first.divisions.keys()
