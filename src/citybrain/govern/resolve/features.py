"""Linkage features, computed in Arrow on distinct values and joined back.

Persons: the name in pinyin (homophone typos 张伟/张纬 agree in pinyin), its surname and given
name, whether the name is only a surname with 先生/女士; a resident ID number only when its check
digit is valid, its birth date, and the raw digits for typo comparisons (a masked number gives only
the gender); a normalised mobile
number (and its raw digits, for a mobile typed one digit long or short); address components
(estate, building-unit-room) from `citybrain.address`.
Enterprises: a USCC only when valid, and the name's core (no region prefix, no legal form).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pypinyin import Style, lazy_pinyin

from citybrain.address import parse_many
from citybrain.govern.validators import (
    normalise_phone,
    validate_phone,
    validate_resident_id,
    validate_uscc,
)

_NULL = pa.scalar(None, pa.string())
MASKED_NAME = r"^.{1,2}(先生|女士|小姐|师傅|老师)$"
MASKED_ID = r"^\d{6}\*{8}\d{3}[\dX]$"
REGION_PREFIX = r"^(四川省|四川|成都市|成都|示例高新区|高新区)+"
REGION = r"(四川省|四川|成都市|成都|示例高新区|高新区)"
REGION_IN_BRACKETS = (
    rf"\({REGION}\)"  # 天辉科技（成都）有限公司, after NFKC made the brackets ASCII
)
# A legal form at the end, with a branch after it: 有限公司 / 有限公司高新分公司 / 分公司.
LEGAL_FORM = r"(股份有限公司|有限责任公司|有限公司|公司)?(.{0,6}分公司)?$"


def _clean(values: Any) -> Any:
    text = pc.utf8_normalize(pc.cast(values, pa.string()), "NFKC")
    text = pc.replace_substring_regex(text, r"[\s·•.。,，、()（）\-]", "")
    return pc.if_else(pc.equal(text, ""), _NULL, text)


def _distinct_map(values: Any, fn: Any) -> Any:
    """``fn`` applied once per distinct value, the result taken back to every row."""
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    mapped = pa.array(
        [fn(v) if v is not None else None for v in encoded.dictionary.to_pylist()], pa.string()
    )
    return mapped.take(encoded.indices)


def _pinyin(name: str) -> str:
    return "".join(lazy_pinyin(name, style=Style.NORMAL, errors="default"))


def name_features(names: Any) -> dict[str, Any]:
    clean = _clean(names)
    masked = pc.fill_null(pc.match_substring_regex(clean, MASKED_NAME), False)
    anonymous = pc.fill_null(pc.is_in(clean, pa.array(["匿名", "无", "不详", "未知"])), False)
    clean = pc.if_else(anonymous, _NULL, clean)
    surname = pc.utf8_slice_codeunits(clean, 0, 1)
    given = pc.utf8_slice_codeunits(clean, 1, 8)
    full = pc.if_else(masked, _NULL, clean)
    return {
        "name_norm": full,
        "name_py": _distinct_map(full, _pinyin),
        "surname": surname,
        "surname_py": _distinct_map(surname, _pinyin),
        "given_py": _distinct_map(pc.if_else(masked, _NULL, given), _pinyin),
    }


def id_features(ids: Any, birth_dates: Any) -> dict[str, Any]:
    raw = pc.utf8_upper(_clean(ids))
    valid = pc.is_null(validate_resident_id(raw))
    id_valid = pc.if_else(valid, raw, _NULL)
    from_id = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(id_valid, 6, 10),
        pc.utf8_slice_codeunits(id_valid, 10, 12),
        pc.utf8_slice_codeunits(id_valid, 12, 14),
        "-",
    )
    digits = pc.replace_substring_regex(pc.cast(birth_dates, pa.string()), r"\D", "")
    given = pc.if_else(
        pc.equal(pc.utf8_length(digits), 8),
        pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(digits, 0, 4),
            pc.utf8_slice_codeunits(digits, 4, 6),
            pc.utf8_slice_codeunits(digits, 6, 8),
            "-",
        ),
        _NULL,
    )
    plausible = pc.fill_null(pc.match_substring_regex(raw, r"^\d{17}[\dX]$"), False)
    return {
        "id_valid": id_valid,
        "id_raw": pc.if_else(plausible, raw, _NULL),
        "dob": pc.coalesce(from_id, given),
    }


def phone_features(phones: Any) -> dict[str, Any]:
    normal = normalise_phone(pc.cast(phones, pa.string()))
    normal = pc.replace_substring_regex(normal, r"^\+?86(1\d{10})$", r"\1")
    ok = pc.is_null(validate_phone(normal))
    mobile = pc.fill_null(pc.match_substring_regex(normal, r"^1[3-9]\d{9}$"), False)
    # A mobile with a digit too many or too few is no identifier, but still a typo to compare.
    digits = pc.replace_substring_regex(normal, r"\D", "")
    near = pc.fill_null(pc.match_substring_regex(digits, r"^1\d{9,11}$"), False)
    return {
        "phone_norm": pc.if_else(pc.and_(ok, mobile), normal, _NULL),
        "phone_raw": pc.if_else(near, digits, _NULL),
    }


def address_features(addresses: Any) -> dict[str, Any]:
    """Estate (or road and number) and building-unit-room of each address.

    Systems write one dwelling as ``天府六街32号1栋1单元101`` or ``滨江锦苑1栋1单元101``; addresses
    that carry both the road number and the estate teach which estate a road number is, so both
    spellings get the same place.
    """
    parsed = parse_many(pc.cast(addresses, pa.string()))
    room = pc.binary_join_element_wise(
        parsed["building"], parsed["unit"], pc.coalesce(parsed["room"], parsed["floor"]), "-"
    )
    road = pc.replace_substring_regex(parsed["road"], r"^.*?(区|街道|镇|乡)", "")
    road_key = pc.binary_join_element_wise(road, parsed["road_number"], "#")
    both = pc.and_(pc.is_valid(road_key), pc.is_valid(parsed["estate"]))
    pairs = pa.table({"road_key": road_key, "estate": parsed["estate"]}).filter(both)
    counted = pairs.group_by(["road_key", "estate"]).aggregate([("estate", "count")])
    best = counted.sort_by(
        [("road_key", "ascending"), ("estate_count", "descending"), ("estate", "ascending")]
    )
    lookup = best.to_pandas().drop_duplicates("road_key").set_index("road_key")["estate"]
    learned = pa.array(road_key.to_pandas().map(lookup), pa.string(), from_pandas=True)
    place = pc.coalesce(parsed["estate"], learned, road_key, parsed["road"])
    return {"addr_place": place, "addr_room": room}


def uscc_features(codes: Any, names: Any) -> dict[str, Any]:
    raw = pc.utf8_upper(_clean(codes))
    valid = pc.is_null(validate_uscc(raw))
    clean = _clean(names)
    bracketed = pc.utf8_normalize(pc.cast(names, pa.string()), "NFKC")
    core = _clean(pc.replace_substring_regex(bracketed, REGION_IN_BRACKETS, ""))
    core = pc.replace_substring_regex(core, REGION_PREFIX, "")
    core = pc.replace_substring_regex(core, LEGAL_FORM, "")
    return {
        "id_valid": pc.if_else(valid, raw, _NULL),
        "id_raw": pc.if_else(pc.equal(pc.utf8_length(raw), 18), raw, _NULL),
        "name_norm": clean,
        "name_core": pc.if_else(pc.equal(core, ""), clean, core),
        "name_py": _distinct_map(core, _pinyin),
    }


def gender_feature(names: Any, id_valid: Any, ids: Any = None) -> Any:
    """M / F from a valid ID's 17th digit (or a masked one's, ``510107********1234``: a masked
    number is no key, but its last digits still tell the gender), else from a 先生 / 女士 title;
    null when unknown."""
    if ids is not None:
        raw = pc.utf8_upper(_clean(ids))
        masked = pc.fill_null(pc.match_substring_regex(raw, MASKED_ID), False)
        id_valid = pc.coalesce(id_valid, pc.if_else(masked, raw, _NULL))
    digit = pc.utf8_slice_codeunits(id_valid, 16, 17)
    odd = pc.is_in(digit, pa.array(["1", "3", "5", "7", "9"]))
    from_id = pc.if_else(pc.is_valid(digit), pc.if_else(odd, "M", "F"), _NULL)
    clean = _clean(names)
    male = pc.fill_null(pc.match_substring_regex(clean, r"(先生|师傅)$"), False)
    female = pc.fill_null(pc.match_substring_regex(clean, r"(女士|小姐)$"), False)
    from_title = pc.if_else(male, "M", pc.if_else(female, "F", _NULL))
    return pc.coalesce(from_id, from_title)


def person_features(records: pa.Table) -> pa.Table:
    """``records`` (RECORD_COLUMNS) with the person linkage features appended."""
    columns: dict[str, Any] = {}
    columns.update(name_features(records["name"]))
    columns.update(id_features(records["id_number"], records["birth_date"]))
    columns.update(phone_features(records["phone"]))
    columns.update(address_features(records["address"]))
    columns["gender"] = gender_feature(records["name"], columns["id_valid"], records["id_number"])
    return _append(records, columns)


def enterprise_features(records: pa.Table) -> pa.Table:
    columns: dict[str, Any] = {}
    columns.update(uscc_features(records["id_number"], records["name"]))
    columns.update(address_features(records["address"]))
    return _append(records, columns)


def _append(table: pa.Table, columns: dict[str, Any]) -> pa.Table:
    for name, values in columns.items():
        table = table.append_column(name, pc.cast(values, pa.string()))
    return table
