"""The muck-truck topic end to end on the tiny synthetic city: registered, runs through the topic
runner, scores ≥ 0.95 per planted violation type, and the city's tracks with noise added give no
new violation (tests ``topics/builtin/muck_trucks/{topic,evaluate}.py``)."""

from __future__ import annotations

from pathlib import Path

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from citybrain.core import Workspace
from citybrain.core.catalog import Catalog
from citybrain.core.engine import Engine
from citybrain.topics import TopicContext, discover_topics, validate_findings
from citybrain.topics.builtin.muck_trucks import MuckTrucks
from citybrain.topics.builtin.muck_trucks.evaluate import finding_kinds
from citybrain.topics.runner import latest_findings, run_topic
from topics.builtin.conftest import std_workspace
from topics.builtin.gps_noise import add_noise

pytestmark = pytest.mark.duckdb

SYSTEMS = ("muck_truck_gps", "muck_transport_permits", "construction_sites")


@pytest.fixture(scope="module")
def muck_workspace(tiny_truth: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return std_workspace(tiny_truth.parent, SYSTEMS, tmp_path_factory.mktemp("muck-ws"))


def _context(
    workspace: Workspace, engine: Engine, inputs: dict[str, ir.Table] | None = None
) -> TopicContext:
    topic = MuckTrucks()
    return TopicContext(
        workspace=workspace,
        engine=engine,
        run_id="test",
        params=topic.default_params(),
        model_version=topic.model_version,
        inputs=inputs,
    )


def test_registered() -> None:
    assert discover_topics()["muck_trucks"] is MuckTrucks


def test_runs_and_scores_per_type(muck_workspace: Workspace, tiny_truth: Path) -> None:
    topic = MuckTrucks()
    catalog = Catalog.open(muck_workspace.ops_db_url)
    with muck_workspace.engine() as engine:
        run = run_topic(topic, muck_workspace, engine, catalog)
        findings = latest_findings(engine, topic.name)
        assert run.findings == findings.num_rows > 0
        validate_findings(findings)
        result = topic.evaluate(findings, tiny_truth, _context(muck_workspace, engine))
    planted = {k: v for k, v in result.by_type.items() if v["planted"] and v["support"]}
    assert planted, "the tiny city plants some violation"
    for kind, figures in planted.items():
        assert figures["precision"] >= 0.95, (kind, figures)
        assert figures["recall"] >= 0.95, (kind, figures)
    reasons = findings.column("reasons")[0].as_py()
    assert reasons[0]["text_zh"] and reasons[0]["text_en"]
    assert set(pc.unique(findings.column("subject_type")).to_pylist()) == {"vehicle"}


def test_noise_adds_no_violation(muck_workspace: Workspace) -> None:
    topic = MuckTrucks()
    with muck_workspace.engine() as engine:
        pings = engine.to_arrow(engine.table("std", "vehicle_ping"))
        permits = engine.table("std", "transport_permit")
        sites = engine.table("std", "site")
        clean = topic.run(_context(muck_workspace, engine))
        noisy_pings = engine.register("noisy_pings", add_noise(pings, seed=11, share=0.05))
        inputs = {
            "std.vehicle_ping": noisy_pings,
            "std.transport_permit": permits,
            "std.site": sites,
        }
        noisy = topic.run(_context(muck_workspace, engine, inputs))
    before = set(finding_kinds(clean).itertuples(index=False, name=None))
    after = set(finding_kinds(noisy).itertuples(index=False, name=None))
    assert before, "the clean tracks hold violations to keep"
    assert after <= before, sorted(after - before)


def test_bad_truth_folder_is_one_line(muck_workspace: Workspace, tmp_path: Path) -> None:
    from citybrain.core.errors import UserError

    topic = MuckTrucks()
    with muck_workspace.engine() as engine, pytest.raises(UserError, match="truck violations"):
        topic.evaluate(pa.table({}), tmp_path, _context(muck_workspace, engine))
