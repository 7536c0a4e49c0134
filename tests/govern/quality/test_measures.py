"""Timeliness on the data's own event time; a missing event time is an alert, not 100 %; the
measures equal the former queries (every text value stripped, the event times apart)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from citybrain.core.engine import Engine
from citybrain.core.opsdb import upgrade
from citybrain.core.stdmodel import STD_TABLES
from citybrain.core.workspace import Workspace
from citybrain.govern.quality import quality_report
from citybrain.govern.quality.measures import (
    EventTimes,
    event_column,
    event_timeliness,
    missing_event_time_alert,
    table_counts,
)
from citybrain.govern.standardize import standardize_workspace
from citybrain.ingest import ingest_sources, recorder_for
from govern.quality import former_measures as former

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


# Text values around the shortcut of `blank` (a value >= "!" is not blank without a strip): blank
# ones of every character strip() removes, values starting with one, with "!" itself, with a
# control character it keeps, with non-ASCII spaces it keeps, with Chinese.
EDGES = [
    None, "", " ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", " \t\r\n", " a", "\tb ", "\n川A",
    "!", "!!", " !", "\x1f", "\x01x", "\u3000", "\u00a0", " \u3000 ", "川A12345", "a", "~",
]  # fmt: skip
BLANK = " \t\n\r\x0b\x0c"  # what ibis's strip() removes


def _edge_pings(first: int, n: int, load_id: str) -> pa.Table:
    """std.vehicle_ping rows with every edge value in ``plate`` (and a blank or null
    ``ping_id`` now and then), two systems — the muck trucks with no time at all in load-2."""
    rows = range(first, first + n)
    system = ["taxi_gps" if i % 3 else "muck_truck_gps" for i in rows]
    return pa.table({
        "ping_id": [[f"P{i}", " ", None][i % 3] if i % 4 == 0 else f"P{i}" for i in rows],
        "plate": [EDGES[i % len(EDGES)] for i in rows],
        "ts": [
            None if i % 5 == 0 or (s == "muck_truck_gps" and load_id == "load-2")
            else datetime(2026, 3, 1 + i % 20, i % 24)
            for i, s in zip(rows, system, strict=True)
        ],
        "lon": [None if i % 6 == 0 else 104.0 + i / 1e4 for i in rows],
        "lat": [30.5 for _ in rows],
        "speed": [None if i % 4 == 0 else float(i % 60) for i in rows],
        "heading": [0.0 for _ in rows],
        "ignition": [i % 2 == 0 for i in rows],
        "loaded": [None for _ in rows],
        "source_system": system,
        "load_id": [load_id for _ in rows],
        "source_row": list(rows),
        "quality_flags": [
            (["plate:bad_format"] if i % 3 == 0 else [])
            + (["record_key:duplicate"] if i % 7 == 0 else [])
            for i in rows
        ],
    })  # fmt: skip


def test_counts_give_the_former_measures_on_both_engines(engine: Engine) -> None:
    """`table_counts` (the values present and the event times in one query, the blank ones in
    another, a comparison before the strip) equals the former queries — every text value
    stripped, the event times apart — on a table with nulls, blanks, values the comparison
    cannot settle, flags and duplicates."""
    std = STD_TABLES["vehicle_ping"]
    data = pa.concat_tables([_edge_pings(0, 150, "load-1"), _edge_pings(150, 90, "load-2")])
    engine.write(data, "std", std.name)
    table = engine.table("std", std.name)

    filled, times = table_counts(engine, table, std)
    assert filled == former.filled_counts(engine, table, std)
    assert times == former.event_times(engine, table, std)

    muck = times["muck_truck_gps"]
    assert muck.timed < muck.rows and muck.latest is not None and muck.latest.day <= 20
    if engine.name == "duckdb":  # Spark's strip() leaves "\v" and "\f", see below
        for (system, load), counts in filled.items():
            mine = data.filter(pc.and_(
                pc.equal(data["source_system"], system), pc.equal(data["load_id"], load)
            ))  # fmt: skip
            plates = [v for v in mine["plate"].to_pylist() if v is not None and v.strip(BLANK)]
            assert counts["plate"] == len(plates) and counts["_rows"] == mine.num_rows
    blanks = {v for v in EDGES if v is not None and not v.strip(BLANK)}
    assert len(blanks) == 9 and "\u3000" not in blanks  # the edges hold both kinds


def test_letters_are_filled_on_both_engines(engine: Engine) -> None:
    """Ibis writes strip()'s "\v" and "\f" into a Spark SQL literal, which Spark reads as the
    letters v and f: the former measure counted "v" or "fv" as blank on Spark. A value that starts
    with a letter is filled without a strip, on both engines."""
    values = ["v", "f", "fv", "vv f", "x", " ", None]
    rows = pa.table({
        "ticket_id": values,
        "source_system": ["hotline" for _ in values],
        "load_id": ["load-1" for _ in values],
    })  # fmt: skip
    table = engine.register("_letters", rows)
    std = STD_TABLES["complaint"]
    only_id = replace(std, columns=tuple(c for c in std.columns if c.name == "ticket_id"))
    filled, times = table_counts(engine, table, only_id)
    assert filled == {("hotline", "load-1"): {"_rows": 7, "ticket_id": 5}} and times == {}
