"""sim.dirt: seeded, vectorised dirt whose masks say exactly which rows changed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pytest
from stdnum.cn import ric, uscc

from citybrain.sim import dirt as d
from citybrain.sim.ids import mobiles

ADDRESSES = [
    "四川省成都市高新区中和街道天府大道1700号锦城花园3栋2单元1203室",
    "四川省成都市高新区石羊街道益州大道88号天府软件园12栋1单元201室",
    "成都市高新区芳草街道芳草东街19号2栋1单元1002室",
    "高新区肖家河街道肖家河正街5号10幢3单元12楼3号",
]
NAMES = ["张伟明", "王芳", "欧阳娜娜", "李静怡", "赵敏", "陈晨", "刘洋"]


def many(values: list[str], n: int = 3000, nulls: bool = True) -> pa.Array:
    rng = np.random.default_rng(99)
    picked: list[str | None] = [values[i] for i in rng.integers(0, len(values), n)]
    if nulls:
        for i in range(0, n, 17):
            picked[i] = None
    return pa.array(picked, pa.string())


def _changed(before: pa.Array, after: pa.Array) -> np.ndarray:
    b, a = before.to_pylist(), after.to_pylist()
    return np.array([x != y for x, y in zip(b, a, strict=True)])


COLUMN_DIRT: dict[
    str, tuple[Callable[[pa.Array, np.random.Generator, float], d.Dirtied], list[str]]
] = {
    "full_width": (d.full_width, ADDRESSES),
    "chinese_numerals": (d.chinese_numerals, ADDRESSES),
    "address_shorthand": (d.address_shorthand, ADDRESSES),
    "drop_admin_levels": (d.drop_admin_levels, ADDRESSES),
    "noise_words": (d.noise_words, ADDRESSES),
    "old_road_names": (
        lambda v, r, x: d.old_road_names(v, r, x, {"天府大道": ["成仁路", "人民南路南延线"]}),
        ADDRESSES,
    ),
    "name_typos": (d.name_typos, NAMES),
    "address_typos": (d.address_typos, ADDRESSES),
    "swap_given_name": (d.swap_given_name, NAMES),
    "phone_typos": (d.phone_typos, ["13812345678", "15900001111", "028-85123456"]),
    "phone_formats": (d.phone_formats, ["13812345678", "15900001111"]),
    "stale_phones": (
        lambda v, r, x: d.stale_phones(v, r, x, taken=pa.array(["13812345678", "15900001111"])),
        ["13812345678", "15900001111"],
    ),
    "masked_ids": (d.masked_ids, ["510121196703313711", "11010519491231002X", "A1234"]),
    "nulls": (d.nulls, NAMES),
}


@pytest.mark.parametrize("name", sorted(COLUMN_DIRT))
def test_seeded_and_mask_marks_exactly_the_changed_rows(name: str) -> None:
    fn, pool = COLUMN_DIRT[name]
    values = many(pool)
    first = fn(values, np.random.default_rng(5), 0.3)
    again = fn(values, np.random.default_rng(5), 0.3)
    other = fn(values, np.random.default_rng(6), 0.3)
    assert first.values.equals(again.values) and (first.touched == again.touched).all()
    assert not (first.touched == other.touched).all()
    assert first.touched.dtype == np.bool_ and len(first.touched) == len(values)
    assert (first.touched == _changed(values, first.values)).all()
    assert 0.05 < first.touched.mean() < 0.35  # about the rate, less where nothing applies
    assert not first.touched[values.is_null().to_numpy(zero_copy_only=False)].any()
    assert not fn(values, np.random.default_rng(5), 0.0).touched.any()
    chunked = fn(pa.chunked_array([values[:1000], values[1000:]]), np.random.default_rng(5), 0.3)
    assert chunked.values.equals(first.values)


def test_distinct_values_are_rewritten_once_per_variant() -> None:
    values = many(ADDRESSES, n=20_000, nulls=False)
    calls: list[tuple[str, int]] = []

    def spy(text: str, variant: int) -> str:
        calls.append((text, variant))
        return text + str(variant)

    chosen = np.ones(len(values), dtype=np.bool_)
    variants = np.random.default_rng(0).integers(0, 3, len(values))
    out = d.map_distinct(values, chosen, variants, spy)
    assert len(calls) == len(set(calls)) <= len(ADDRESSES) * 3
    assert out.values.to_pylist() == [
        f"{v}{k}" for v, k in zip(values.to_pylist(), variants, strict=True)
    ]
    holes = pa.array(["a", None, "b", None])  # nulls among the chosen rows are left alone
    out = d.map_distinct(holes, np.ones(4, dtype=np.bool_), np.array([0, 1, 2, 3]), spy)
    assert out.values.to_pylist() == ["a0", None, "b2", None]
    assert out.touched.tolist() == [True, False, True, False]
    coded = d.full_width(holes.dictionary_encode(), np.random.default_rng(0), 1.0)
    assert coded.values.type == pa.string() and coded.values.to_pylist()[0] == "ａ"


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "零"),
        (3, "三"),
        (10, "十"),
        (12, "十二"),
        (20, "二十"),
        (21, "二十一"),
        (100, "一百"),
        (105, "一百零五"),
        (110, "一百一十"),
        (1203, "一千二百零三"),
        (2010, "二千零一十"),
        (10001, "一万零一"),
    ],
)
def test_chinese_numbers(n: int, text: str) -> None:
    assert d.to_chinese_number(n) == text


def test_chinese_digits_and_address_numerals() -> None:
    assert d.to_chinese_digits("201") == "二〇一"
    assert d.to_chinese_digits("1203") == "一二〇三"
    text = "天府大道1700号锦城花园3栋2单元12楼1203室"
    forms = {d.numerals._numerals(text, v) for v in range(3)}
    assert forms == {
        "天府大道1700号锦城花园三栋二单元十二楼一二〇三室",
        "天府大道1700号锦城花园三栋二单元十二楼1203室",
        "天府大道1700号锦城花园3栋2单元12楼一二〇三室",
    }


def test_address_shorthand_forms() -> None:
    values = pa.array(["锦城花园3栋2单元1203室"] * 400)
    out = set(d.address_shorthand(values, np.random.default_rng(1), 1.0).values.to_pylist())
    assert out == {
        "锦城花园3-2-1203",
        "锦城花园3栋2-1203",
        "锦城花园3幢2单元12楼3号",
        "锦城花园3号楼2单元1203",
        "锦城花园3栋2单元1203",
    }
    bare = pa.array(
        ["锦城花园3栋2单元1203", "锦城花园3幢2单元12楼3号", "锦城花园3栋2单元12楼"] * 50
    )
    out2 = d.address_shorthand(bare, np.random.default_rng(1), 1.0)
    assert "锦城花园3-2-1203" in out2.values.to_pylist()
    assert not out2.touched[1::3].any() and not out2.touched[2::3].any()  # nothing to shorten


def test_drop_admin_levels_and_old_roads() -> None:
    values = pa.array([ADDRESSES[0]] * 300 + ["锦城小区3栋"])
    out = d.drop_admin_levels(values, np.random.default_rng(1), 1.0)
    assert set(out.values.to_pylist()[:300]) == {
        "成都市高新区中和街道天府大道1700号锦城花园3栋2单元1203室",
        "高新区中和街道天府大道1700号锦城花园3栋2单元1203室",
        "中和街道天府大道1700号锦城花园3栋2单元1203室",
    }
    assert not out.touched[300]  # nothing above the estate to drop
    roads = d.old_road_names(values, np.random.default_rng(1), 1.0, {"天府大道": "成仁路"})
    assert roads.values[0].as_py().startswith("四川省成都市高新区中和街道成仁路1700号")


def test_full_width_and_noise() -> None:
    out = d.full_width(pa.array(["A座12-3"] * 200), np.random.default_rng(1), 1.0)
    assert set(out.values.to_pylist()) == {"Ａ座１２－３", "A座１２-３"}
    noisy = d.noise_words(pa.array([ADDRESSES[2]] * 500), np.random.default_rng(1), 1.0)
    texts = noisy.values.to_pylist()
    assert all(t.replace(" ", "").replace("，", "").replace("、", "") != "" for t in texts)
    assert any(t.endswith("附近") for t in texts) and any(" " in t for t in texts)
    assert any(t.startswith("地址：") for t in texts) and any("，" in t for t in texts)


def test_name_typos_use_confusable_characters() -> None:
    values = pa.array(NAMES * 100)
    out = d.name_typos(values, np.random.default_rng(2), 1.0)
    table = d.typos._confusables("name")
    for before, after in zip(values.to_pylist(), out.values.to_pylist(), strict=True):
        diff = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert len(diff) == 1 and diff[0][1] in table[diff[0][0]]
    swapped = d.swap_given_name(
        pa.array(["张伟明", "欧阳娜敏", "王芳", "李静静"]), np.random.default_rng(0), 1.0
    )
    assert swapped.values.to_pylist() == ["张明伟", "欧阳敏娜", "王芳", "李静静"]
    assert swapped.touched.tolist() == [True, True, False, False]


def test_address_typos_blur_names_not_structure() -> None:
    values = pa.array(ADDRESSES * 100)
    out = d.address_typos(values, np.random.default_rng(2), 1.0)
    table = d.typos._confusables("address")
    assert out.touched.all()
    for before, after in zip(values.to_pylist(), out.values.to_pylist(), strict=True):
        diff = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert len(diff) == 1 and diff[0][1] in table[diff[0][0]]
        assert diff[0][0] not in "0123456789栋幢单元楼室号路街"


def _valid_ids(n: int) -> list[str]:
    bodies = [
        f"110105{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}" for i in range(n)
    ]
    return [b + ric.calc_check_digit(b + "0") for b in bodies]  # it reads 18 chars


def _valid_usccs(n: int) -> list[str]:
    bodies = [f"91510100{i:09d}"[:17] for i in range(n)]
    bodies = [b[:8] + "MA6" + b[11:] for b in bodies]
    return [b + uscc.calc_check_digit(b + "0") for b in bodies]


@pytest.mark.parametrize(
    ("kind", "module", "make"), [("id_number", ric, _valid_ids), ("uscc", uscc, _valid_usccs)]
)
def test_wrong_check_digits_are_invalid(
    kind: str, module: object, make: Callable[[int], list[str]]
) -> None:
    codes = make(2000)
    assert all(module.is_valid(c) for c in codes)  # type: ignore[attr-defined]
    values = pa.array([*codes, "short", None, "5101071985031512I3"])
    out = d.wrong_check_digit(values, np.random.default_rng(3), 0.4, kind)
    assert (out.touched == _changed(values, out.values)).all()
    assert 0.3 < out.touched[:2000].mean() < 0.5 and not out.touched[2000:].any()
    for code, hit in zip(out.values.to_pylist()[:2000], out.touched[:2000], strict=True):
        assert module.is_valid(code) is not bool(hit)  # type: ignore[attr-defined]
        assert code[:17] in {c[:17] for c in codes}
    with pytest.raises(ValueError, match="kind must be"):
        d.wrong_check_digit(values, np.random.default_rng(3), 0.4, "passport")


def test_phone_typos_keep_the_carrier_prefix() -> None:
    values = pa.array(["13812345678"] * 1000 + ["028-85123456"])
    out = d.phone_typos(values, np.random.default_rng(4), 1.0)
    got = out.values.to_pylist()
    assert got[-1] == "028-85123456" and not out.touched[-1]
    for phone in got[:-1]:
        assert phone.startswith("138") and phone.isdigit() and 10 <= len(phone) <= 12
    assert {len(p) for p in got[:-1]} == {10, 11, 12}


def test_masked_ids_keep_the_region_and_the_last_four() -> None:
    values = pa.array(["510121196703313711", "11010519491231002X", "A1234", None])
    out = d.masked_ids(values, np.random.default_rng(4), 1.0)
    assert out.values.to_pylist() == ["510121********3711", "110105********002X", "A1234", None]
    assert not any(ric.is_valid(v) for v in out.values.to_pylist()[:2])


def test_stale_phones_are_mobiles_nobody_uses() -> None:
    values = pa.array(["13800000001"] * 2000)
    # the numbers a first draw would give are all taken: every one must be drawn again
    rng = np.random.default_rng(4)
    chosen = int((rng.random(len(values)) < 0.5).sum())
    taken = pa.concat_arrays([mobiles(rng, chosen), pa.array(["13800000001", None])])
    out = d.stale_phones(values, np.random.default_rng(4), 0.5, taken=taken)
    new = [v for v, t in zip(out.values.to_pylist(), out.touched, strict=True) if t]
    assert len(new) == chosen
    assert all(len(v) == 11 and v.isdigit() and v[0] == "1" for v in new)
    assert not set(new) & set(taken.to_pylist())


def test_duplicates_shuffles_and_late_rows() -> None:
    table = pa.table({"row": np.arange(1000), "v": np.arange(1000) * 2})
    dup = d.duplicate_rows(table, np.random.default_rng(1), 0.1)
    assert dup.table.column("row").to_numpy().tolist() == dup.source_row.tolist()
    assert dup.touched.sum() == dup.table.num_rows - 1000 > 50
    assert (dup.source_row[dup.touched] == dup.source_row[np.flatnonzero(dup.touched) - 1]).all()
    far = d.duplicate_rows(table, np.random.default_rng(1), 0.1, adjacent=False)
    assert far.touched.sum() == dup.touched.sum() and far.touched[1000:].all()

    moved = d.shuffle_rows(table, np.random.default_rng(1), 0.1, window=20)
    assert sorted(moved.source_row.tolist()) == list(range(1000))
    assert moved.table.column("row").to_numpy().tolist() == moved.source_row.tolist()
    assert (moved.touched == (moved.source_row != np.arange(1000))).all() and moved.touched.any()
    assert np.abs(moved.source_row - np.arange(1000)).max() <= 40

    split = d.split_late(table, np.random.default_rng(1), 0.05)
    assert split.on_time.num_rows + split.late.num_rows == 1000
    assert split.late.column("row").to_numpy().tolist() == split.late_rows.tolist()
    again = d.split_late(table, np.random.default_rng(1), 0.05)
    assert again.late_rows.tolist() == split.late_rows.tolist()


def test_schema_drift_and_apply_to_column() -> None:
    table = pa.table({"户号": ["A1", "A2"], "用量": [1.0, 2.0], "备注": ["", ""]})
    out, change = d.drift_schema(
        table, rename={"用量": "用电量"}, add={"抄表员": "张三"}, drop=["备注"]
    )
    assert out.column_names == ["户号", "用电量", "抄表员"]
    assert out.column("抄表员").to_pylist() == ["张三", "张三"]
    assert change == d.SchemaChange({"用量": "用电量"}, ("抄表员",), ("备注",))
    with pytest.raises(KeyError):
        d.drift_schema(table, drop=["nope"])
    dirty, mask = d.apply_to_column(table, "户号", d.nulls, np.random.default_rng(0), 1.0)
    assert dirty.column("户号").null_count == 2 and mask.all()
    assert dirty.column_names == table.column_names


def test_rate_must_be_a_probability() -> None:
    with pytest.raises(ValueError, match="rate"):
        d.full_width(pa.array(["1"]), np.random.default_rng(0), 1.5)


def test_address_typos_never_touch_a_structural_marker() -> None:
    # 元 (of 单元) sounds like 园/苑/源: in these addresses the unit marker is the only
    # confusable character besides the estate names, so a typo that may hit it will
    estates = ["", "锦城花园", "天府软件园", "新世纪城"]
    addresses = [
        f"{e}{b}栋{u}单元{f}0{r}室"
        for e in estates
        for b in (1, 3)
        for u in (1, 2)
        for f in (5, 12)
        for r in (1, 3)
    ]
    values = pa.array(addresses * 8)
    out = d.address_typos(values, np.random.default_rng(5), 1.0)
    marker = d.ADDRESS_MARKERS
    for before, after in zip(values.to_pylist(), out.values.to_pylist(), strict=True):
        assert marker.findall(after) == marker.findall(before), (before, after)
        assert "单元" in after
    # where a name is there to blur, it is still blurred
    assert out.touched[[not a.startswith(tuple("0123456789")) for a in addresses * 8]].all()
    assert not out.touched[[a[0].isdigit() for a in addresses * 8]].any()
