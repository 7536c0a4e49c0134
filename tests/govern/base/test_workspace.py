"""The resolve stage on a real workspace: ingested, standardised, then `build_workspace_base`."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from evaluate import pairwise

from citybrain.core.catalog import Catalog
from citybrain.core.workspace import Workspace
from citybrain.govern.base import build_workspace_base
from citybrain.govern.resolve import stability
from fixtures.tinycity import std_city_copy


@pytest.fixture(scope="module")
def std_workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Path]:
    workspace, sim, _ = std_city_copy(tmp_path_factory, tmp_path_factory.mktemp("basews"))
    return workspace, sim


@pytest.mark.duckdb
def test_the_workspace_base_is_built_from_std_and_recorded_with_lineage(
    std_workspace: tuple[Workspace, Path],
) -> None:
    workspace, sim = std_workspace
    steps: list[str] = []
    build = build_workspace_base(workspace, run_id="run-1", report=steps.append)
    assert steps[:2] == ["resolve persons", "resolve enterprises"] and "catalog" in steps
    assert {"person", "enterprise", "dwelling", "vehicle"} <= set(build.rows)
    assert "persons" in build.summary() and "source records" in build.summary()
    # The std tables standardisation wrote resolve as well as the test adapter's do.
    person = build.resolutions["person"]
    scores = pairwise(sim, "person", _links(workspace, "person"), person.golden_column)
    assert scores["precision"] >= 0.995 and scores["recall"] >= 0.95, scores
    catalog = Catalog.open(workspace.ops_db_url)
    try:
        graph = catalog.lineage("base/person", depth=2)
        upstream = {str(e.upstream) for e in graph.edges}
        assert {"base/person_link", "std/person_registration", "std/delivery"} <= upstream
        assert all(e.run_id == "run-1" for e in graph.edges if e.kind == "resolve")
        # The std tables list the address-base match standardisation added to them.
        columns = {c.name for c in catalog.get_dataset("std/person_registration").columns}
        assert {"address_id", "address_level", "grid_id"} <= columns
        assert catalog.get_dataset("base/vehicle").latest is not None
    finally:
        catalog.close()


@pytest.mark.duckdb
def test_a_second_run_is_incremental_and_keeps_every_golden_id(
    std_workspace: tuple[Workspace, Path],
) -> None:
    workspace, _ = std_workspace
    build_workspace_base(workspace)
    first = {kind: _id_map(workspace, kind) for kind in ("person", "enterprise")}
    again = build_workspace_base(workspace)
    for kind in ("person", "enterprise"):
        assert again.resolutions[kind].stats.get("new") == 0  # nothing new: nothing scored
        assert stability(first[kind], _id_map(workspace, kind)) == 1


def _links(workspace: Workspace, kind: str) -> pa.Table:
    """The links the build stored (a resolution reads them from the lake, through an engine
    `build_workspace_base` has closed by now)."""
    with workspace.engine() as engine:
        return engine.to_arrow(engine.table("base", f"{kind}_link"))


def _id_map(workspace: Workspace, kind: str) -> pa.Table:
    links = _links(workspace, kind)
    return links.select(["record_id", f"golden_{kind}_id"]).rename_columns(
        ["record_id", "golden_id"]
    )


REGISTRY = """\
id: town_registry
name: 企业名录
owner: 区市场监督管理局
connector: {kind: csv, path: %(dir)s/registry.csv, encoding: utf-8, delimiter: ",", header: true}
standard: enterprise_registration
mapping:
  columns:
    - {source: no, target: registration_id, type: string}
    - {source: firm, target: name, type: string}
    - {source: addr, target: address, type: string}
