"""Kept measures: an assessment measures only the std tables that changed since the last recorded
one — a table that gained parts in its new parts alone — and its report is the one a full
assessment gives, on any date.

On the tiny city ingested and standardised: a new delivery of taxi pings is appended to
``std.vehicle_ping``; the next assessment reads that table's new part only (an unchanged table is
made unreadable to prove it is not read), and equals a full one. A contract's owner and schedule
change the report without a scan; new measure definitions measure everything again.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from citybrain.core.engine import Engine
from citybrain.core.stdmodel import STD_TABLES
from citybrain.core.workspace import Workspace
from citybrain.govern.quality import QualityReport, assess, quality_report
from citybrain.govern.quality import stored as stored_module
from citybrain.govern.quality.stored import FILE, MeasureStore, measure_table
from citybrain.govern.standardize import Rules, standardize_table, standardize_workspace
from citybrain.govern.standardize import workspace_sources as sources_of
from citybrain.govern.standardize.pipeline import build_table
from citybrain.ingest import discover_sources, ingest_sources, recorder_for
from fixtures.tinycity import std_city_copy
from govern.standardize.handmade import person_rows, raw_source, write_load

# The tiny city's loads are made today: on time now, late in 75 days (timeliness differs).
NOW = datetime.now(UTC)
LATER = NOW + timedelta(days=75)


def _same(kept: QualityReport, full: QualityReport) -> None:
    """Every source's score, dimensions, fields, trend, and every alert, as a full assessment."""
    assert kept.to_dict() == full.to_dict()
    assert kept.rows() == full.rows() and kept.alert_rows() == full.alert_rows()


def _full(workspace: Workspace, now: datetime) -> QualityReport:
    """An assessment with nothing kept (everything measured)."""
    (workspace.root / FILE).unlink(missing_ok=True)
    report = quality_report(workspace, now=now)
    assert set(report.measured.values()) == {"scanned"}
    return report


