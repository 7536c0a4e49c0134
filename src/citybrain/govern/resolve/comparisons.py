"""Splink comparisons for persons and enterprises, built from the configuration.

Names are compared in characters, then in pinyin: the same pinyin with different characters
(张伟 / 张纬, a clerk's homophone typo) is strong evidence, close pinyin weaker, a shared surname
weakest (it is all a parcel's ``黄女士`` gives). Resident ID numbers and USCCs: equal, one or two
typos, or different. Birth dates, mobile numbers and addresses (estate + building-unit-room from
`citybrain.address`) complete the person model.

Fields of the world: names in either order (``name_key``, the words sorted), any other
identifier (exact, then within ``max_edits``), addresses the parser cannot place compared as text,
an employer's name. `build` makes one comparison from its `ComparisonConfig`, and `REQUIRES` says
which feature columns it needs: a comparison none of whose columns has a value is left out.
"""

from __future__ import annotations

from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl

from citybrain.govern.resolve.settings import ComparisonConfig


def _levels(name: str, levels: list[Any]) -> Any:
    return cl.CustomComparison(comparison_levels=levels, output_column_name=name)


def person_name(jaro_winkler: float = 0.9, order_swaps: bool = False) -> Any:
    swapped: list[Any] = []
    swapped_typo: list[Any] = []
    if order_swaps:
        same = cll.ExactMatchLevel("name_key").configure(label_for_charts="same names, other order")
        swapped = [same]
        # Either order and a typo (Esward Hall / Hall Edward): the sorted words close, then less
        # close (a typo near the start costs Jaro-Winkler its prefix bonus).
        swapped_typo = [
            cll.JaroWinklerLevel("name_key", jaro_winkler).configure(m_probability=0.01),
            cll.JaroWinklerLevel("name_key", 0.8).configure(m_probability=0.005),
        ]
    return _levels("name", [
        cll.NullLevel("surname_py"),
        cll.ExactMatchLevel("name_norm").configure(label_for_charts="same characters"),
        cll.ExactMatchLevel("name_py").configure(label_for_charts="same pinyin"),
        *swapped,
        cll.JaroWinklerLevel("name_py", jaro_winkler).configure(m_probability=0.02),
        *swapped_typo,
        cll.And(
            cll.ExactMatchLevel("surname_py"),
            cll.Or(cll.NullLevel("given_py"), cll.CustomLevel("given_py_r IS NULL")),
        ).configure(label_for_charts="same surname, one name only a surname"),
        cll.ElseLevel().configure(m_probability=0.01),
    ])  # fmt: skip


def identifier(column: str = "id_raw", name: str = "id_number", max_edits: int = 2) -> Any:
    typo = [cll.LevenshteinLevel(column, max_edits).configure(m_probability=0.01)]
    typo = typo if max_edits else []
    return _levels(name, [
        cll.NullLevel(column),
        cll.ExactMatchLevel(column),
        *typo,
        cll.ElseLevel().configure(m_probability=0.0001),
    ])  # fmt: skip


def birth_date() -> Any:
    return _levels("dob", [
        cll.NullLevel("dob"),
        cll.ExactMatchLevel("dob"),
        cll.ElseLevel().configure(m_probability=0.005)])  # fmt: skip


def gender() -> Any:
    return _levels("gender", [
        cll.NullLevel("gender"), cll.ExactMatchLevel("gender"),
        cll.ElseLevel().configure(m_probability=0.001)])  # fmt: skip


def phone() -> Any:
    return _levels("phone", [
        cll.NullLevel("phone_raw"), cll.ExactMatchLevel("phone_norm"),
        # One digit wrong or two swapped: a courier's typo, or a clerk's.
        cll.DamerauLevenshteinLevel("phone_raw", 1).configure(label_for_charts="one typo"),
        cll.ElseLevel().configure(m_probability=0.05)])  # fmt: skip


def address(with_text: bool = False) -> Any:
    """Parsed dwellings (place and room); with ``with_text``, addresses the parser could not
    place on both sides are compared as text (``addr_text`` is set only for those)."""
    if not with_text:
        return _levels("address", [
            cll.NullLevel("addr_room"),
            cll.And(cll.ExactMatchLevel("addr_place"), cll.ExactMatchLevel("addr_room")),
            cll.ExactMatchLevel("addr_room"),
            cll.ElseLevel(),
        ])  # fmt: skip
    neither = (
        "(addr_room_l IS NULL OR addr_room_r IS NULL)"
        " AND (addr_text_l IS NULL OR addr_text_r IS NULL)"
    )
    return _levels("address", [
        cll.CustomLevel(neither).configure(is_null_level=True),
        cll.And(cll.ExactMatchLevel("addr_place"), cll.ExactMatchLevel("addr_room")),
        cll.ExactMatchLevel("addr_room"),
        cll.ExactMatchLevel("addr_text").configure(label_for_charts="same address text"),
        cll.JaroWinklerLevel("addr_text", 0.92).configure(m_probability=0.05),
        cll.ElseLevel(),
    ])  # fmt: skip


def employer() -> Any:
    return _levels("employer", [
        cll.NullLevel("employer_norm"),
        cll.ExactMatchLevel("employer_norm"),
        cll.JaroWinklerLevel("employer_norm", 0.9),
        cll.ElseLevel(),
    ])  # fmt: skip


def enterprise_name(jaro_winkler: float = 0.92) -> Any:
    return _levels("name", [
        cll.NullLevel("name_core"),
        cll.ExactMatchLevel("name_norm"),
        cll.ExactMatchLevel("name_core"),
        cll.ExactMatchLevel("name_py"),
        cll.JaroWinklerLevel("name_py", jaro_winkler).configure(m_probability=0.02),
        cll.ElseLevel().configure(m_probability=0.01),
    ])  # fmt: skip


#: Feature columns each comparison needs, by kind: it is built if any of them has a value.
REQUIRES: dict[str, dict[str, tuple[str, ...]]] = {
    "person": {
        "name": ("surname_py",), "id_number": ("id_raw",), "other_id": ("other_id_norm",),
        "birth_date": ("dob",), "gender": ("gender",), "phone": ("phone_raw",),
        "address": ("addr_room", "addr_text"), "employer": ("employer_norm",),
    },
    "enterprise": {
        "name": ("name_core",), "id_number": ("id_raw",), "other_id": ("other_id_norm",),
        "phone": ("phone_raw",), "address": ("addr_room", "addr_text"),
    },
}  # fmt: skip


def build(kind: str, config: ComparisonConfig, present: frozenset[str]) -> Any:
    """The Splink comparison for ``config``; ``present`` are the feature columns with values."""
    field = config.field
    if field == "name":
        if kind == "enterprise":
            return enterprise_name(config.jaro_winkler)
        return person_name(config.jaro_winkler, config.order_swaps)
    if field == "id_number":
        return identifier("id_raw", "id_number", config.max_edits)
    if field == "other_id":
        return identifier("other_id_norm", "other_id", config.max_edits)
    if field == "address":
        return address(with_text="addr_text" in present)
    simple = {"birth_date": birth_date, "gender": gender, "phone": phone, "employer": employer}
    return simple[field]()
