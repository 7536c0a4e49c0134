"""Splink comparisons for Chinese persons and enterprises.

Names are compared in characters, then in pinyin: the same pinyin with different characters
(张伟 / 张纬, a clerk's homophone typo) is strong evidence, close pinyin weaker, a shared surname
weakest (it is all a parcel's ``黄女士`` gives). Resident ID numbers and USCCs: equal, one or two
typos, or different. Birth dates, mobile numbers and addresses (estate + building-unit-room from
`citybrain.address`) complete the person model.
"""

from __future__ import annotations

from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl


def _levels(name: str, levels: list[Any]) -> Any:
    return cl.CustomComparison(comparison_levels=levels, output_column_name=name)


def person_name() -> Any:
    return _levels("name", [
        cll.NullLevel("surname_py"),
        cll.ExactMatchLevel("name_norm").configure(label_for_charts="same characters"),
        cll.ExactMatchLevel("name_py").configure(label_for_charts="same pinyin"),
        cll.JaroWinklerLevel("name_py", 0.9).configure(m_probability=0.02),
        cll.And(
            cll.ExactMatchLevel("surname_py"),
            cll.Or(cll.NullLevel("given_py"), cll.CustomLevel("given_py_r IS NULL")),
        ).configure(label_for_charts="same surname, one name only a surname"),
        cll.ElseLevel().configure(m_probability=0.01),
    ])  # fmt: skip


def identifier() -> Any:
    return _levels("id_number", [
        cll.NullLevel("id_raw"),
        cll.ExactMatchLevel("id_raw"),
        cll.LevenshteinLevel("id_raw", 2).configure(m_probability=0.01),
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


def address() -> Any:
    return _levels("address", [
        cll.NullLevel("addr_room"),
        cll.And(cll.ExactMatchLevel("addr_place"), cll.ExactMatchLevel("addr_room")),
        cll.ExactMatchLevel("addr_room"),
        cll.ElseLevel(),
    ])  # fmt: skip


def enterprise_name() -> Any:
    return _levels("name", [
        cll.NullLevel("name_core"),
        cll.ExactMatchLevel("name_norm"),
        cll.ExactMatchLevel("name_core"),
        cll.ExactMatchLevel("name_py"),
        cll.JaroWinklerLevel("name_py", 0.92).configure(m_probability=0.02),
        cll.ElseLevel().configure(m_probability=0.01),
    ])  # fmt: skip


def person_comparisons() -> list[Any]:
    return [person_name(), identifier(), birth_date(), gender(), phone(), address()]


def enterprise_comparisons() -> list[Any]:
    return [enterprise_name(), identifier(), address()]
