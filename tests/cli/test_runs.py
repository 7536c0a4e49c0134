"""`citybrain runs`: the run history as tables, and as one JSON array with each run's steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citybrain.cli.main import main
from citybrain.core.catalog import Catalog, PipelineStepOutcome
from citybrain.core.workspace import Workspace


def test_runs_lists_each_run_with_its_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    main(["-w", str(workspace.root), "runs"])
    assert "no pipeline runs yet" in capsys.readouterr().out
    catalog = Catalog.open(workspace.ops_db_url)
    catalog.start_pipeline_run("run", run_id="r1", plan=["standardize", "resolve"])
    step = catalog.start_pipeline_step("r1", "standardize", position=0)
    catalog.finish_pipeline_step(
        step.id,
        PipelineStepOutcome(status="succeeded", seconds=2.25, rows_in=1200, rows_out=1100,
                            peak_rss_bytes=300 * 2**20, summary="24 std tables"),
    )  # fmt: skip
    catalog.start_pipeline_step("r1", "resolve", position=1)
    catalog.finish_pipeline_run("r1", status="failed", error_message="resolve: killed")
    catalog.start_pipeline_run("run --only cases", run_id="r2", plan=["cases"])
    catalog.close()

    main(["-w", str(workspace.root), "runs", "--json"])
    runs = json.loads(capsys.readouterr().out)
    assert [run["run_id"] for run in runs] == ["r2", "r1"]
    first = runs[1]
    assert (first["status"], first["error_message"]) == ("failed", "resolve: killed")
    assert [(s["name"], s["status"]) for s in first["steps"]] == [
        ("standardize", "succeeded"),
        ("resolve", "running"),
    ]
    assert first["steps"][0]["rows_out"] == 1100 and first["steps"][0]["seconds"] == 2.25
    assert runs[0]["steps"] == []

    main(["-w", str(workspace.root), "runs", "-n", "1"])
    out = capsys.readouterr().out
    assert "r2" in out and "r1" not in out
    main(["-w", str(workspace.root), "runs"])
    out = capsys.readouterr().out
    assert "1,100" in out and "300" in out and "2.2" in out and "standardize" in out
