"""Timeliness on the data's own event time; a missing event time is an alert, not 100 %."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from citybrain.core.opsdb import upgrade
from citybrain.core.stdmodel import STD_TABLES
from citybrain.core.workspace import Workspace
from citybrain.govern.quality import quality_report
from citybrain.govern.quality.measures import (
    EventTimes,
    event_column,
    event_timeliness,
    missing_event_time_alert,
)
from citybrain.govern.standardize import standardize_workspace
from citybrain.ingest import ingest_sources, recorder_for

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


def _sensor_workspace(tmp_path: Path, time_mapping: str) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    sources = ws.root / "sources"
    sources.mkdir(exist_ok=True)
    rows = ["year,month,day,hour,station,pm25"]
    rows += [f"2026,3,1,{h},东四,{10 + h}" for h in range(6)]
    (sources / "air.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (sources / "air.yaml").write_text(
        "id: air\nname: 空气质量\nowner: 生态环境局\nconnector: {kind: csv, path: air.csv}\n"
        "standard: sensor_reading\nrefresh: {schedule: hourly}\n"
        "mapping:\n  ignore: [year, month, day, hour]\n  columns:\n"
        f"{time_mapping}"
        "    - {source: station, target: sensor_id}\n"
        "    - {source: pm25, target: pm25, type: float64}\n",
        encoding="utf-8",
    )
    upgrade(ws.ops_db_url)
    summary = ingest_sources(ws, [sources / "air.yaml"], recorder=recorder_for(ws))
    assert summary.ok
    standardize_workspace(ws)
    return ws


@pytest.mark.duckdb
def test_timeliness_is_measured_on_the_readings_own_time(tmp_path: Path) -> None:
    combined = (
        "    - {target: observed_at, type: timestamp,"
        " combine: {year: year, month: month, day: day, hour: hour}}\n"
    )
    ws = _sensor_workspace(tmp_path, combined)
    now = datetime(2026, 2, 28, 22, 0, tzinfo=UTC)  # 06:00 on March 1st in Beijing
    report = quality_report(ws, now=now)
    (air,) = report.sources
    assert air.timeliness == 1.0  # the newest reading is from 05:00, an hour ago
    later = quality_report(ws, now=now + timedelta(days=2))
    assert later.sources[0].timeliness == 0.0  # loaded just now, but the readings are old
    assert not [a for a in report.alerts if a.dimension.startswith("timeliness")]


@pytest.mark.duckdb
def test_readings_without_a_time_raise_an_alert_not_100(tmp_path: Path) -> None:
    ws = _sensor_workspace(tmp_path, "")  # observed_at never delivered
    report = quality_report(ws, now=datetime(2026, 3, 1, tzinfo=UTC))
    (air,) = report.sources
    assert air.timeliness == 0.0
    (alert,) = [a for a in report.alerts if a.dimension == "timeliness:observed_at"]
    assert alert.level == "critical" and alert.owner == "生态环境局"
    assert "6 of 6 rows have no event time" in alert.en
