from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pytest

from citybrain.govern.resolve import features
from citybrain.govern.resolve.deterministic import (
    guarded_edges,
    identifier_edges,
    name_edges,
    phone_name_edges,
)
from citybrain.govern.resolve.features import (
    address_features,
    birth_date_feature,
    gender_column,
    id_features,
    name_features,
    other_id_features,
    phone_features,
    uscc_features,
)


def test_homophone_typos_agree_in_pinyin_and_titles_keep_only_the_surname() -> None:
    out = name_features(pa.array(["张伟", "张纬", "黄女士", "匿名", None]))
    assert out["name_py"].to_pylist()[:2] == ["zhangwei", "zhangwei"]
    assert out["name_norm"].to_pylist()[2] is None and out["surname_py"][2].as_py() == "huang"
    assert out["surname"].to_pylist()[3:] == [None, None]


def test_only_valid_resident_ids_count_and_give_the_birth_date() -> None:
    out = id_features(pa.array(["510121196703313711", "510121196703313712", None]),
                      pa.array([None, None, "19900102"]))  # fmt: skip
    assert out["id_valid"].to_pylist() == ["510121196703313711", None, None]
    assert out["id_raw"][1].as_py() == "510121196703313712"  # kept for typo comparison
    assert out["dob"].to_pylist() == ["1967-03-31", None, "1990-01-02"]


def test_phones_are_normalised_and_bad_ones_dropped() -> None:
    out = phone_features(pa.array(["+86 138-0013-8000", "181972222205", "028-8512 3456"]))
    assert out["phone_norm"].to_pylist() == ["13800138000", None, None]
    # A digit too many is no identifier, but its digits stay for the one-typo comparison.
    assert out["phone_raw"].to_pylist() == ["13800138000", "181972222205", None]


def test_a_road_number_learns_its_estate_from_addresses_that_give_both() -> None:
    out = address_features(pa.array([
        "四川省成都市示例高新区芳草街道天府六街32号滨江锦苑1栋1单元101室",
        "成都市示例高新区天府六街32号1栋1单元102号",
        "滨江锦苑1-1-102",
    ]))  # fmt: skip
    assert out["addr_place"].to_pylist() == ["滨江锦苑"] * 3
    assert out["addr_room"].to_pylist() == ["1-1-101", "1-1-102", "1-1-102"]


def test_enterprise_names_lose_region_and_legal_form() -> None:
    out = uscc_features(pa.array(["91510100MA6TYCB61G", "915101001"]),
                        pa.array(["成都天辉科技有限公司", "天辉科技有限公司"]))  # fmt: skip
    assert out["name_core"].to_pylist() == ["天辉科技", "天辉科技"]
    assert out["id_valid"].to_pylist() == ["91510100MA6TYCB61G", None]
    spellings = ["天辉科技（成都）有限公司", "四川天辉科技有限责任公司", "天辉科技(成都)有限公司",
                 "成都天辉科技有限公司高新分公司", "天辉科技股份有限公司"]  # fmt: skip
    out = uscc_features(pa.array([None] * len(spellings), pa.string()), pa.array(spellings))
    assert out["name_core"].to_pylist() == ["天辉科技"] * len(spellings)


def test_deterministic_edges_star_from_the_least_record() -> None:
    records = pa.table({
        "record_id": ["a", "b", "c", "d", "e"],
        "id_valid": ["X", "X", "X", None, "Y"],
        "name_norm": ["甲公司", "甲公司", "乙公司", "甲公司", "甲公司"],
    })  # fmt: skip
    edges = identifier_edges(records)
    assert sorted(zip(edges["record_id_l"].to_pylist(), edges["record_id_r"].to_pylist(),
                      strict=True)) == [("a", "b"), ("a", "c")]  # fmt: skip
    # 甲公司 carries two valid codes (X and Y): its name alone links nothing.
    assert name_edges(records).num_rows == 0


def _edge_pairs(edges: pa.Table) -> list[tuple[str, str]]:
    return sorted(zip(edges["record_id_l"].to_pylist(), edges["record_id_r"].to_pylist(),
                      strict=True))  # fmt: skip


def test_a_local_account_links_its_rows_unless_it_carries_two_codes() -> None:
    records = pa.table({
        "record_id": ["a", "b", "c", "d", "e"],
        "local_id": ["ss|1", "ss|1", "ss|2", "ss|2", None],
        "id_valid": ["X", None, "Y", "Z", None],
    })  # fmt: skip
    assert _edge_pairs(guarded_edges(records, "local_id")) == [("a", "b")]


