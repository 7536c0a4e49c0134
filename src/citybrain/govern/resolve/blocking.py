"""Blocking rules: which record pairs Splink scores at all, and how many pairs a rule makes.

Each rule is an equality on a selective key, so the candidate pairs grow with the data, not with
its square: a resident ID (raw, so typos in other digits still meet on it), a mobile number, a
pinyin name with a birth date or a dwelling. Training uses broader rules on one key each, so the
m probabilities of the other comparisons are learned where that key agrees. The rules come from
the configuration (`settings.KindConfig`) as lists of feature columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from splink import block_on


def rule(columns: Sequence[str]) -> Any:
    return block_on(*columns)


def describe(columns: Sequence[str]) -> str:
    return " + ".join(columns)


def pair_count(table: pa.Table, columns: Sequence[str], dataset: str | None = None) -> int:
    """Record pairs equal (and not null) on ``columns``: what a rule on them would block.

    With ``dataset`` (link-only), pairs within one dataset do not count.
    """
    keys = table.select(list(columns)).drop_null()
    total = _pairs(keys, list(columns))
    if dataset is None or total == 0:
        return total
    within = table.select([*columns, dataset]).drop_null()
    return total - _pairs(within, [*columns, dataset])


def _pairs(table: pa.Table, columns: list[str]) -> int:
    if table.num_rows == 0:
        return 0
    sizes = table.group_by(columns).aggregate([([], "count_all")])["count_all"]
    sizes = pc.cast(sizes, pa.int64())
    return int(pc.sum(pc.divide(pc.multiply(sizes, pc.subtract(sizes, 1)), 2)).as_py() or 0)
