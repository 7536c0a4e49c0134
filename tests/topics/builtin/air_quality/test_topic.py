"""The air-quality topic end to end on a synthetic city's air stations: ingested and standardised,
run as a plugin, evaluated against the truth (the targets of issue 24), routed to the
environment bureau."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.compute as pc
import pytest

from citybrain.cli.main import main
from citybrain.core import Workspace
from citybrain.core.catalog import Catalog
from citybrain.topics import get_topic
from citybrain.topics.runner import latest_findings, run_topic

pytestmark = pytest.mark.slow
SEED = 3
SYSTEMS = ["air_quality_sensors", "muck_transport_permits"]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from citybrain.sim.generate import generate

    folder = tmp_path_factory.mktemp("air-city") / "city"
    generate("small", SEED, folder, systems=SYSTEMS)
    return folder


@pytest.fixture(scope="module")
def workspace(city: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    from citybrain.govern.standardize import standardize_workspace
    from citybrain.ingest import ingest_sources, recorder_for
    from citybrain.ingest.simsources import write_sim_sources

    workspace = Workspace.init(tmp_path_factory.mktemp("air-ws") / "ws")
    sources = workspace.root / "sources"
    write_sim_sources(sources, city)
    # The demo streams the readings over MQTT; the same files are read here without a broker.
    contract = sources / "air_quality_sensors.yaml"
    text = contract.read_text("utf-8")
    files = city / "air_quality_sensors" / "data" / "air_*.parquet"
    text = re.sub(
        r"connector:\n(  .*\n)+", f"connector:\n  kind: parquet\n  path: {files}\n", text, count=1
    )
    contract.write_text(text, "utf-8")
    names = ["air_quality_sensors", "air_quality_stations", "construction_sites"]
    summary = ingest_sources(
        workspace, [sources / f"{n}.yaml" for n in names], recorder=recorder_for(workspace)
    )
    assert [r.status for r in summary.results] == ["ok"] * 3
    standardize_workspace(workspace)
    catalog = Catalog.open(workspace.ops_db_url)
    try:
        with workspace.engine() as engine:
            run_topic(get_topic("air_quality"), workspace, engine, catalog)
    finally:
        catalog.close()
    return workspace


def test_findings_explain_pollution_faults_and_alerts(workspace: Workspace) -> None:
    with workspace.engine() as engine:
        findings = latest_findings(engine, "air_quality")
        daily = engine.to_arrow(engine.table("topic", "air_quality_station_daily"))
    assert findings.num_rows > 0
    # every station's daily AQI is stored for the map and the report: 12 stations, 365 days
    assert daily.num_rows == 12 * 365
    assert set(daily["category_zh"].drop_null().to_pylist()) <= {
        "优", "良", "轻度污染", "中度污染", "重度污染", "严重污染",
    }  # fmt: skip
    signals = {r["signal"] for reasons in findings["reasons"].to_pylist() for r in reasons}
    assert {"excess_so2", "excess_pm10", "fault_stuck", "fault_drift"} <= signals
    # a fault is shown below the threshold (level low), so it never opens a pollution case
    for row in findings.to_pylist():
        kinds = {r["signal"] for r in row["reasons"]}
        if any(k.startswith("fault_") for k in kinds):
            assert row["level"] == "low" and row["score"] < 0.5
            assert not any(k.startswith("excess_") for k in kinds)


def test_cases_go_to_the_environment_bureau(workspace: Workspace) -> None:
    from citybrain.cases import department_hints, dry_run

    with workspace.engine() as engine:
        findings = latest_findings(engine, "air_quality")
    routed = dry_run(findings, hints=department_hints([get_topic("air_quality")]))
    assert routed.num_rows == pc.sum(pc.greater_equal(findings["score"], 0.5)).as_py()
    assert set(routed["department"].to_pylist()) == {"区生态环境局"}


def test_evaluate_meets_the_targets(
    workspace: Workspace, city: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = str(city / "truth")
    main(
        ["-w", str(workspace.root), "topic", "evaluate", "air_quality", "--truth", truth, "--json"]
    )
    result = json.loads(capsys.readouterr().out)
    assert result["episode_f1"] >= 0.9
    assert result["source_kind_accuracy"] >= 0.8
    assert result["faulty_sensor_f1"] >= 0.9
    assert result["extra"]["faults_reported_as_pollution"] == 0


def test_evaluate_scores_nothing_found_as_zero(city: Path) -> None:
    """The scoring itself can fail: no detections score zero."""
    import pandas as pd

    from citybrain.topics.builtin.air_quality.evaluate import score_episodes, score_faults

    empty = pd.DataFrame(
        {
            "sensor_id": pd.Series(dtype=str),
            "start": pd.Series(dtype="datetime64[ns]"),
            "end": pd.Series(dtype="datetime64[ns]"),
            "source_kind": pd.Series(dtype=str),
        }
    )
    assert score_episodes(empty, city / "truth")["f1"] == 0.0
    assert score_faults(empty, empty, city / "truth")["faulty_sensor_f1"] == 0.0
