"""Freshness: is a dataset as recent as its source contract says it should be?"""

from __future__ import annotations

from datetime import datetime, timedelta

from citybrain.core.catalog.types import Freshness


def assess_freshness(
    last_refreshed_at: datetime | None,
    expected_refresh: timedelta | None,
    now: datetime,
) -> Freshness:
    """Fresh while the last refresh is no older than the expected interval, stale after.

    Unknown when either side is missing: a dataset with no promised refresh cannot be late, and
    one never refreshed has no age — saying "stale" for either would cry wolf.
    """
    if last_refreshed_at is None or expected_refresh is None:
        age = None if last_refreshed_at is None else now - last_refreshed_at
        return Freshness(
            status="unknown",
            last_refreshed_at=last_refreshed_at,
            expected_refresh=expected_refresh,
            age=age,
        )
    age = now - last_refreshed_at
    return Freshness(
        status="fresh" if age <= expected_refresh else "stale",
        last_refreshed_at=last_refreshed_at,
        expected_refresh=expected_refresh,
        age=age,
    )
