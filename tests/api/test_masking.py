"""Masking: vectorised over Arrow, the scalar convenience, per role through a data route."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.conftest import Harness, add_router
from api.probe import router as probe_router
from citybrain.api.security.masking import (
    PiiKind,
    mask_address,
    mask_array,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_table,
    mask_value,
)
from citybrain.api.security.roles import Role


def test_id_numbers_keep_first_and_last_four() -> None:
    masked = mask_id_number(pa.array(["510104199001011234", "51010419900101123X", None, "123"]))
    assert masked.to_pylist() == ["5101**********1234", "5101**********123X", None, "***"]


def test_phones_keep_first_three_and_last_four() -> None:
    assert mask_phone(pa.array(["13812345678", " 13812345678 "])).to_pylist() == [
        "138****5678",
        "138****5678",
    ]


def test_names_keep_the_surname_including_compound_ones() -> None:
    names = pa.array(["张三", "张三丰", "欧阳娜娜", "司马相如", "欧阳", "张", None])
    assert mask_name(names).to_pylist() == ["张*", "张**", "欧阳**", "司马**", "欧*", "张*", None]


def test_addresses_are_cut_to_the_building() -> None:
    addresses = pa.array(
        [
            "四川省成都市高新区天府大道1号锦城小区3栋2单元501室",
            "锦城小区12幢1单元302",
            "锦城小区5号楼1201",
            "锦城小区A座1203",
            "锦城小区12-2-501",
            "天府大道100号",
        ]
    )
    assert mask_address(addresses).to_pylist() == [
        "四川省成都市高新区天府大道1号锦城小区3栋",
        "锦城小区12幢",
        "锦城小区5号楼",
        "锦城小区A座",
        "锦城小区12",
        "天府大道100号",
    ]


def test_chunked_dictionary_and_large_string_inputs() -> None:
    chunked = pa.chunked_array([["13812345678"], ["13900001111", None]])
    assert mask_phone(chunked).to_pylist() == ["138****5678", "139****1111", None]
    dictionary = pa.array(["张三", "张三"]).dictionary_encode()
    assert mask_name(dictionary).to_pylist() == ["张*", "张*"]
    large = pa.array(["13812345678"], pa.large_string())
    assert mask_phone(large).to_pylist() == ["138****5678"]


def test_scalar_convenience_matches_the_vector_form() -> None:
    assert mask_value("510104199001011234", "id_number") == "5101**********1234"
    assert mask_value("13812345678", "phone") == "138****5678"
    assert mask_value("欧阳娜娜", "name") == "欧阳**"
    assert mask_value(None, "name") is None


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        st.text(alphabet="0123456789X -", max_size=24),
        st.text(alphabet="张王欧阳司马李娜三丰 ", max_size=6),
        st.text(alphabet="天府大道1234567890号锦城小区栋幢座A单元室楼层-", max_size=30),
        st.text(max_size=20),
    ),
    kind=st.sampled_from(list(PiiKind)),
)
def test_scalar_and_vector_agree(value: str, kind: PiiKind) -> None:
    assert mask_value(value, kind) == mask_array(pa.array([value]), kind)[0].as_py()


def test_mask_table_masks_named_columns_only() -> None:
    table = pa.table({"name": ["张三"], "phone": ["13812345678"], "city": ["成都"]})
    masked = mask_table(table, {"name": "name", "phone": "phone", "absent": "phone"})
    assert masked.to_pylist() == [{"name": "张*", "phone": "138****5678", "city": "成都"}]


def test_a_large_column_is_masked_in_bulk() -> None:
    phones = pa.array([f"138{i:08d}" for i in range(200_000)])
    masked = mask_phone(phones)
    assert masked[123_456].as_py() == "138****3456"


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DATA_STEWARD, Role.ANALYST, Role.CLERK,
                                  Role.LEADER])  # fmt: skip
def test_every_role_sees_personal_data_masked_by_default(api: Harness, role: Role) -> None:
    add_router(api.app, probe_router)
    rows = api.client.get(
        "/api/v1/_probe/people", headers=api.as_role(role.value, ["street:S-IN"])
    ).json()
    assert rows[0] == {
        "person_id": "P1",
        "name": "张*",
        "id_number": "5101**********1234",
        "phone": "138****5678",
        "address": "天府大道1号锦城小区3栋",
        "street": "S-IN",
        "grid": "G-IN",
    }
    assert rows[1]["name"] == "欧阳**"


def test_masker_row_masks_one_record_without_a_grant(api: Harness) -> None:
    from citybrain.api.deps import Principal
    from citybrain.api.pii import Masker
    from citybrain.api.security.scope import Scope

    principal = Principal(1, "li", Role.ANALYST, None, Scope(citywide=True), "token")
    masker = Masker(principal, api.security, "GET /x", grants=[])
    record = {"uscc": "91510100MA0000001", "legal_rep": "欧阳娜娜", "phone": "13812345678"}
    assert masker.row(record, {"legal_rep": "name", "phone": "phone"}, subject="x") == {
        "uscc": "91510100MA0000001",
        "legal_rep": "欧阳**",
        "phone": "138****5678",
    }