def test_a_mobile_and_a_surname_link_unless_a_family_shares_the_phone() -> None:
    records = pa.table({
        "record_id": ["a", "b", "c", "d", "e", "f"],
        "phone_norm": ["13800000001"] * 2 + ["13900000002"] * 3 + [None],
        "surname_py": ["wang", "wang", "li", "li", "li", "wang"],
        "name_py": ["wangling", None, "liqiang", "liwei", None, "wangling"],
        "gender": ["F", "F", "M", "M", "M", "F"],
        "id_valid": [None] * 6,
    })  # fmt: skip
    # 王女士 (b) is 王玲 (a); 李先生 (e) could be 李强 or 李伟; f has no phone.
    assert _edge_pairs(phone_name_edges(records)) == [("a", "b")]


def test_names_in_latin_letters_agree_in_either_order_and_without_accents() -> None:
    out = name_features(pa.array(["John  Smith", "SMITH John", "Chloé O'Brien", "张伟"]))
    assert out["name_norm"].to_pylist()[:3] == ["john smith", "smith john", "chloe obrien"]
    assert out["name_key"].to_pylist() == ["john smith", "john smith", "chloe obrien", "wei zhang"]
    assert out["surname_py"].to_pylist() == ["smith", "john", "obrien", "zhang"]
    assert out["name_py"][3].as_py() == "zhangwei"  # Chinese names keep their pinyin


def test_family_and_given_names_make_the_name_and_its_surname() -> None:
    family = pa.array(["Smith", "John", "张", None])
    given = pa.array(["John", "Smith", "伟", "Ann"])
    out = name_features(pa.nulls(4, pa.string()), family, given)
    assert out["name_norm"].to_pylist() == ["john smith", "smith john", "张伟", "ann"]
    assert out["surname_py"].to_pylist()[:3] == ["smith", "john", "zhang"]
    assert out["name_key"][0] == out["name_key"][1]  # swapped columns still agree


def test_phones_of_other_countries_are_e164() -> None:
    out = phone_features(pa.array(["+44 20 7946 0958", "0044 20 7946 0958", "138 0013 8000"]))
    assert out["phone_norm"].to_pylist() == ["+442079460958", "+442079460958", "13800138000"]
    assert out["phone_raw"][0].as_py() == "442079460958"
    german = phone_features(pa.array(["030 1234567", "not a phone"]), region="DE")
    assert german["phone_norm"].to_pylist() == ["+49301234567", None]


def test_birth_dates_written_several_ways_agree() -> None:
    out = birth_date_feature(pa.array(["1990-1-2", "1990/01/02", "19900102", "1990年1月2日", "x"]))
    assert out.to_pylist() == ["1990-01-02"] * 4 + [None]


def test_other_identifiers_genders_and_unreadable_addresses() -> None:
    ids = other_id_features(pa.array(["ab 12 34 56 c", "E-1", None]))
    assert ids["other_id_norm"].to_pylist() == ["AB123456C", None, None]
    assert gender_column(pa.array(["男", "female", "2", "?"])).to_pylist() == ["M", "F", "F", None]
    addresses = address_features(pa.array(["12 High Street, Leeds", "滨江锦苑1-1-102"]))
    assert addresses["addr_text"].to_pylist() == ["12highstreetleeds", None]


def test_family_and_given_names_written_on_some_rows_only() -> None:
    # Arrow 26 dropped the rows with neither from a join that skips nulls: the lengths differed.
    out = name_features(
        pa.array(["张伟", None, None, "John Smith"]),
        pa.array([None, "李", None, None], pa.string()),
        pa.array([None, "小龙", "Anna", None], pa.string()),
    )
    assert out["name_norm"].to_pylist()[:3] == ["张伟", "李小龙", "anna"]
    assert out["surname_py"].to_pylist() == ["zhang", "li", "anna", "smith"]


def test_names_turned_to_pinyin_ahead_give_the_same_features_without_converting_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = pa.table({
        "name": ["张伟", "张*", "欧阳娜娜", None, "John Smith", "匿名", "单雄信"],
        "family_name": [None, None, None, "李", None, None, None],
        "given_name": [None, None, None, "小龙", None, None, None],
    })  # fmt: skip
    columns = [names[c] for c in features.NAME_COLUMNS]
    plain = name_features(*columns)
    converted: list[str] = []
    romanise = features._romanise

    def counted(text: str) -> list[str]:
        converted.append(text)
        return romanise(text)

    monkeypatch.setattr(features, "_romanise", counted)
    with features.pinyin_ahead(names, workers=1) as strings:
        assert strings == len(converted) > 0
        converted.clear()
        assert name_features(*columns) == plain
        assert converted == [], "every part was converted ahead"
    assert name_features(*columns) == plain
    assert converted, "outside the block, names are converted when met"


def test_the_features_load_without_the_pinyin_dictionaries() -> None:
    # A nightly run that rebuilds vehicles alone, or only builds its graph, never romanises.
    code = (
        "import sys, citybrain.govern.base, citybrain.govern.resolve.features as f\n"
        "assert 'pypinyin' not in sys.modules, 'imported with the features'\n"
        "assert f._pinyin('张伟') == 'zhangwei' and 'pypinyin' in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
