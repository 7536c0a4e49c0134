"""Quality scores: they respond to planted dirt, and the tiny city's report renders."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from citybrain.cli.quality import quality_command
from citybrain.cli.state import state
from citybrain.core.engine import Engine
from citybrain.core.stdmodel import STD_TABLES
from citybrain.core.workspace import Workspace
from citybrain.govern.quality import QualityReport, assess, quality_report
from citybrain.govern.standardize import Rules, standardize_table
from fixtures.tinycity import std_city_copy
from govern.standardize.handmade import person_rows, raw_source, write_load

STD = STD_TABLES["person_registration"]
NOW = datetime(2026, 1, 10, tzinfo=UTC)


def _score(engine: Engine, dirt: float) -> QualityReport:
    lake = engine.lake_root
    write_load(lake, f"load-{int(dirt * 100)}", person_rows(200, dirt=dirt, seed=9), minute=1)
    source = raw_source(lake)
    standardize_table(engine, STD, [source], rules=Rules())
    return assess(engine, {STD.name: [source]}, now=NOW)


@pytest.mark.duckdb
def test_more_dirt_lowers_the_score(tmp_path: Path) -> None:
    from citybrain.core.engine import open_engine

    scores = []
    for dirt in (0.02, 0.3):
        with open_engine("duckdb", tmp_path / f"d{dirt}", database=":memory:") as engine:
            scores.append(_score(engine, dirt))
    clean, dirty = (r.source("hukou_test") for r in scores)
    assert clean.score > dirty.score + 3
    assert clean.dimensions["validity"] > dirty.dimensions["validity"]
    assert clean.dimensions["completeness"] > dirty.dimensions["completeness"]
    id_field = next(f for f in dirty.fields if f.column == "id_number")
    assert 0.6 < id_field.validity < 0.8
    assert any(a.dimension == "validity:id_number" for a in scores[1].alerts)
    assert not any(a.dimension == "score" for a in scores[0].alerts)
    assert all(a.zh and a.en for a in scores[1].alerts)


def test_same_scores_on_both_engines(engine: Engine) -> None:
    report = _score(engine, 0.3)
    source = report.source("hukou_test")
    assert source.rows == 200 and source.trend and source.trend[-1].rows == 200
    assert source.dimensions["timeliness"] == 1.0  # loaded nine days before NOW, monthly


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    workspace, _, _ = std_city_copy(tmp_path_factory, tmp_path_factory.mktemp("qcity"))
    return workspace


@pytest.mark.duckdb
def test_tiny_city_report_and_cli(city: Workspace) -> None:
    report = quality_report(city)
    systems = {s.system for s in report.sources}
    assert {"police_household", "water_utility", "market_registry"} <= systems
    assert all(0 <= s.score <= 100 for s in report.sources)
    tax = report.source("tax_declarations")
    assert tax.consistency and tax.consistency[0].compared > 0
    assert len(report.rows()) == len(report.sources)
    app = typer.Typer()
    app.command()(quality_command)
    state.workspace = city.root
    result = CliRunner().invoke(app, ["--json", "--source", "water_utility"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["system"] for s in data["sources"]] == ["water_utility"]
    table = CliRunner().invoke(app, [])
    assert table.exit_code == 0 and "data quality" in table.output


@pytest.mark.duckdb
def test_scores_and_alerts_are_stored(city: Workspace) -> None:
    from citybrain.core.opsdb import upgrade
    from citybrain.govern.quality import recent_alerts, score_history

    upgrade(city.ops_db_url)
    first = quality_report(city, record=True)
    quality_report(city, record=True)
    history = score_history(city.ops_db_url, "water_utility")
    assert len(history) == 2 and history[0].score == first.source("water_utility").score
    assert len(recent_alerts(city.ops_db_url)) == 2 * len(first.alerts)
