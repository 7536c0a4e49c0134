"""The resolve step builds only the base kinds whose inputs changed since it last did its work.

On the tiny city ingested and standardised: new taxi pings (a GPS source) rebuild vehicles and
leave the person, enterprise and dwelling tables' files as they were; a person source standardised
again redoes persons and dwellings (dwelling links read the person links); a base table removed is
built again. What the kept kinds leave behind equals a build of every kind.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from citybrain.core.catalog import Catalog
from citybrain.core.workspace import Workspace
from citybrain.govern.base import BASE_TABLES, build_workspace_base
from citybrain.govern.standardize import standardize_workspace
from citybrain.pipeline import run_pipeline
from fixtures.tinycity import std_city_copy
from pipeline.tinycity import checksum

pytestmark = [pytest.mark.slow, pytest.mark.duckdb, pytest.mark.timeout(1800)]

TAXI = "taxi_gps"
NEW_PLATE = "川AD99999"


def _files(workspace: Workspace, table: str) -> list[tuple[str, int, int]]:
    """The files of ``base/<table>``: path, size and modification time (ns)."""
    folder = workspace.lake / "base" / table
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    )


def _tables(kinds: tuple[str, ...]) -> list[str]:
    return [table for kind in kinds for table in BASE_TABLES[kind]]


def _state(workspace: Workspace) -> dict[str, tuple[list[tuple[str, int, int]], tuple[int, str]]]:
    """Per base table: its files and its rows' checksum."""
    with workspace.engine() as engine:
        return {
            table: (
                _files(workspace, table),
                checksum(engine.to_arrow(engine.table("base", table))),
            )
            for table in _tables(tuple(BASE_TABLES))
        }


def _resolve(workspace: Workspace) -> tuple[str, str]:
    """Run the resolve step alone; the run's id and the step's summary."""
    run = run_pipeline(workspace, only="resolve")
    (step,) = run.steps
    assert run.status == "succeeded", step
    return run.run_id, step.summary


def _deliver_new_pings(workspace: Workspace, sim: Path, folder: Path) -> int:
    """The taxi company's deliveries in a folder of the test's own, then 1 % new pings a day
    after its latest, one of them from a taxi never seen; the rows delivered."""
    shutil.copytree(sim / TAXI, folder)
    contract = workspace.root / "sources" / f"{TAXI}.yaml"
    spec = yaml.safe_load(contract.read_text("utf-8"))
    spec["connector"]["path"] = str(folder / Path(spec["connector"]["path"]).name)
    contract.write_text(yaml.safe_dump(spec, allow_unicode=True), "utf-8")
    files = sorted(folder.glob("*.parquet"))
    total = sum(pq.read_metadata(f).num_rows for f in files)
    latest = pq.read_table(files[-1])
    new = latest.slice(latest.num_rows - total // 100)
    ids = pc.binary_join_element_wise(pa.scalar("NEW"), new.column("gps_id"), "")
    plates = pa.array([NEW_PLATE, *new.column("car_no").to_pylist()[1:]])
    moved = pc.add(new.column("gps_time"), pa.scalar(86_400_000, pa.int64()))
    for name, column in (("gps_id", ids), ("car_no", plates), ("gps_time", moved)):
        new = new.set_column(new.schema.get_field_index(name), name, column)
    pq.write_table(new, folder / "taxi_2023-04.parquet")
    return int(new.num_rows)


def test_the_resolve_step_rebuilds_only_the_kinds_whose_inputs_changed(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    workspace, sim, _ = std_city_copy(tmp_path_factory, tmp_path)
    first_run, first = _resolve(workspace)  # nothing recorded: every kind
    assert "unchanged (kept)" not in first and "persons" in first and "vehicles" in first
    built = _state(workspace)
    with workspace.engine() as engine:
        pings_before = engine.to_arrow(engine.table("base", "vehicle"))["pings"]

    # New pings of a GPS source: vehicles only.
    delivered = _deliver_new_pings(workspace, sim, tmp_path / TAXI)
    assert run_pipeline(workspace, only=f"ingest:{TAXI}").status == "succeeded"
    standardize_workspace(workspace, tables=["vehicle_ping"])
    second_run, summary = _resolve(workspace)
    assert "person, enterprise, dwelling unchanged (kept)" in summary, summary
    after = _state(workspace)
    for table in _tables(("person", "enterprise", "dwelling")):
        assert after[table] == built[table], f"base/{table} was touched"
    assert after["vehicle"][0] != built["vehicle"][0]
    with workspace.engine() as engine:
        vehicles = engine.to_arrow(engine.table("base", "vehicle"))
    assert f"V{NEW_PLATE}" in vehicles["golden_vehicle_id"].to_pylist()
    assert pc.sum(vehicles["pings"]).as_py() == pc.sum(pings_before).as_py() + delivered

    # The catalog keeps the kept kinds' entries and lineage; the vehicles' is this run's.
    catalog = Catalog.open(workspace.ops_db_url)
    try:
        person = catalog.lineage("base/person_link", depth=1)
        assert {str(e.upstream) for e in person.edges} >= {"std/person_registration"}
        assert {e.run_id for e in person.edges if e.kind == "resolve"} == {first_run}
        dwelling = catalog.lineage("base/dwelling_link", depth=1)
        assert {"base/person_link", "base/enterprise_link"} <= {
            str(e.upstream) for e in dwelling.edges
        }
        vehicle = catalog.lineage("base/vehicle", depth=1)
        assert {e.run_id for e in vehicle.edges if e.kind == "resolve"} == {second_run}
    finally:
        catalog.close()

    # A person source standardised again: persons and dwellings (which read the person links).
    standardize_workspace(workspace, tables=["test_record"])
    _, summary = _resolve(workspace)
    assert "enterprise, vehicle unchanged (kept)" in summary, summary
    again = _state(workspace)
    for table in _tables(("enterprise", "vehicle")):
        assert again[table] == after[table], f"base/{table} was touched"
    for table in ("person", "dwelling"):
        assert again[table][0] != after[table][0], f"base/{table} was not built again"
    assert {t: s[1] for t, s in again.items()} == {t: s[1] for t, s in after.items()}

    # A base table removed is built again, alone.
    shutil.rmtree(workspace.lake / "base" / "vehicle")
    _, summary = _resolve(workspace)
    assert "person, enterprise, dwelling unchanged (kept)" in summary, summary
    rebuilt = _state(workspace)
    assert rebuilt["vehicle"][1] == again["vehicle"][1]

    # Nothing changed: nothing built.
    _, summary = _resolve(workspace)
    assert "every base table kept" in summary, summary
    assert _state(workspace) == rebuilt

    # What the kept kinds left equals a build of every kind from the same std tables.
    build_workspace_base(workspace)
    full = _state(workspace)
    assert {t: s[1] for t, s in full.items()} == {t: s[1] for t, s in rebuilt.items()}
