"""The standardize step appends the rows of new loads to a std table when no row already there can
change, and the table then equals a rebuild of the same inputs; a new load that re-delivers a key
makes the step rebuild the table.

On the tiny city ingested and standardised: a new month of electricity readings (two loads, the
second correcting some of the first's readings, one of them twice) and new taxi pings are appended
to ``std.utility_reading`` (three systems, matched addresses) and ``std.vehicle_ping``; then taxi
pings delivered again rebuild ``std.vehicle_ping``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from citybrain.core.workspace import Workspace
from citybrain.govern.standardize import standardize_workspace
from citybrain.pipeline import run_pipeline
from fixtures.tinycity import copy_workspace, std_city_copy
from pipeline.tinycity import checksum

pytestmark = [pytest.mark.slow, pytest.mark.duckdb, pytest.mark.timeout(1800)]

TABLES = ("utility_reading", "vehicle_ping")
NEW_ADDRESS = "成都市示例高新区天府六街32号1栋1单元999号"


def _own_deliveries(workspace: Workspace, sim: Path, system: str, root: Path) -> Path:
    """The system's deliveries in a folder of the test's own, so that it can deliver more."""
    folder = root / system
    shutil.copytree(sim / system, folder)
    contract = workspace.root / "sources" / f"{system}.yaml"
    spec = yaml.safe_load(contract.read_text("utf-8"))
    spec["connector"]["path"] = str(folder / Path(spec["connector"]["path"]).name)
    contract.write_text(yaml.safe_dump(spec, allow_unicode=True), "utf-8")
    return folder


def _with(table: pa.Table, **columns: pa.Array | list[object]) -> pa.Table:
    for name, values in columns.items():
        column = values if isinstance(values, pa.Array) else pa.array(values)
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table


def _deliver_power(folder: Path) -> None:
    """April's readings (new keys, one at an address never seen), then a correction of three of
    them (they supersede April's), one delivered twice in the same file: 347 + 4 rows."""
    march = pq.read_table(folder / "consumption_202303.parquet")
    ids = pc.replace_substring(march["record_id"], "-202303", "-202304")
    addresses = [NEW_ADDRESS, *march["elec_addr"].to_pylist()[1:]]
    dates = pc.replace_substring(march["read_date"], "202303", "202304")
    april = _with(march, record_id=ids, ym=["2023-04"] * march.num_rows, elec_addr=addresses,
                  read_date=dates)  # fmt: skip
    pq.write_table(april, folder / "consumption_202304.parquet")
    fix = april.take([0, 1, 2, 2])
    fix = _with(fix, kwh=pc.add(fix["kwh"], pa.scalar(1.0)))
    pq.write_table(fix, folder / "consumption_202304_fix.parquet")


def _third_april_id(folder: Path) -> str:
    return str(pq.read_table(folder / "consumption_202304.parquet")["record_id"][2].as_py())


def _deliver_taxi(folder: Path, name: str, *, again: bool) -> None:
    """1 % of the pings as a new file: new pings a day later, or (``again``) the same pings."""
    files = sorted(folder.glob("taxi_2023-0[123].parquet"))  # the sim city's own
    total = sum(pq.read_metadata(f).num_rows for f in files)
    latest = pq.read_table(files[-1])
    new = latest.slice(latest.num_rows - total // 100)
    if not again:
        ids = pc.binary_join_element_wise(pa.scalar("NEW"), new["gps_id"], "")
        new = _with(new, gps_id=ids, gps_time=pc.add(new["gps_time"], pa.scalar(86_400_000)))
    pq.write_table(new, folder / name)


def _ingest(workspace: Workspace, *systems: str) -> None:
    for system in systems:
        assert run_pipeline(workspace, only=f"ingest:{system}").status == "succeeded"


def _standardize(workspace: Workspace) -> str:
    """Run the standardize step alone; its summary."""
    run = run_pipeline(workspace, only="standardize")
    (step,) = run.steps
    assert run.status == "succeeded", step
    assert "do NOT reconcile" not in step.summary, step.summary
    return step.summary


def _files(workspace: Workspace, table: str) -> set[tuple[str, int, int]]:
    folder = workspace.lake / "std" / table
    return {(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.glob("*.parquet")}


def _checksums(workspace: Workspace) -> dict[str, tuple[int, str]]:
    with workspace.engine() as engine:
        return {t: checksum(engine.to_arrow(engine.table("std", t))) for t in TABLES}


def _rebuilt(workspace: Workspace, copy: Path) -> dict[str, tuple[int, str]]:
    """The tables rebuilt whole from the same raw loads, in a copy of the workspace."""
    shutil.rmtree(copy, ignore_errors=True)
    other = copy_workspace(workspace.root, copy)
    result = standardize_workspace(other, tables=list(TABLES))
    assert result.reconciled and all(t.appended is None for t in result.tables)
    return _checksums(other)


def test_new_loads_are_appended_and_the_table_equals_a_rebuild(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    workspace, sim, _ = std_city_copy(tmp_path_factory, tmp_path)
    power = _own_deliveries(workspace, sim, "power_grid", tmp_path)
    taxi = _own_deliveries(workspace, sim, "taxi_gps", tmp_path)
    assert "appended" not in _standardize(workspace)  # nothing recorded: every table rebuilt

    _deliver_power(power)
    _deliver_taxi(taxi, "taxi_2023-04.parquet", again=False)
    _ingest(workspace, "power_grid", "taxi_gps")
    before = {t: _files(workspace, t) for t in TABLES}
    summary = _standardize(workspace)
    assert "2 std tables" in summary, summary
    assert "appended to utility_reading +351, vehicle_ping +" in summary, summary
    for table in TABLES:  # appended: the table's files are still there, one more beside them
        assert before[table] < _files(workspace, table), table
    appended = _checksums(workspace)
    with workspace.engine() as engine:
        readings = engine.to_arrow(engine.table("std", "utility_reading"))
    fixed = readings.filter(pc.equal(readings["reading_id"], "30001000063-202304")).to_pylist()
    assert len(fixed) == 1 and fixed[0]["usage"] == 111.0  # the correction superseded April's
    twice = readings.filter(pc.equal(readings["reading_id"], _third_april_id(power)))
    flags = [f for fs in twice["quality_flags"].to_pylist() for f in fs]
    assert twice.num_rows == 2 and flags.count("record_key:duplicate") == 1
    assert _standardize(workspace) == "no std table has new loads"
    assert _rebuilt(workspace, tmp_path / "rebuilt") == appended

    # Pings delivered again supersede std rows: the table is rebuilt, and equals a rebuild.
    _deliver_taxi(taxi, "taxi_2023-04_again.parquet", again=True)
    _ingest(workspace, "taxi_gps")
    summary = _standardize(workspace)
    assert "1 std tables" in summary and "appended" not in summary, summary
    superseded = _checksums(workspace)
    assert superseded["vehicle_ping"][0] == appended["vehicle_ping"][0]  # replaced, not added
    assert _rebuilt(workspace, tmp_path / "rebuilt") == superseded
