from __future__ import annotations

import pyarrow as pa

from citybrain.govern.resolve.attach import attach, attach_new, dwelling_targets, name_targets


def _records(rows: list[tuple[str, ...]]) -> pa.Table:
    """record_id, name_norm, name_py, surname, gender, id_valid, phone_norm, place, room."""
    names = ["record_id", "name_norm", "name_py", "surname", "gender", "id_valid", "phone_norm",
             "addr_place", "addr_room"]  # fmt: skip
    return pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)})


def _clusters(pairs: dict[str, str]) -> pa.Table:
    return pa.table({"record_id": list(pairs), "cluster_id": list(pairs.values())})


def _as_dict(table: pa.Table) -> dict[str, str]:
    return dict(zip(table["cluster_id"].to_pylist(), table["target_id"].to_pylist(), strict=True))


RECORDS = _records([
    # 陈晓馨: registered (ID) at one flat, meters in her name at another — only the name links.
    ("a", "陈晓馨", "chenxiaoxin", "陈", "F", "513401198911014807", None, "滨江锦苑", "1-1-102"),
    ("b", "陈晓馨", "chenxiaoxin", "陈", None, None, None, "蓝光雅居", "2-3-302"),
    # 杨涛: two identified men of that name; the meter account stays apart.
    ("c", "杨涛", "yangtao", "杨", "M", "510121199006027063", None, "滨江锦苑", "1-2-1102"),
    ("d", "杨涛", "yangtao", "杨", "M", None, "19108199094", "翡翠名城", "1-1-101"),
    ("e", "杨涛", "yangtao", "杨", None, None, None, "芳草新城", "4-3-202"),
    # 叶先生 on a parcel at a room where the registry knows one 叶 man without a phone.
    ("f", "叶宇平", "yeyuping", "叶", "M", "510121197511032311", None, "滨江锦苑", "1-1-1002"),
    ("g", None, None, "叶", "M", None, "15771019833", "滨江锦苑", "1-1-1002"),
    # 王女士 at a room with two 王 women: nothing to choose by.
    ("h", "王玲", "wangling", "王", "F", "510121198411289800", None, "新希望", "1-2-703"),
    ("i", "王馨", "wangxin", "王", "F", "110101198002241427", None, "新希望", "1-2-703"),
    ("j", None, None, "王", "F", None, "15989006505", "新希望", "1-2-703"),
])  # fmt: skip
SINGLETONS = _clusters({r: r for r in "abcdefghij"})


def test_an_unidentified_cluster_joins_the_one_identified_person_with_its_name() -> None:
    assert _as_dict(name_targets(RECORDS, SINGLETONS)) == {"b": "a"}


def test_a_masked_name_joins_the_one_person_of_that_surname_and_gender_at_the_dwelling() -> None:
    assert _as_dict(dwelling_targets(RECORDS, SINGLETONS)) == {"g": "f"}


def test_a_masked_name_seen_at_two_dwellings_is_one_candidate_not_two() -> None:
    elsewhere = _records([("k", None, None, "叶", "M", None, "15771019833", "无人苑", "9-9-999")])
    records = pa.concat_tables([RECORDS, elsewhere])
    clusters = _clusters({**{r: r for r in "abcdefghij"}, "k": "g"})
    targets = dwelling_targets(records, clusters)
    assert _as_dict(targets) == {"g": "f"} and targets.num_rows == 1
    merged = attach(records, clusters)
    assert merged.num_rows == records.num_rows  # every record once


def test_a_masked_name_with_another_phone_than_the_registered_one_stays_apart() -> None:
    phoned = RECORDS.set_column(6, "phone_norm", pa.array(
        [None, None, None, "19108199094", None, "13800000000", "15771019833", None, None,
         "15989006505"], pa.string()))  # fmt: skip
    assert _as_dict(dwelling_targets(phoned, SINGLETONS)) == {}


def test_attach_merges_and_names_clusters_by_their_least_record() -> None:
    out = dict(zip(*(attach(RECORDS, SINGLETONS).column(c).to_pylist() for c in
                     ("record_id", "cluster_id")), strict=True))  # fmt: skip
    assert out["b"] == out["a"] == "a" and out["g"] == "f" and out["e"] == "e" and out["j"] == "j"


def test_an_incremental_run_moves_only_new_entities() -> None:
    golden = ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10"]
    links = RECORDS.append_column("golden_person_id", pa.array(golden))
    # b (陈晓馨's meters) is stored already and keeps its id; g (叶先生) is new and attaches.
    out = attach_new(links, "golden_person_id", pa.array(["P1", "P2", "P6"]))
    ids = dict(zip(out["record_id"].to_pylist(), out["golden_person_id"].to_pylist(), strict=True))
    assert ids["b"] == "P2" and ids["g"] == "P6" and ids["j"] == "P10"
