"""Blocking rules: which record pairs Splink scores at all.

Each rule is an equality on a selective key, so the candidate pairs grow with the data, not with
its square: a resident ID (raw, so typos in other digits still meet on it), a mobile number, a
pinyin name with a birth date or a dwelling. Training uses broader rules on one key each, so the
m probabilities of the other comparisons are learned where that key agrees.
"""

from __future__ import annotations

from typing import Any

from splink import block_on


def person_prediction_rules() -> list[Any]:
    return [
        block_on("id_raw"),
        block_on("phone_norm"),
        block_on("name_py", "dob"),
        block_on("name_py", "addr_room"),
        block_on("surname_py", "addr_place", "addr_room"),
    ]


def person_training_rules() -> list[Any]:
    return [block_on("phone_norm"), block_on("name_py", "dob"), block_on("id_raw")]


def person_deterministic_rules() -> list[Any]:
    return [block_on("id_valid")]


def enterprise_prediction_rules() -> list[Any]:
    return [block_on("id_raw"), block_on("name_core"), block_on("name_py")]


def enterprise_training_rules() -> list[Any]:
    return [block_on("name_core"), block_on("id_raw")]


def enterprise_deterministic_rules() -> list[Any]:
    return [block_on("id_valid")]
