"""The one schema every topic's findings share, and vectorised builders for it.

A finding is a subject (dwelling, enterprise, vehicle …) flagged for a period with a score in
[0, 1], a level, a location and **reasons**: each reason names a signal, its observed and
expected values, its contribution to the score and one sentence in zh-CN and en that a clerk
can check on site.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    import pandas as pd


class Level(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


LEVEL_ZH = {Level.high: "高", Level.medium: "中", Level.low: "低"}

REASON_TYPE = pa.struct(
    [
        ("signal", pa.string()),
        ("observed", pa.float64()),
        ("expected", pa.float64()),
        ("contribution", pa.float64()),
        ("text_zh", pa.string()),
        ("text_en", pa.string()),
    ]
)

FINDINGS_SCHEMA = pa.schema(
    [
        ("topic", pa.string()),
        ("subject_type", pa.string()),
        ("subject_id", pa.string()),
        ("period", pa.string()),  # "2025-03" for a month, "2025-03-14" for a day
        ("score", pa.float64()),
        ("level", pa.string()),
        ("lon", pa.float64()),
        ("lat", pa.float64()),
        ("grid_id", pa.string()),
        ("community_id", pa.string()),
        ("street_id", pa.string()),
        ("model_version", pa.string()),
        ("reasons", pa.list_(REASON_TYPE)),
    ]
)


@dataclass(frozen=True)
class Signal:
    """One signal's columns and the sentence templates that explain it.

    Templates use ``{observed}`` and ``{expected}``:
    ``"月用电{observed}度，同类住户约{expected}度"``.
    """

    name: str
    observed: pa.Array | pa.ChunkedArray
    expected: pa.Array | pa.ChunkedArray
    contribution: pa.Array | pa.ChunkedArray
    template_zh: str
    template_en: str
    decimals: int = 1


def _as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _format_numbers(values: pa.Array, decimals: int) -> pa.Array:
    """Numbers as a clerk reads them; a missing one (null or NaN) as "?", never "nan"."""
    numbers = pc.cast(values, pa.float64())
    numbers = pc.if_else(pc.is_nan(numbers), pa.scalar(None, pa.float64()), numbers)
    rounded = pc.round(numbers, decimals)
    text = pc.cast(rounded, pa.string())
    if decimals == 0:
        text = pc.replace_substring_regex(text, r"\.0$", "")
    return pc.fill_null(text, "?")


def _render(template: str, observed: pa.Array, expected: pa.Array) -> pa.Array:
    """Fill a template column-wise: literal pieces and number columns joined, no per-row Python."""
    pieces: list[pa.Array | str] = []
    rest = template
    while rest:
        positions = {key: rest.find(key) for key in ("{observed}", "{expected}") if key in rest}
        if not positions:
            pieces.append(rest)
            break
        key = min(positions, key=lambda k: positions[k])
        at = positions[key]
        if at:
            pieces.append(rest[:at])
        pieces.append(observed if key == "{observed}" else expected)
        rest = rest[at + len(key) :]
    if not pieces:
        return pa.array([""] * len(observed), pa.string())
    return pc.binary_join_element_wise(*pieces, "")


def join_text(*pieces: pa.Array | str) -> pa.Array:
    """Each row's text: the pieces (a column of words, or the same words for every row) joined."""
    return pc.binary_join_element_wise(*pieces, "")


def one_reason_per_row(
    signal: str,
    observed: ArrayLike,
    expected: ArrayLike,
    contribution: ArrayLike,
    text_zh: pa.Array,
    text_en: pa.Array,
) -> pa.ListArray:
    """Each row's only reason, its texts already written (with ``join_text``) where a template
    over the observed and expected values cannot say it, e.g. a move from one named place to
    another."""
    n = len(text_zh)
    struct = pa.StructArray.from_arrays(
        [
            pa.array(np.full(n, signal, dtype=object), pa.string()),
            pa.array(np.asarray(observed, dtype=np.float64), pa.float64()),
            pa.array(np.asarray(expected, dtype=np.float64), pa.float64()),
            pa.array(np.asarray(contribution, dtype=np.float64), pa.float64()),
            text_zh,
            text_en,
        ],
        fields=list(REASON_TYPE),
    )
    return pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32)), struct)