def _deliver_taxi(workspace: Workspace, sim: Path, root: Path) -> None:
    """1 % of the taxi pings again as a new delivery, with new ids a day later (nothing they
    supersede), ingested and appended to std.vehicle_ping as the standardize step does."""
    folder = root / "taxi_gps"
    shutil.copytree(sim / "taxi_gps", folder)
    contract = workspace.root / "sources" / "taxi_gps.yaml"
    spec = yaml.safe_load(contract.read_text("utf-8"))
    spec["connector"]["path"] = str(folder / Path(spec["connector"]["path"]).name)
    contract.write_text(yaml.safe_dump(spec, allow_unicode=True), "utf-8")
    files = sorted(folder.glob("taxi_2023-0[123].parquet"))
    total = sum(pq.read_metadata(f).num_rows for f in files)
    latest = pq.read_table(files[-1])
    new = latest.slice(latest.num_rows - total // 100)
    ids = pc.binary_join_element_wise(pa.scalar("NEW"), new["gps_id"], "")
    new = new.set_column(new.schema.get_field_index("gps_id"), "gps_id", ids)
    when = pc.add(new["gps_time"], pa.scalar(86_400_000))
    new = new.set_column(new.schema.get_field_index("gps_time"), "gps_time", when)
    pq.write_table(new, folder / "taxi_2023-04.parquet")

    before = {s.system: len(s.load_ids) for s in sources_of(workspace)["vehicle_ping"]}
    taxi = [p for p in discover_sources(workspace) if p.stem == "taxi_gps"]
    ingest_sources(workspace, taxi, recorder=recorder_for(workspace))
    result = standardize_workspace(
        workspace, tables=["vehicle_ping"], append={"vehicle_ping": before}
    )
    (table,) = result.tables
    assert table.appended, "the new pings were not appended"


def _unreadable(folder: Path) -> dict[Path, bytes]:
    """Every Parquet part of a table overwritten with zeros — same size, same modification
    time, so its listing is unchanged — and the bytes it had."""
    kept = {}
    for part in folder.rglob("*.parquet"):
        stat = part.stat()
        kept[part] = part.read_bytes()
        part.write_bytes(bytes(stat.st_size))
        os.utime(part, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return kept


def _restore(kept: dict[Path, bytes]) -> None:
    for part, data in kept.items():
        stat = part.stat()
        part.write_bytes(data)
        os.utime(part, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.duckdb
@pytest.mark.slow
def test_after_a_delivery_only_the_new_part_is_read_and_the_report_equals_a_full_one(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    workspace, sim, _ = std_city_copy(tmp_path_factory, tmp_path)
    first = quality_report(workspace, now=NOW, record=True)
    assert first.measured and set(first.measured.values()) == {"scanned"}
    assert (workspace.root / FILE).is_file()
    again = quality_report(workspace, now=NOW)  # nothing changed: nothing measured
    assert set(again.measured.values()) == {"reused"}
    _same(again, first)

    _deliver_taxi(workspace, sim, tmp_path)
    hidden = _unreadable(workspace.lake / "std" / "delivery")
    try:
        nightly = quality_report(workspace, now=LATER, record=True)
    finally:
        _restore(hidden)
    changed = {k: v for k, v in nightly.measured.items() if v != "reused"}
    assert changed == {"std.vehicle_ping": "new parts"}
    assert "std.delivery" in nightly.measured

    full = _full(workspace, LATER)
    _same(nightly, full)
    taxi_then, taxi_now = first.source("taxi_gps"), nightly.source("taxi_gps")
    assert taxi_now.rows > taxi_then.rows and len(taxi_now.trend) == len(taxi_then.trend) + 1
    assert nightly.to_dict() != quality_report(workspace, now=NOW).to_dict()  # the date counts

    quality_report(workspace, now=LATER, record=True)  # kept again, then nothing changed
    assert set(quality_report(workspace, now=LATER).measured.values()) == {"reused"}


@pytest.mark.duckdb
def test_a_contract_change_shows_without_a_scan_and_new_measures_rescan_everything(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace, _, _ = std_city_copy(tmp_path_factory, tmp_path)
    quality_report(workspace, now=NOW, record=True)
    contract = workspace.root / "sources" / "water_utility.yaml"
    spec = yaml.safe_load(contract.read_text("utf-8"))
    spec["owner"] = "区水务局（新）"
    spec.setdefault("refresh", {})["schedule"] = "daily"  # late by now: timeliness falls
    contract.write_text(yaml.safe_dump(spec, allow_unicode=True), "utf-8")

    kept = quality_report(workspace, now=LATER)
    assert set(kept.measured.values()) == {"reused"}
    water = kept.source("water_utility")
    assert water.owner == "区水务局（新）" and water.dimensions["timeliness"] == 0.0
    _same(kept, _full(workspace, LATER))

    quality_report(workspace, now=NOW, record=True)
    monkeypatch.setattr(stored_module, "MEASURES_VERSION", stored_module.MEASURES_VERSION + 1)
    redefined = quality_report(workspace, now=NOW, record=True)
    assert set(redefined.measured.values()) == {"scanned"}
    assert any(k.startswith("consistency:") for k in redefined.measured)
    _same(redefined, _full(workspace, NOW))

    (workspace.root / FILE).write_text('{"version": 2, "tables": {', "utf-8")  # cut short
    damaged = quality_report(workspace, now=NOW, record=True)
    assert set(damaged.measured.values()) == {"scanned"}
    _same(damaged, redefined)
    assert set(quality_report(workspace, now=NOW).measured.values()) == {"reused"}  # replaced


def test_appended_parts_are_measured_alone_on_both_engines(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new parts of a table, written by the engine, read apart (in chunks) and added: the
    same figures as a scan of the whole table."""
    monkeypatch.setattr(stored_module, "CHUNK_ROWS", 30)  # the 80 new rows in three chunks
    lake, std = engine.lake_root, STD_TABLES["person_registration"]
    write_load(lake, "load-1", person_rows(200, dirt=0.1, seed=3), minute=1)
    standardize_table(engine, std, [raw_source(lake)], rules=Rules())
    stored = MeasureStore()
    assess(engine, {std.name: [raw_source(lake)]}, now=NOW, stored=stored)
    assert stored.how == {f"std.{std.name}": "scanned"}

    write_load(lake, "load-2", person_rows(80, dirt=0.3, seed=4, first=200), minute=2)
    source = raw_source(lake)
    new = build_table(
        engine, std, [replace(source, load_ids=("load-2",))], index=None, rules=Rules(),
        code_sources=[source],
    )  # fmt: skip
    engine.write(new, "std", std.name, mode="append")
    kept = assess(engine, {std.name: [source]}, now=NOW, stored=stored)
    assert kept.measured == {f"std.{std.name}": "new parts"}
    full = assess(engine, {std.name: [source]}, now=NOW)
    _same(kept, full)
    assert [t.rows for t in kept.source("hukou_test").trend] == [200, 80]


def _pings(first: int, n: int, load_id: str, day: int) -> pa.Table:
    """``n`` hand-made std.vehicle_ping rows of one load: every fifth without a time, every
    third flagged (a bad plate; every sixth also a duplicate)."""
    rows = range(first, first + n)
    return pa.table({
        "ping_id": [f"P{i}" for i in rows],
        "plate": [None if i % 7 == 0 else f"川A{i:05d}" for i in rows],
        "ts": [None if i % 5 == 0 else datetime(2026, 3, day, i % 24) for i in rows],
        "lon": [104.0 + i / 1e4 for i in rows],
        "lat": [30.5 for _ in rows],
        "speed": [None if i % 4 == 0 else float(i % 60) for i in rows],
        "heading": [0.0 for _ in rows],
        "ignition": [i % 2 == 0 for i in rows],
        "loaded": [None for _ in rows],
        "source_system": ["taxi_gps" if i % 3 else "muck_truck_gps" for i in rows],
        "load_id": [load_id for _ in rows],
        "source_row": list(rows),
        "quality_flags": [
            (["plate:bad_format"] if i % 3 == 0 else [])
            + (["record_key:duplicate"] if i % 6 == 0 else [])
            for i in rows
        ],
    })  # fmt: skip


def test_event_times_of_new_parts_add_up_on_both_engines(engine: Engine) -> None:
    """A table with an event time: the latest time, the rows with one and the flags of the new
    parts, added to the kept ones, are those of the whole table."""
    std = STD_TABLES["vehicle_ping"]
    engine.write(_pings(0, 120, "load-1", 1), "std", std.name)
    stored = MeasureStore()
    stored.start()
    stored.table(engine, std)
    engine.write(_pings(120, 90, "load-2", 9), "std", std.name, mode="append")
    stored.start()
    added = stored.table(engine, std)
    assert stored.how == {f"std.{std.name}": "new parts"}
    whole = measure_table(engine, engine.table("std", std.name), std, added.listing)
    assert (added.filled, added.flags, added.times) == (whole.filled, whole.flags, whole.times)
    taxi = added.times["taxi_gps"]
    assert taxi.latest is not None and taxi.latest.day == 9 and taxi.timed < taxi.rows

    stored.start()  # the std model of the table changed: measured whole, by the new model
    narrower = replace(std, columns=std.columns[:-1])
    assert "loaded" not in next(iter(stored.table(engine, narrower).filled.values()))
    assert stored.how == {f"std.{std.name}": "scanned"}
