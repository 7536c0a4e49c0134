"""Drift policies, idempotent re-runs, several sources at once, and the catalog hook."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from citybrain.core.catalog import Catalog
from citybrain.core.workspace import Workspace
from citybrain.ingest import RawZone, ingest_sources, load_file, recorder_for
from citybrain.ingest.load import LoadOptions
from ingest._helpers import WATER_HEADER, MakeContract, water_rows, write_csv


def _drifted(source_dir: Path) -> Path:
    header = [*WATER_HEADER[:3], "用水量(吨)", "状态", "备注"]  # 用水量 renamed, 备注 new
    rows = [[*r, "x"] for r in water_rows(4)]
    return write_csv(source_dir / "water.csv", rows, header=header)


@pytest.mark.parametrize("policy", ["fail", "quarantine", "evolve"])
def test_schema_drift_follows_the_policy(
    policy: str, workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    path = _drifted(source_dir)
    contract = make_contract("kind: csv\npath: water.csv", extra=f"drift: {policy}\n")
    manifest = load_file(workspace.lake, contract, path)
    zone = RawZone(workspace.lake, contract.id)
    if policy == "fail":
        assert manifest.status == "failed"
        assert manifest.message is not None
        assert "unknown column(s) 用水量(吨), 备注" in manifest.message
        assert "missing column(s) 用水量" in manifest.message
        assert zone.partitions() == []
        return
    assert manifest.status == "completed"
    assert manifest.drift is not None and manifest.drift.missing == ["用水量"]
    assert manifest.reconciled
    if policy == "quarantine":
        assert (manifest.rows_landed, manifest.quarantined_by_reason) == (0, {"schema_drift": 4})
    else:
        assert manifest.rows_landed == 4
        assert {"用水量(吨)", "备注", "volume_m3"} <= set(manifest.columns)


def test_rerun_of_the_same_file_lands_nothing_twice(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    path = write_csv(source_dir / "water.csv", water_rows(10))
    contract = make_contract("kind: csv\npath: water.csv")
    first = load_file(workspace.lake, contract, path)
    again = load_file(workspace.lake, contract, path)
    assert first.status == "completed" and again.status == "skipped"
    assert again.load_id == first.load_id
    assert len(RawZone(workspace.lake, contract.id).partitions()) == 1
    write_csv(source_dir / "water.csv", water_rows(10, start=11))
    assert load_file(workspace.lake, contract, path).status == "completed"
    assert len(RawZone(workspace.lake, contract.id).partitions()) == 2


def test_an_unchanged_file_is_known_by_its_stat_and_a_rewritten_one_is_read_again(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    """A nightly run does not hash every file ever delivered: the very file, unchanged since its
    load (size, times, inode), is skipped unread. Rewritten — even to the same size and with its
    modification time set back — it is read again; with the same bytes it is still skipped."""
    path = write_csv(source_dir / "water.csv", water_rows(10))
    contract = make_contract("kind: csv\npath: water.csv")
    fresh = load_file(workspace.lake, contract, path)  # written just now: not trusted by stat
    assert fresh.status == "completed" and fresh.input_stat == ""
    assert "the same bytes" in (load_file(workspace.lake, contract, path).message or "")

    time.sleep(0.2)
    settled = LoadOptions(settled_seconds=0.1)
    first = load_file(
        workspace.lake, contract, path, options=LoadOptions(force=True, settled_seconds=0.1)
    )
    assert first.status == "completed" and first.input_stat.startswith(f"{path.stat().st_size}:")
    again = load_file(workspace.lake, contract, path, options=settled)
    assert again.status == "skipped" and again.load_id == first.load_id
    assert again.message == f"already landed by {first.load_id} (unchanged since)"

    before = path.stat()
    data = path.read_bytes()
    at = data.rindex(b"1")
    path.write_bytes(data[:at] + b"2" + data[at + 1 :])  # one figure changed: the same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    rewritten = load_file(workspace.lake, contract, path, options=settled)
    assert rewritten.status == "completed" and rewritten.load_id != first.load_id

    path.write_bytes(path.read_bytes())  # the same bytes written again: the checksum decides
    same = load_file(workspace.lake, contract, path, options=settled)
    assert same.status == "skipped" and same.load_id == rewritten.load_id
    assert "the same bytes" in (same.message or "")
    assert len(RawZone(workspace.lake, contract.id).partitions()) == 3


def test_one_broken_source_fails_alone_and_the_catalog_knows(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    write_csv(source_dir / "water.csv", water_rows(50))
    good = make_contract("kind: csv\npath: water.csv", extra="refresh: {schedule: daily}\n")
    (source_dir / "gas.csv").write_bytes(b"\x00\x00\x00binary")
    broken = make_contract("kind: csv\npath: gas.csv", system="gas_billing")
    missing = make_contract("kind: csv\npath: nowhere/*.csv", system="heat_billing")
    invalid = source_dir / "bad.yaml"
    invalid.write_text("id: bad\nname: x\n", encoding="utf-8")
    later = make_contract("kind: mqtt\ntopic: city/#", system="air_sensors")
    events: list[str] = []
    summary = ingest_sources(
        workspace,
        [good, broken, missing, invalid, later],
        progress=lambda e: events.append(f"{e.system}:{e.phase}"),
        recorder=recorder_for(workspace),
    )
    status = {r.system: (r.status, r.error or "") for r in summary.results}
    assert status["water_billing"] == ("ok", "")
    assert status["gas_billing"][0] == "failed" and "gas.csv" in status["gas_billing"][1]
    assert "no file matches" in status["heat_billing"][1]
    assert "bad.yaml" in status["bad"][1] and "required key is missing" in status["bad"][1]
    assert "mqtt" in status["air_sensors"][1]
    assert summary.exit_code == 1 and len(summary.failed) == 4
    assert "water_billing:done" in events and "gas_billing:failed" in events
    assert len(summary.rows()) == 5 and len(summary.rows()[0]) == len(summary.columns)

    catalog = Catalog.open(workspace.ops_db_url)
    assert catalog.headline().records_aggregated == 50
    raw = catalog.get_dataset("raw/water_billing")
    assert raw.owner_department == "市水务集团" and raw.latest is not None and raw.latest.rows == 50
    assert {p.name for p in raw.pii_fields} == {"holder_name"}
    loads = catalog.list_loads()
    assert {(load.source_system, load.status) for load in loads} == {
        ("water_billing", "succeeded"),
        ("gas_billing", "failed"),
    }
    assert catalog.lineage("raw/water_billing").edges


def test_workers_keep_order_and_temporary_files_are_not_deliveries(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    folder = source_dir / "water"
    folder.mkdir()
    write_csv(folder / "YS_202401.csv", water_rows(5))
    write_csv(folder / "YS_202402.csv", water_rows(5, start=6))
    (folder / "~$YS_202403.csv").write_bytes(b"\x00lock")
    (folder / "YS_202404.csv.part").write_bytes(b"\x00partial")
    water = make_contract("kind: csv\npath: 'water/YS_*'")
    write_csv(source_dir / "gas.csv", water_rows(3))
    gas = make_contract("kind: csv\npath: gas.csv", system="gas_billing")
    summary = ingest_sources(workspace, [water, gas], workers=2)
    assert [(r.system, r.status, r.loads, r.rows_landed) for r in summary.results] == [
        ("water_billing", "ok", 2, 10),
        ("gas_billing", "ok", 1, 3),
    ]


class _BrokenCatalog:
    def record(self, contract: object, manifest: object, zone: object) -> None:
        raise RuntimeError("database is locked")


def test_a_failing_catalog_fails_the_source_but_keeps_the_data(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    write_csv(source_dir / "water.csv", water_rows(5))
    contract = make_contract("kind: csv\npath: water.csv")
    summary = ingest_sources(workspace, [contract], recorder=_BrokenCatalog())
    [result] = summary.results
    assert result.status == "failed" and result.error is not None
    assert "landed but the catalog was not updated" in result.error
    assert len(RawZone(workspace.lake, contract.id).partitions()) == 1


def test_a_load_the_catalog_missed_is_recorded_on_the_rerun(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    path = write_csv(source_dir / "water.csv", water_rows(5))
    contract = make_contract("kind: csv\npath: water.csv")
    first = load_file(workspace.lake, contract, path)  # as if killed before the catalog heard
    summary = ingest_sources(workspace, [contract], recorder=recorder_for(workspace))
    assert summary.results[0].skipped == 1
    catalog = Catalog.open(workspace.ops_db_url)
    assert catalog.get_load(first.load_id).rows_landed == 5
    ingest_sources(workspace, [contract], recorder=recorder_for(workspace))
    assert len(catalog.list_loads()) == 1


def test_stale_incremental_delivery_is_flagged(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    extra = "refresh: {mode: incremental, watermark: charge_date}\n"
    contract = make_contract("kind: csv\npath: 'water_*.csv'", extra=extra)
    newer = write_csv(source_dir / "water_1.csv", water_rows(30))
    older = write_csv(source_dir / "water_2.csv", water_rows(3))
    assert load_file(workspace.lake, contract, newer).warnings == []
    manifest = load_file(workspace.lake, contract, older)
    assert manifest.watermark is not None and "stale" in manifest.warnings[0]
