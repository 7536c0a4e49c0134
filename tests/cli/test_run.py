"""`citybrain run`: the resolve stage between quality and topics, on a standardised tiny city."""

from __future__ import annotations

from pathlib import Path

import pytest

from citybrain.cli import run
from citybrain.cli.main import main
from citybrain.core.engine import create_engine_for
from citybrain.govern.standardize import standardize_workspace
from govern.standardize.city import ingested_city


def test_resolve_runs_after_quality_and_before_topics() -> None:
    names = [stage.name for stage in run.STAGES]
    assert names.index("quality") < names.index("resolve") < names.index("topics")


@pytest.mark.duckdb
@pytest.mark.slow
def test_the_resolve_stage_builds_the_base_zone_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace, _ = ingested_city(tmp_path)
    standardize_workspace(workspace)
    # Earlier stages have their own tests; here the pipeline is only the resolve stage.
    monkeypatch.setattr(run, "STAGES", [s for s in run.STAGES if s.name == "resolve"])
    capsys.readouterr()
    main(["-w", str(workspace.root), "run"])
    out = capsys.readouterr().out
    assert "resolve" in out and "persons" in out and "source records" in out
    with create_engine_for(workspace) as engine:
        for table in ("person", "person_link", "enterprise", "dwelling", "vehicle"):
            assert engine.exists("base", table), table