def build_reasons(signals: Sequence[Signal], *, min_contribution: float = 0.0) -> pa.ListArray:
    """Per row, the signals whose contribution exceeds ``min_contribution``, largest first."""
    if not signals:
        raise ValueError("a finding needs at least one signal to explain it")
    n = len(signals[0].observed)
    columns: dict[str, list[pa.Array]] = {field.name: [] for field in REASON_TYPE}
    for signal in signals:
        if len(signal.observed) != n or len(signal.expected) != n or len(signal.contribution) != n:
            raise ValueError(f"signal {signal.name}: columns differ in length")
        observed_values = _as_array(signal.observed)
        expected_values = _as_array(signal.expected)
        observed = _format_numbers(observed_values, signal.decimals)
        expected = _format_numbers(expected_values, signal.decimals)
        columns["signal"].append(pa.array(np.full(n, signal.name, dtype=object), pa.string()))
        columns["observed"].append(pc.cast(observed_values, pa.float64()))
        columns["expected"].append(pc.cast(expected_values, pa.float64()))
        columns["contribution"].append(pc.cast(_as_array(signal.contribution), pa.float64()))
        columns["text_zh"].append(_render(signal.template_zh, observed, expected))
        columns["text_en"].append(_render(signal.template_en, observed, expected))
    long = pa.table({name: pa.concat_arrays(parts) for name, parts in columns.items()})
    row = np.tile(np.arange(n, dtype=np.int64), len(signals))
    contribution = long.column("contribution").to_numpy(zero_copy_only=False)
    keep = np.nan_to_num(contribution, nan=-np.inf) > min_contribution
    # Sort by row, then by contribution descending, so each row's reasons are contiguous.
    order = np.lexsort((-np.nan_to_num(contribution, nan=-np.inf), row))
    order = order[keep[order]]
    kept = long.take(pa.array(order))
    counts = np.bincount(row[order], minlength=n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    struct = pa.StructArray.from_arrays(
        [kept.column(name).combine_chunks() for name in kept.column_names],
        fields=list(REASON_TYPE),
    )
    return pa.ListArray.from_arrays(pa.array(offsets), struct)


def levels_from_scores(scores: pa.Array, thresholds: Mapping[Level, float]) -> pa.Array:
    """Map scores to levels: ``high`` at or above its threshold, then ``medium``, else ``low``."""
    values = pc.cast(scores, pa.float64()).to_numpy(zero_copy_only=False)
    out = np.full(len(values), Level.low.value, dtype=object)
    out[values >= thresholds.get(Level.medium, np.inf)] = Level.medium.value
    out[values >= thresholds.get(Level.high, np.inf)] = Level.high.value
    return pa.array(out, pa.string())


#: a column handed to `findings_table`: Arrow as it is, or anything ``pa.array`` converts
Column: TypeAlias = "pa.Array | pa.ChunkedArray | np.ndarray | pd.Series | Sequence[object]"


def _column(values: Column | None, n: int, kind: pa.DataType) -> pa.Array | pa.ChunkedArray:
    if values is None:
        return pa.nulls(n, kind)
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    return pa.array(values, kind)


def findings_table(
    topic: str,
    subject_type: str,
    *,
    subject_id: Column,
    period: Column,
    score: pa.Array,
    thresholds: Mapping[Level, float],
    reasons: pa.Array,
    model_version: str,
    lon: Column | None = None,
    lat: Column | None = None,
    grid_id: Column | None = None,
    community_id: Column | None = None,
    street_id: Column | None = None,
) -> pa.Table:
    """A topic's findings in ``FINDINGS_SCHEMA``'s columns: one row per subject and period.

    ``topic``, ``subject_type`` and ``model_version`` are the same on every row; the level comes
    from ``score`` and the topic's ``thresholds`` (see `levels_from_scores`); a place column left
    out (``None``) is null. Arrow columns are taken as they are, anything else is converted to the
    schema's type. The runner conforms the table (`validate_findings`).
    """
    n = len(score)
    return pa.table(
        {
            "topic": pa.array([topic] * n, pa.string()),
            "subject_type": pa.array([subject_type] * n, pa.string()),
            "subject_id": _column(subject_id, n, pa.string()),
            "period": _column(period, n, pa.string()),
            "score": score,
            "level": levels_from_scores(score, thresholds),
            "lon": _column(lon, n, pa.float64()),
            "lat": _column(lat, n, pa.float64()),
            "grid_id": _column(grid_id, n, pa.string()),
            "community_id": _column(community_id, n, pa.string()),
            "street_id": _column(street_id, n, pa.string()),
            "model_version": pa.array([model_version] * n, pa.string()),
            "reasons": reasons,
        }
    )


class FindingsError(ValueError):
    """A topic produced findings that break the shared schema (a programmer error in the topic)."""


def validate_findings(table: pa.Table) -> pa.Table:
    """Conform a topic's output to ``FINDINGS_SCHEMA`` and check the rules every finding obeys."""
    missing = [name for name in FINDINGS_SCHEMA.names if name not in table.column_names]
    if missing:
        raise FindingsError(f"findings lack column(s): {', '.join(missing)}")
    table = table.select(FINDINGS_SCHEMA.names).cast(FINDINGS_SCHEMA)
    if table.num_rows == 0:
        return table
    for name in (
        "topic",
        "subject_type",
        "subject_id",
        "period",
        "score",
        "level",
        "model_version",
    ):
        nulls = table.column(name).null_count
        if nulls:
            raise FindingsError(f"{nulls} finding(s) have no {name}")
    scores = table.column("score")
    if pc.any(pc.or_(pc.less(scores, 0.0), pc.greater(scores, 1.0))).as_py():
        raise FindingsError("finding scores must lie in [0, 1]")
    allowed = pa.array([level.value for level in Level])
    if not pc.all(pc.is_in(table.column("level"), value_set=allowed)).as_py():
        raise FindingsError("finding levels must be high, medium or low")
    reason_counts = pc.fill_null(pc.list_value_length(table.column("reasons")), 0)
    if pc.any(pc.equal(reason_counts, 0)).as_py():
        raise FindingsError("every finding needs at least one reason a clerk can check")
    return table
