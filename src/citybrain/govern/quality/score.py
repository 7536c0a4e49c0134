"""Timeliness against the contract's schedule, the weighted source score and its alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from citybrain.govern.quality.model import DIMENSION_ZH, WEIGHTS, Alert, SourceQuality
from citybrain.ingest.catalog import expected_refresh

# A source is on time within one and a half periods, worthless after three.
GRACE, LIMIT = 1.5, 3.0
# Source score below WARNING (CRITICAL) raises an alert for the owning department; so does a field
# whose validity falls below FIELD_VALIDITY.
WARNING, CRITICAL, FIELD_VALIDITY = 85.0, 70.0, 0.95


def timeliness(last_loaded: datetime | None, schedule: str | None, now: datetime) -> float | None:
    period = expected_refresh(schedule)
    if period is None:
        return None
    if last_loaded is None:
        return 0.0
    age = (now.replace(tzinfo=None) - last_loaded.replace(tzinfo=None)) / period
    if age <= GRACE:
        return 1.0
    return max(0.0, (LIMIT - age) / (LIMIT - GRACE))


def weighted(dimensions: dict[str, float]) -> float:
    used = {d: w for d, w in WEIGHTS.items() if d in dimensions}
    total = sum(used.values())
    return (
        round(100 * sum(dimensions[d] * w for d, w in used.items()) / total, 2) if total else 100.0
    )


def alerts_for(source: SourceQuality) -> list[Alert]:
    found: list[Alert] = []
    if source.score < WARNING:
        level: Literal["warning", "critical"] = "critical" if source.score < CRITICAL else "warning"
        worst = min(source.dimensions, key=lambda d: source.dimensions[d], default="validity")
        threshold = CRITICAL if level == "critical" else WARNING
        found.append(Alert(
            source.system, source.owner, level, "score", source.score, threshold,
            f"{source.system} 数据质量得分 {source.score:.1f}，低于 {threshold:.0f}；"
            f"最弱维度：{DIMENSION_ZH.get(worst, worst)}",
            f"{source.system} quality score {source.score:.1f} is below {threshold:.0f}; "
            f"weakest dimension: {worst}",
        ))  # fmt: skip
    for item in source.fields:
        if item.filled and item.validity < FIELD_VALIDITY:
            found.append(Alert(
                source.system, source.owner, "warning", f"validity:{item.column}",
                item.validity, FIELD_VALIDITY,
                f"{source.system} 字段 {item.column} 有效率 {100 * item.validity:.1f}%，"
                f"低于 {100 * FIELD_VALIDITY:.0f}%",
                f"{source.system} field {item.column} is {100 * item.validity:.1f}% valid, "
                f"below {100 * FIELD_VALIDITY:.0f}%",
            ))  # fmt: skip
    return found
