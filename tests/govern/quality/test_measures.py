"""Timeliness on the data's own event time; a missing event time is an alert, not 100 %."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from citybrain.core.stdmodel import STD_TABLES
from citybrain.govern.quality.measures import (
    EventTimes,
    event_column,
    event_timeliness,
    missing_event_time_alert,
)

NOW = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)  # 12:00 in Beijing
HOUR = timedelta(hours=1)


def test_recent_event_times_are_on_time_in_beijing_time() -> None:
    latest = datetime(2026, 3, 1, 11, 0)  # Beijing time, one hour ago
    assert event_timeliness(EventTimes(10, 10, latest), HOUR, NOW) == (1.0, 1.0)
    stale = datetime(2026, 3, 1, 9, 45)  # 2.25 hourly periods old: half way to worthless
    value, _ = event_timeliness(EventTimes(10, 10, stale), HOUR, NOW)
    assert value == pytest.approx(0.5)
    years_old = datetime(2013, 3, 5, 23, 0)
    assert event_timeliness(EventTimes(10, 10, years_old), HOUR, NOW)[0] == 0.0


def test_missing_event_times_lower_timeliness_and_raise_an_alert() -> None:
    latest = datetime(2026, 3, 1, 11, 30)
    assert event_timeliness(EventTimes(10, 6, latest), HOUR, NOW) == (0.6, 0.6)
    assert event_timeliness(EventTimes(10, 0, None), HOUR, NOW) == (0.0, 0.0)
    assert event_timeliness(EventTimes(10, 0, None), None, NOW) == (0.0, 0.0)
    # no expected cadence: recency is not judged, only the rows without a time count
    assert event_timeliness(EventTimes(10, 5, latest), None, NOW) == (0.5, 0.5)
    assert event_timeliness(EventTimes(10, 10, latest), None, NOW) == (None, 1.0)
    alert = missing_event_time_alert("air", "生态环境局", "observed_at", EventTimes(10, 0, None))
    assert alert is not None and alert.level == "critical"
    assert "10 of 10 rows have no event time (observed_at)" in alert.en
    some = missing_event_time_alert("air", "环境局", "observed_at", EventTimes(10, 9, latest))
    assert some is not None and some.level == "warning"
    assert (
        missing_event_time_alert("air", "环境局", "observed_at", EventTimes(5, 5, latest)) is None
    )


def test_event_column_is_the_event_time_role() -> None:
    assert event_column(STD_TABLES["sensor_reading"]) == "observed_at"
    assert event_column(STD_TABLES["vehicle_ping"]) == "ts"
    assert event_column(STD_TABLES["person_registration"]) is None
