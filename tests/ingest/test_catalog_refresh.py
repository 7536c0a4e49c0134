"""A contract's refresh schedule is read one way, by the catalog and the quality score alike."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from citybrain.govern.quality.score import timeliness
from citybrain.ingest.catalog import expected_refresh


@pytest.mark.parametrize(
    ("schedule", "period"),
    [
        ("daily", timedelta(days=1)),
        (" Daily ", timedelta(days=1)),
        ("annual", timedelta(days=366)),
        ("15min", timedelta(minutes=15)),
        ("6h", timedelta(hours=6)),
        ("2d", timedelta(days=2)),
        ("now and then", None),
        ("", None),
        (None, None),
    ],
)
def test_schedules(schedule: str | None, period: timedelta | None) -> None:
    assert expected_refresh(schedule) == period


def test_quality_timeliness_follows_the_catalogs_reading() -> None:
    now = datetime(2026, 11, 25, 12)
    assert timeliness(now - timedelta(hours=20), "Daily", now) == 1.0
    assert timeliness(now, "now and then", now) is None