keys: [registration_id]
refresh: {mode: full, schedule: daily}
drift: fail
"""
GPS = """\
id: truck_gps
name: 车辆定位
owner: 区城管局
connector: {kind: csv, path: %(dir)s/gps.csv, encoding: utf-8, delimiter: ",", header: true}
standard: vehicle_ping
mapping:
  columns:
    - {source: pid, target: ping_id, type: string}
    - {source: plate, target: plate, type: string}
    - {source: t, target: ts, type: timestamp, formats: ['%%Y-%%m-%%d %%H:%%M:%%S']}
    - {source: x, target: lon, type: float64}
    - {source: y, target: lat, type: float64}
keys: [ping_id]
refresh: {mode: full, schedule: daily}
drift: fail
"""
SENSORS = """\
id: air_sensors
name: 空气质量
owner: 区生态环境局
connector: {kind: csv, path: %(dir)s/air.csv, encoding: utf-8, delimiter: ",", header: true}
standard: sensor_reading
mapping:
  columns:
    - {source: mid, target: message_id, type: string}
    - {source: sid, target: sensor_id, type: string}
    - {source: at, target: observed_at, type: timestamp, formats: ['%%Y-%%m-%%d %%H:%%M:%%S']}
    - {source: pm25, target: pm25, type: float64}
keys: [message_id]
refresh: {mode: full, schedule: daily}
drift: fail
"""


def _city_without_persons(root: Path) -> Workspace:
    """A workspace fed by an enterprise registry of names and addresses, a GPS feed of two
    trucks (plates written three ways) and an air-quality feed: no person anywhere."""
    data = root / "data"
    data.mkdir(parents=True)
    firms = ["天辉科技有限公司", "锦城餐饮店", "蓉新物流有限公司", "天辉科技有限公司"]
    lines = ["no,firm,addr"] + [
        f"R{i},{firm},成都市示例高新区天府大道{100 + i}号" for i, firm in enumerate(firms)
    ]
    (data / "registry.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    plates = ["川A·12345", "川a 12345", "川A12345", "川B-67890"]
    pings = ["pid,plate,t,x,y"] + [
        f"g{i},{plates[i % 4]},2024-03-01 08:{i // 60 % 60:02d}:{i % 60:02d},104.06,30.55"
        for i in range(2000)
    ]
    (data / "gps.csv").write_text("\n".join(pings) + "\n", encoding="utf-8")
    air = ["mid,sid,at,pm25"] + [
        f"m{i},S{i % 3},2024-03-01 {i % 24:02d}:00:00,35" for i in range(72)
    ]
    (data / "air.csv").write_text("\n".join(air) + "\n", encoding="utf-8")
    workspace = Workspace.init(root / "ws")
    sources = workspace.root / "sources"
    sources.mkdir(exist_ok=True)
    for name, text in (("registry", REGISTRY), ("gps", GPS), ("air", SENSORS)):
        (sources / f"{name}.yaml").write_text(text % {"dir": data}, encoding="utf-8")
    return workspace


@pytest.mark.duckdb
@pytest.mark.slow
def test_a_run_with_no_persons_finishes_says_what_it_skipped_and_counts_vehicles_by_plate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from citybrain.cli import ui
    from citybrain.cli.main import main

    monkeypatch.setattr(ui.console, "width", 2000)  # the summary's lines unwrapped
    workspace = _city_without_persons(tmp_path)
    main(["-w", str(workspace.root), "run"])
    out = " ".join(capsys.readouterr().out.split())
    assert "person: skipped (no person records: no row of enterprise_registration" in out, out
    assert "enterprise: exact identifiers only" in out, out
    assert "2,004 source records" in out, out  # 4 registrations, 2,000 pings
    assert "topic" in out and "cases" in out and "finished" in out, out  # the run went on
    with workspace.engine() as engine:
        vehicles = engine.to_arrow(engine.table("base", "vehicle"))
        enterprises = engine.to_arrow(engine.table("base", "enterprise"))
    assert sorted(vehicles["golden_vehicle_id"].to_pylist()) == ["V川A12345", "V川B67890"]
    assert sorted(vehicles["pings"].to_pylist()) == [500, 1500]
    assert enterprises.num_rows == 3  # the registered name repeated is one enterprise
