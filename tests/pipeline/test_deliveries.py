"""An ingest step of a source delivered as files is skipped while its contract and files are as
they were when it last did its work; a new or rewritten file, or an edited contract, runs it and
lands what is new. A source asked for its rows (a database) runs every time."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from citybrain.core.catalog import Catalog
from citybrain.core.workspace import Workspace
from citybrain.pipeline import Graph, Step, run_pipeline
from citybrain.pipeline.deliveries import deliveries_stamp, delivers_files
from citybrain.pipeline.steps import ingest_step, migrate

pytestmark = pytest.mark.duckdb

CONTRACT = (
    "id: air\nname: 空气质量\nowner: 生态环境局\nconnector: {kind: csv, path: 'air/*.csv'}\n"
    "standard: sensor_reading\nrefresh: {schedule: hourly}\nkeys: [sensor_id, ts]\n"
    "mapping:\n  columns:\n"
    "    - {source: ts, target: ts, type: timestamp, formats: ['%Y-%m-%d %H:%M']}\n"
    "    - {source: station, target: sensor_id}\n"
    "    - {source: pm25, target: pm25, type: float64}\n"
)


def _deliver(folder: Path, day: int) -> Path:
    folder.mkdir(exist_ok=True)
    rows = ["ts,station,pm25"] + [f"2026-03-{day:02d} {h:02d}:00,东四,{10 + h}" for h in range(6)]
    path = folder / f"air-{day:02d}.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _workspace(tmp_path: Path) -> tuple[Workspace, Path]:
    workspace = Workspace.init(tmp_path / "ws")
    sources = workspace.root / "sources"
    sources.mkdir(exist_ok=True)
    contract = sources / "air.yaml"
    contract.write_text(CONTRACT, encoding="utf-8")
    _deliver(sources / "air", 1)
    return workspace, contract


def _ran(workspace: Workspace, graph: Graph) -> dict[str, str]:
    """Each step of a plain run: 'skipped', or its summary."""
    summary = run_pipeline(workspace, graph=graph)
    assert summary.status == "succeeded", summary.steps
    return {r.name: "skipped" if r.skipped else r.summary for r in summary.steps}


def _landed(workspace: Workspace) -> int:
    with Catalog.open(workspace.ops_db_url) as catalog:
        (system,) = catalog.list_systems()
    return system.rows_landed


def test_an_unchanged_delivery_is_skipped_and_a_new_or_rewritten_file_is_landed(
    tmp_path: Path,
) -> None:
    workspace, contract = _workspace(tmp_path)
    graph = Graph([Step("migrate", "", migrate, writes=("ops/schema",), incremental=False),
                   ingest_step(contract)])  # fmt: skip
    assert graph["ingest:air"].incremental
    assert "1 loads, 6 rows landed" in _ran(workspace, graph)["ingest:air"]
    assert _ran(workspace, graph)["ingest:air"] == "skipped"  # nothing new: not even looked at

    _deliver(contract.parent / "air", 2)  # the next day's file
    assert (
        "1 loads, 6 rows landed, 0 quarantined, 1 already landed"
        in (_ran(workspace, graph)["ingest:air"])
    )
    assert _landed(workspace) == 12
    assert _ran(workspace, graph)["ingest:air"] == "skipped"

    # the same file written again, the same bytes: it runs, and lands nothing twice
    again = _deliver(contract.parent / "air", 2)
    os.utime(again, ns=(again.stat().st_atime_ns, again.stat().st_mtime_ns + 10**9))
    assert (
        "0 loads, 0 rows landed, 0 quarantined, 2 already landed"
        in (_ran(workspace, graph)["ingest:air"])
    )
    # an edited contract runs it too
    contract.write_text(CONTRACT + "description: 每小时一次\n", encoding="utf-8")
    assert _ran(workspace, graph)["ingest:air"] != "skipped"
    assert _ran(workspace, graph)["ingest:air"] == "skipped"
    assert _landed(workspace) == 12


def test_the_stamp_follows_the_files_the_contract_matches(tmp_path: Path) -> None:
    _, contract = _workspace(tmp_path)
    first = deliveries_stamp(contract)
    assert deliveries_stamp(contract) == first
    (contract.parent / "air" / "notes.txt").write_text("not a delivery", encoding="utf-8")
    assert deliveries_stamp(contract) == first  # not matched by air/*.csv
    _deliver(contract.parent / "air", 2)
    second = deliveries_stamp(contract)
    assert second != first
    (contract.parent / "air" / "air-01.csv").unlink()
    assert deliveries_stamp(contract) not in (first, second)
    # a path without a glob, relative to the contract's folder
    contract.write_text(CONTRACT.replace("'air/*.csv'", "air/air-02.csv"), encoding="utf-8")
    single = deliveries_stamp(contract)
    _deliver(contract.parent / "air", 3)
    assert deliveries_stamp(contract) == single  # another file than the one named
    os.utime(contract.parent / "air" / "air-02.csv", ns=(0, 0))
    assert deliveries_stamp(contract) != single


def test_a_source_asked_for_its_rows_runs_every_time(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    database = sources / "tax.yaml"
    database.write_text(
        "id: tax\nname: 税务\nowner: 税务局\n"
        "connector: {kind: sql, url_env: TAX_DB_URL, query: 'select * from t'}\n",
        encoding="utf-8",
    )
    broken = sources / "broken.yaml"
    broken.write_text("id: [unclosed\n", encoding="utf-8")
    for contract in (database, broken, sources / "gone.yaml"):
        assert not delivers_files(contract)
        step = ingest_step(contract)
        assert not step.incremental and step.stamp is None
    assert delivers_files(tmp_path / "x.yaml") is False
