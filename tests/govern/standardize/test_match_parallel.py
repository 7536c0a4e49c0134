"""Matching distinct addresses on worker processes gives the table one process gives, row for row:
a few thousand addresses written by hand in the ways clerks write them, over a small register."""

from __future__ import annotations

import itertools

import pyarrow as pa
import pytest

from citybrain.address import AddressBase
from citybrain.core.engine import Engine
from citybrain.govern.standardize import AddressIndex, match_distinct
from citybrain.govern.standardize.addresses import CACHE, _match

pytestmark = pytest.mark.usefixtures("divisions_installed")

# Four estates on three roads; 智汇港E区 stands on two of them (settled by what lies below).
ESTATES = [("天府八街", "4", "智汇港E区"), ("府城大道", "6", "智汇港E区"),
           ("天府八街", "10", "锦城花园"), ("益州大道", "88", "南湖小区")]  # fmt: skip
NAMES = ["road", "road_number", "estate", "building", "unit", "room",
         "road_number_id", "building_id", "unit_id", "dwelling_id"]  # fmt: skip
# Written by hand: {b} building, {u} unit, {f} floor, {n} number on the floor, {r} room.
FORMS = [
    "四川省成都市天府八街4号智汇港E区{b}栋{u}单元{r}室",
    "智汇港E区{b}栋{u}单元{r}",
    "智汇港E区{b}-{u}-{r}",
    "成都市高新区府城大道6号{b}幢{u}单元{f}楼{n}号",
    "锦城花园{b}号楼{u}单元{r}室附近",
    "天府八街10号锦城花园{b}栋{u}单元{f}层",
    "益州大道88号南湖小区{b}栋{u}单元",
    "地址：益州大道88号{b}栋{u}单元{r}",
    "南湖小区 {b}栋{u}-{r}（对面）",
    "锦诚花园{b}栋{u}单元{r}",
    "北京市朝阳区天府八街4号智汇港E区{b}栋{u}单元{r}室",
    "天府八街{b}号",
]
ODD = ["", " ", "不详", "无", "成都市", "A栋", "智汇港E区", "天府八街", "１２３４５"]


@pytest.fixture(scope="module")
def divisions_installed() -> None:
    from citybrain.address.divisions import package_dir

    root = package_dir()
    if not ((root / "dist" / "areas.csv").is_file() or (root / "areas.csv").is_file()):
        pytest.skip("division data not installed")


def _register() -> pa.Table:
    rows = []
    for e, (road, number, estate) in enumerate(ESTATES):
        for b, u, f, n in itertools.product(range(1, 5), (1, 2), range(1, 7), (1, 2)):
            room = f"{f}0{n}"
            rows.append((road, number, estate, str(b), str(u), room, f"R{e}", f"B{e}{b}",
                         f"U{e}{b}{u}", f"D{e}{b}{u}{room}"))  # fmt: skip
    return pa.table({n: list(v) for n, v in zip(NAMES, zip(*rows, strict=True), strict=True)})


@pytest.fixture(scope="module")
def index() -> AddressIndex:
    base = AddressBase(_register(), region="510100")
    roads = (("天府八街", "4"), ("府城大道", "6"))
    areas = pa.table({"address_id": pa.array([], pa.string())})
    return AddressIndex(base, base.parser(), areas, "v1", None, {"智汇港E区": roads})


def _texts() -> list[str]:
    # buildings 5-7, unit 3, floor 7 and number 3 exist nowhere: partial and unmatched rows too
    written = (
        form.format(b=b, u=u, f=f, n=n, r=f"{f}0{n}")
        for form in FORMS
        for b, u, f, n in itertools.product(range(1, 8), (1, 2, 3), range(1, 8), (1, 2, 3))
    )
    return list(dict.fromkeys([*written, *ODD]))


def test_workers_give_the_table_of_one_process(index: AddressIndex) -> None:
    texts = _texts()
    assert len(texts) > 3_000
    serial = match_distinct(index, texts, workers=1)
    forked = match_distinct(index, texts, workers=2, serial_below=0)
    assert forked.equals(serial)
    assert forked.column("address").to_pylist() == texts
    # the rows are the matches one string at a time, as before there were workers
    expected = [_match(index, index.parser.parse(t)) for t in texts]
    assert forked.column("address_id").to_pylist() == [r.address_id for r in expected]
    assert forked.column("address_confidence").to_pylist() == [r.confidence for r in expected]
    # and the set is varied enough to say so: dwellings, partial levels, several reasons
    levels = set(forked.column("address_level").to_pylist())
    codes = set(forked.column("unmatched_code").to_pylist())
    assert {"dwelling", "unit", "building"} <= levels
    assert {"outside_city", "ambiguous", None} <= codes and len(codes) >= 4


def test_a_short_list_is_matched_the_same_whatever_the_workers(index: AddressIndex) -> None:
    texts = _texts()[:200]
    assert match_distinct(index, texts, workers=2).equals(match_distinct(index, texts, workers=1))


def test_no_addresses_give_an_empty_table_with_the_cache_columns(index: AddressIndex) -> None:
    table = match_distinct(index, [], workers=2, serial_below=0)
    assert table.num_rows == 0
    assert table.schema.field("address_id").type == pa.string()


def test_workers_fork_beside_an_open_engine_and_leave_it_working(
    engine: Engine, index: AddressIndex
) -> None:
    # As in the standardize step: the strings come from the engine, which stays open (with its
    # threads, or its JVM) while the workers fork, and the cache rows go back through it.
    engine.write(pa.table({"address": _texts()}), "std", "written")
    written = engine.table("std", "written")
    texts = engine.to_arrow(written.order_by("address")).column("address").to_pylist()
    forked = match_distinct(index, texts, workers=2, serial_below=0)
    engine.write(forked, "std", CACHE)
    cache = engine.table("std", CACHE)
    back = engine.to_arrow(cache.order_by("address")).select(forked.column_names)
    assert back.equals(match_distinct(index, texts, workers=1))
