"""Masking personal data, vectorised over Arrow arrays (pyarrow.compute; no per-row Python).

=============  ==========================  ==============================================
kind           example in → out            rule
=============  ==========================  ==============================================
id_number      510104199001011234 → 5101**********1234   keep first 4 and last 4
phone          13812345678 → 138****5678   keep first 3 and last 4
name           张三 → 张*, 欧阳娜娜 → 欧阳**  keep the surname (two-character compound ones too)
address        …3栋2单元501室 → …3栋         cut to the building
=============  ==========================  ==============================================

Nulls stay null. Values too short to keep anything are masked whole. ``mask_value`` is the scalar
convenience; ``mask_table`` masks the named columns of a table at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

import pyarrow as pa
import pyarrow.compute as pc


class PiiKind(StrEnum):
    ID_NUMBER = "id_number"
    PHONE = "phone"
    NAME = "name"
    ADDRESS = "address"


# Two-character compound surnames (复姓) in use today; a name starting with one keeps both.
_COMPOUND_SURNAMES_TEXT = (
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 "
    "轩辕 令狐 钟离 澹台 端木 独孤 南宫 西门 申屠 太史 万俟 闻人 赫连 "
    "呼延 公冶 濮阳 淳于 单于 太叔 仲孙 百里 东郭 羊舌 微生 梁丘 左丘 "
    "东门 第五 拓跋 夹谷 宰父 谷梁 段干 司空 司寇 亓官 巫马 公西 漆雕 "
    "乐正 壤驷 公良 鲜于 闾丘 子车 颛孙 南门 东乡 锺离 "
)
COMPOUND_SURNAMES = tuple(_COMPOUND_SURNAMES_TEXT.split())
_COMPOUND_SET = frozenset(COMPOUND_SURNAMES)

_STAR = pa.scalar("*", pa.string())
# Up to and including the building marker: 3栋, 12幢, 5号楼, A座, 7号院2号楼 …
_BUILDING = r"^(.*?[0-9A-Za-z一二三四五六七八九十]+(?:栋|幢|号楼|座))"
# Without a building marker: drop a trailing unit / floor / room part (2单元501室, 5楼, 3-2-501).
_ROOM_TAIL = r"(?:[0-9]+单元)?(?:[0-9]+(?:层|楼))?(?:[0-9]+(?:室|号房|户))?(?:-?[0-9]+-[0-9]+)?$"
_BUILDING_RE = re.compile(_BUILDING)
_ROOM_TAIL_RE = re.compile(_ROOM_TAIL)


def _as_string(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    if pa.types.is_string(values.type):
        return values
    if pa.types.is_large_string(values.type) or pa.types.is_dictionary(values.type):
        return values.cast(pa.string())
    return pc.cast(values, pa.string())


def _keep_ends(
    values: pa.Array | pa.ChunkedArray, head: int, tail: int
) -> pa.Array | pa.ChunkedArray:
    text = pc.utf8_trim_whitespace(_as_string(values))
    length = pc.utf8_length(text)
    hidden = pc.max_element_wise(pc.subtract(length, head + tail), 0)
    masked = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(text, 0, head),
        pc.binary_repeat(_STAR, hidden),
        pc.utf8_slice_codeunits(text, -tail) if tail else pa.scalar("", pa.string()),
        "",
    )
    too_short = pc.less_equal(length, head + tail)
    all_stars = pc.binary_repeat(_STAR, length)
    return pc.if_else(too_short, all_stars, masked)


def mask_id_number(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """510104199001011234 → 5101**********1234."""
    return _keep_ends(values, 4, 4)


def mask_phone(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """13812345678 → 138****5678."""
    return _keep_ends(values, 3, 4)


def mask_name(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """张三 → 张*, 张三丰 → 张**, 欧阳娜娜 → 欧阳**; one star at least, so 张 → 张*."""
    text = pc.utf8_trim_whitespace(_as_string(values))
    length = pc.utf8_length(text)
    first_two = pc.utf8_slice_codeunits(text, 0, 2)
    compound = pc.and_(
        pc.is_in(first_two, value_set=pa.array(COMPOUND_SURNAMES)), pc.greater(length, 2)
    )
    surname = pc.if_else(compound, first_two, pc.utf8_slice_codeunits(text, 0, 1))
    stars = pc.max_element_wise(pc.subtract(length, pc.utf8_length(surname)), 1)
    return pc.binary_join_element_wise(surname, pc.binary_repeat(_STAR, stars), "")


def mask_address(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Cut a room-level address to its building: 天府大道1号锦城小区3栋2单元501室 → …3栋."""
    text = pc.utf8_trim_whitespace(_as_string(values))
    has_building = pc.match_substring_regex(text, _BUILDING)
    to_building = pc.replace_substring_regex(text, _BUILDING + r".*$", r"\1")
    without_room = pc.replace_substring_regex(text, _ROOM_TAIL, "")
    return pc.if_else(has_building, to_building, without_room)


MASKERS = {
    PiiKind.ID_NUMBER: mask_id_number,
    PiiKind.PHONE: mask_phone,
    PiiKind.NAME: mask_name,
    PiiKind.ADDRESS: mask_address,
}


def mask_array(
    values: pa.Array | pa.ChunkedArray, kind: PiiKind | str
) -> pa.Array | pa.ChunkedArray:
    return MASKERS[PiiKind(kind)](values)


def _keep_ends_one(text: str, head: int, tail: int) -> str:
    text = text.strip()
    if len(text) <= head + tail:
        return "*" * len(text)
    return text[:head] + "*" * (len(text) - head - tail) + (text[-tail:] if tail else "")


def _name_one(text: str) -> str:
    text = text.strip()
    compound = len(text) > 2 and text[:2] in _COMPOUND_SET
    surname = text[:2] if compound else text[:1]
    return surname + "*" * max(len(text) - len(surname), 1)


def _address_one(text: str) -> str:
    text = text.strip()
    match = _BUILDING_RE.match(text)
    if match:
        return match.group(1)
    return _ROOM_TAIL_RE.sub("", text, count=1)


_SCALAR = {
    PiiKind.ID_NUMBER: lambda v: _keep_ends_one(v, 4, 4),
    PiiKind.PHONE: lambda v: _keep_ends_one(v, 3, 4),
    PiiKind.NAME: _name_one,
    PiiKind.ADDRESS: _address_one,
}


def mask_value(value: str | None, kind: PiiKind | str) -> str | None:
    """The scalar convenience for one value (a record page, a log line), in plain Python so a
    single lookup costs microseconds; the tests hold it to the vectorised functions' results.

    ``mask_value("13812345678", "phone") == "138****5678"``.
    """
    if value is None:
        return None
    masked: str = _SCALAR[PiiKind(kind)](str(value))
    return masked


def mask_table(table: pa.Table, columns: Mapping[str, PiiKind | str]) -> pa.Table:
    """Mask the named columns (name → kind) of ``table``; columns it lacks are ignored."""
    for column, kind in columns.items():
        index = table.schema.get_field_index(column)
        if index >= 0:
            table = table.set_column(index, column, mask_array(table[column], kind))
    return table
