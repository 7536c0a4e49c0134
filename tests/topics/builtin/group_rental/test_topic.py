"""The group-rental topic end to end on the tiny city: run_topic on DuckDB (and Spark, with the
same findings), reasons a clerk can check, evaluation keys, and the supervised takeover."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from citybrain.core import Workspace
from citybrain.core.catalog import Catalog
from citybrain.core.engine import open_engine
from citybrain.topics import TopicContext, get_topic, validate_findings
from citybrain.topics.builtin.group_rental import GroupRental, GroupRentalParams
from citybrain.topics.builtin.group_rental.topic import score_dwellings
from citybrain.topics.runner import check_inputs, latest_findings, run_topic

# The tiny city has one group rental over three months; a low threshold makes findings to read.
LOW = GroupRentalParams(threshold=0.05, high=0.5)


def _ctx(
    workspace: Workspace, engine: Any, params: GroupRentalParams, **extra: Any
) -> TopicContext:
    return TopicContext(
        workspace=workspace,
        engine=engine,
        run_id="test",
        params=params,
        model_version="group_rental-1",
        **extra,
    )


def test_the_topic_is_installed_and_its_inputs_are_in_the_catalog(
    tiny_std_workspace: Workspace,
) -> None:
    topic = get_topic("group_rental")
    assert isinstance(topic, GroupRental)
    catalog = Catalog.open(tiny_std_workspace.ops_db_url)
    assert check_inputs(topic, catalog).passed
    assert topic.map_layers()[0].kind == "points"
    assert topic.overview_tiles()


@pytest.mark.duckdb
def test_runs_end_to_end_on_duckdb_with_reasons(tiny_std_workspace: Workspace) -> None:
    catalog = Catalog.open(tiny_std_workspace.ops_db_url)
    topic = GroupRental()
    with tiny_std_workspace.engine() as engine:
        result = run_topic(topic, tiny_std_workspace, engine, catalog, params=LOW, run_id="low")
        findings = latest_findings(engine, "group_rental")
    assert result.findings == findings.num_rows > 0
    validate_findings(findings)
    for finding in findings.to_pylist():
        assert finding["subject_type"] == "dwelling"
        assert finding["lon"] is not None and 100 < finding["lon"] < 110
        assert finding["grid_id"] and finding["street_id"]
        reasons = finding["reasons"]
        assert reasons and all(r["text_zh"] and r["text_en"] for r in reasons)
        contributions = [r["contribution"] for r in reasons]
        assert contributions == sorted(contributions, reverse=True)
        gap = [r for r in reasons if r["signal"] == "occupancy_gap"]
        if gap:  # "water and gas imply about 9 occupants; 1 registered"
            assert gap[0]["observed"] > gap[0]["expected"]
            assert "登记人口" in gap[0]["text_zh"]


@pytest.mark.duckdb
def test_default_threshold_flags_nothing_odd(tiny_std_workspace: Workspace) -> None:
    with tiny_std_workspace.engine() as engine:
        scored = score_dwellings(_ctx(tiny_std_workspace, engine, GroupRentalParams()))
    assert len(scored.frame) == scored.frame[["address_id", "period"]].drop_duplicates().shape[0]
    assert ((scored.score >= 0) & (scored.score < 1)).all()
    assert (scored.score >= 0.5).mean() < 0.02  # findings are rare


@pytest.mark.spark
def test_spark_gives_the_same_findings(
    tiny_std_workspace: Workspace, spark_session: Any, tmp_path: Path
) -> None:
    topic = GroupRental()
    found = {}
    for kind in ("duckdb", "spark"):
        engine = open_engine(kind, tiny_std_workspace.lake, database=tmp_path / f"{kind}.duckdb")
        try:
            found[kind] = topic.run(_ctx(tiny_std_workspace, engine, LOW))
        finally:
            engine.close()
    duck, spark = (
        t.select(["subject_id", "period", "score"]).sort_by(
            [("subject_id", "ascending"), ("period", "ascending")]
        )
        for t in (found["duckdb"], found["spark"])
    )
    assert duck.num_rows > 0
    assert duck.column("subject_id").equals(spark.column("subject_id"))
    assert duck.column("period").equals(spark.column("period"))
    assert np.allclose(duck.column("score").to_numpy(), spark.column("score").to_numpy())


@pytest.mark.duckdb
def test_evaluate_prints_the_keys(
    tiny_std_workspace: Workspace, tiny_truth: Path, tmp_path: Path
) -> None:
    from citybrain.cli.main import app
    from fixtures.tinycity import copy_workspace

    # the city's own threshold ([topics.group_rental]) is the one evaluated, as its runs use it
    city = copy_workspace(tiny_std_workspace.root, tmp_path / "ws")
    with (city.root / "citybrain.toml").open("a", encoding="utf-8") as toml:
        toml.write("\n[topics.group_rental]\nthreshold = 0.65\n")
    result = CliRunner().invoke(
        app,
        [
            "-w",
            str(city.root),
            "topic",
            "evaluate",
            "group_rental",
            "--truth",
            str(tiny_truth),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    for key in ("precision", "recall", "f1", "precision_at_100", "baselines"):
        assert key in figures
    assert set(figures["baselines"]) == {"electricity_threshold", "isolation_forest"}
    assert figures["threshold"] == 0.65
    assert Path(figures["extra"]["pr_curve_png"]).is_file()
    assert json.loads(Path(figures["extra"]["json"]).read_text("utf-8"))["topic"] == "group_rental"
    # Kept as the topic's latest evaluation, for its web page.
    from citybrain.topics.evaluation_store import load_evaluation

    stored = load_evaluation(city, "group_rental")
    assert stored is not None and stored.f1 == figures["f1"]
    assert stored.extra["model_version"] and stored.extra["evaluated_at"]


@pytest.mark.duckdb
def test_case_outcomes_hand_the_score_to_the_supervised_model(
    tiny_std_workspace: Workspace, tiny_truth: Path
) -> None:
    truth = pa.parquet.read_table(tiny_truth / "group_rental.parquet")
    rng = np.random.default_rng(1)
    pick = np.sort(rng.choice(truth.num_rows, 150, replace=False))
    positives = pc.equal(truth.column("group_rental"), True)
    pick = np.union1d(pick, np.flatnonzero(positives.to_numpy(zero_copy_only=False)))
    sample = truth.take(pa.array(pick))
    labels = pa.table(
        {
            "subject_id": sample.column("address_id"),
            "period": sample.column("month"),
            "label": pc.cast(sample.column("group_rental"), pa.int8()),
        }
    )
    topic = GroupRental()
    with tiny_std_workspace.engine() as engine:
        findings = topic.run(_ctx(tiny_std_workspace, engine, LOW, labels=labels))
    assert findings.num_rows and all(
        v.endswith("-lgbm") for v in findings.column("model_version").to_pylist()
    )


@pytest.mark.duckdb
def test_rows_hold_codes_not_repeated_texts_and_find_their_dwellings_place(
    tiny_std_workspace: Workspace,
) -> None:
    with tiny_std_workspace.engine() as engine:
        scored = score_dwellings(_ctx(tiny_std_workspace, engine, GroupRentalParams()))
        dwellings = engine.to_arrow(
            engine.table("std", "standard_address").select("address_id", "lon", "lat")
        ).to_pandas()
    frame, features = scored.frame, scored.features
    # the city's 21.6 M dwelling-months as Python or Arrow text took gigabytes (issue 25)
    for name in ("address_id", "period", "estate_name", "building_no"):
        assert isinstance(frame[name].dtype, pd.CategoricalDtype), name
    places = features.places.to_pandas()
    assert places["address_id"].is_unique
    assert (places["address_id"].to_numpy()[features.dwelling] == frame["address_id"]).all()
    expected = dwellings.set_index("address_id").loc[frame["address_id"].astype(str)]
    assert np.allclose(places["lon"].to_numpy()[features.dwelling], expected["lon"], equal_nan=True)
    # sorted by dwelling and month, every dwelling with every month (what persistence reads)
    step, month_step = np.diff(features.dwelling), np.diff(frame["m"].to_numpy())
    assert (step >= 0).all() and ((step > 0) | (month_step > 0)).all()
    assert len(set(np.bincount(features.dwelling))) == 1
