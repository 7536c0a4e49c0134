from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citybrain.address import AddressParser, Gazetteer, ParserConfig, parse, parse_many
from citybrain.address.batch import _CHUNK, COLUMNS

pytestmark = pytest.mark.usefixtures("divisions_installed")

ADDRESSES = [
    "成都市武侯区人民南路四段12号",
    "高新区锦城大道666号奥克斯广场B座21楼",
    None,
    "成都市武侯区人民南路四段12号",
    "天府三街288号附近",
    "成都市武侯区人民南路四段12号",
]


def test_one_row_per_input_in_input_order() -> None:
    table = parse_many(ADDRESSES)
    assert table.column_names == list(COLUMNS)
    assert table.num_rows == len(ADDRESSES)
    assert table.column("address").to_pylist() == ADDRESSES
    assert table.column("road").to_pylist() == [
        "人民南路四段",
        "锦城大道",
        None,
        "人民南路四段",
        "天府三街",
        "人民南路四段",
    ]


def test_matches_parse_row_by_row() -> None:
    table = parse_many(pa.chunked_array([ADDRESSES[:3], ADDRESSES[3:]]))
    for row, text in zip(table.to_pylist(), ADDRESSES, strict=True):
        if text is None:
            assert row["canonical"] is None  # a null address stays null
            continue
        parsed = parse(text)
        assert row["canonical"] == parsed.canonical
        assert row["district_code"] == parsed.district_code


def test_distinct_rows_and_a_city_parser() -> None:
    parser = AddressParser(ParserConfig(default_region="510100"))
    table = parse_many(pa.array(ADDRESSES).dictionary_encode(), parser, distinct=True)
    assert table.num_rows == 3  # nulls are not parsed
    by_address = {row["address"]: row for row in table.to_pylist()}
    assert by_address["高新区锦城大道666号奥克斯广场B座21楼"]["city"] == "成都市"


def test_all_distinct_inputs_keep_their_order() -> None:
    texts = ["天府三街288号", "成都市武侯区人民南路四段12号", "锦城大道666号"]
    table = parse_many(pa.chunked_array([texts[:1], texts[1:]]))
    assert table.column("address").to_pylist() == texts
    assert table.column("road").to_pylist() == ["天府三街", "人民南路四段", "锦城大道"]


# Inputs real batches hold besides addresses: nothing, noise, phone numbers, repeats.
_AWKWARD = st.sampled_from(
    [
        "",
        " ",
        "null",
        "NULL",
        "-",
        "_",
        "13800138000",
        "028-85551234",
        "无",
        "???",
        "四川省成都市武侯区人民南路四段12号",
        "浙江省-杭州市-下城区-武林街道",
        "成都市武侯区成都市武侯区天府大道北段1700号",
        "高新区锦城大道666号",
    ]
)
_ITEMS = st.one_of(st.none(), _AWKWARD, st.text(max_size=30))


def _expected(text: str | None) -> dict[str, object]:
    parsed = parse(text)
    row: dict[str, object] = {"address": text, **parsed._asdict(), "canonical": parsed.canonical}
    del row["raw"]
    row["notes"] = list(parsed.notes)
    if text is None:  # null in, null out: the components are empty anyway
        row.update(canonical=None, admin_inferred=None, notes=None)
    return row


@settings(max_examples=150, deadline=None)
@given(st.lists(_ITEMS, max_size=12))
def test_batch_equals_single_for_any_list(texts: list[str | None]) -> None:
    """`parse_many(xs)` is `[parse(x) for x in xs]`: one row per input, nothing dropped."""
    for table in (parse_many(texts), parse_many(pa.array(texts, pa.string()))):
        assert table.num_rows == len(texts)
        assert table.to_pylist() == [_expected(t) for t in texts]


def test_a_batch_of_only_unparseable_inputs_keeps_every_row() -> None:
    texts = ["", "13800138000", None, "null", ""]
    table = parse_many(texts)
    assert table.num_rows == 5
    assert table.column("canonical").to_pylist() == ["", "", None, "", ""]


def test_a_batch_of_several_chunks_equals_single_parses() -> None:
    """parse_many reads each chunk stage by stage (`AddressParser.parse_chunk`): all cleaned,
    then all admin prefixes, then all rests. Over chunk boundaries, with a city's gazetteer and
    default region, every row is what `parse` gives one address at a time."""
    config = ParserConfig(
        default_region="510100",
        gazetteer=Gazetteer(roads={"人民南路四段": "510107", "天府三街": "510107"}),
    )
    forms = [
        "成都市武侯区人民南路四段{}号",
        "天府三街{}号附近",
        "四川省成都市锦江区红星路三段{}号{}栋2单元1203室",
        "人民南路4段{}号",  # road only: admin from the gazetteer
        "浙江省-杭州市-下城区-武林街道{}号",  # an old district, historical
        "13800138000",
    ]
    texts: list[str | None] = [form.format(i, i % 7) for i in range(120) for form in forms]
    texts[::97] = [None] * len(texts[::97])
    assert len(texts) > 2 * _CHUNK  # three chunks
    table = parse_many(texts, AddressParser(config), distinct=True)
    single = AddressParser(config)
    by_address = {row["address"]: row for row in table.to_pylist()}
    for text in filter(None, texts):
        parsed = single.parse(text)
        row = by_address[text]
        assert row["canonical"] == parsed.canonical
        assert [row[name] for name in parsed._fields[1:-1]] == list(parsed[1:-1])
        assert tuple(row["notes"]) == parsed.notes
