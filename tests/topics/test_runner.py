"""A toy topic end to end on each engine: inputs checked, findings per run, lineage kept."""

from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from citybrain.core import Workspace
from citybrain.core.catalog import Catalog, ColumnInfo, DatasetSpec
from citybrain.core.engine import Engine
from citybrain.topics import (
    InputSpec,
    Level,
    Signal,
    Topic,
    TopicContext,
    build_reasons,
    levels_from_scores,
)
from citybrain.topics.runner import MissingInputs, check_inputs, latest_findings, run_topic


class HighUsage(Topic):
    """Flags meters whose use is far above the median of all meters."""

    name = "high_usage"
    title_zh = "用量异常"
    title_en = "High usage"
    subject_type = "meter"
    inputs = (InputSpec(table="reading", columns=("meter_id", "kwh")),)

    def run(self, ctx: TopicContext) -> pa.Table:
        reading = ctx.input("std.reading")
        median = reading.kwh.median()
        scored = reading.mutate(
            expected=median, score=ibis.greatest(0.0, ibis.least(1.0, reading.kwh / median / 4))
        ).filter(lambda t: t.score >= ctx.params.threshold)
        rows = ctx.engine.to_arrow(scored.order_by("meter_id"))
        n = rows.num_rows
        reasons = build_reasons(
            [
                Signal(
                    "kwh",
                    rows.column("kwh"),
                    rows.column("expected"),
                    rows.column("score"),
                    "月用电{observed}度，中位数{expected}度",
                    "{observed} kWh a month; the median is {expected}",
                    decimals=0,
                )
            ]
        )
        return pa.table(
            {
                "topic": [self.name] * n,
                "subject_type": [self.subject_type] * n,
                "subject_id": rows.column("meter_id"),
                "period": ["2025-03"] * n,
                "score": rows.column("score"),
                "level": levels_from_scores(
                    rows.column("score"), self.level_thresholds(ctx.params)
                ),
                "lon": pa.nulls(n, pa.float64()),
                "lat": pa.nulls(n, pa.float64()),
                "grid_id": pa.nulls(n, pa.string()),
                "community_id": pa.nulls(n, pa.string()),
                "street_id": pa.nulls(n, pa.string()),
                "model_version": [ctx.model_version] * n,
                "reasons": reasons,
            }
        )


@pytest.fixture
def setup(tmp_path: Path, engine: Engine) -> tuple[Workspace, Engine, Catalog]:
    workspace = Workspace.init(tmp_path / "ws")
    catalog = Catalog.open(workspace.ops_db_url)
    readings = pa.table(
        {"meter_id": ["M1", "M2", "M3", "M4", "M5"], "kwh": [100.0, 110.0, 90.0, 480.0, 105.0]}
    )
    engine.write(readings, "std", "reading")
    return workspace, engine, catalog


def register_reading(catalog: Catalog, columns: tuple[str, ...]) -> None:
    catalog.register_dataset(
        DatasetSpec(
            zone="std",
            name="reading",
            columns=tuple(ColumnInfo(name=c, type="string") for c in columns),
        )
    )


def test_missing_inputs_are_listed_in_one_error(setup: tuple[Workspace, Engine, Catalog]) -> None:
    workspace, engine, catalog = setup
    topic = HighUsage()
    assert check_inputs(topic, catalog).missing_tables == ("std.reading",)
    register_reading(catalog, ("meter_id",))
    check = check_inputs(topic, catalog)
    assert check.missing_columns == (("std.reading", ("kwh",)),)
    with pytest.raises(MissingInputs, match=r"std.reading columns kwh"):
        run_topic(topic, workspace, engine, catalog)


def test_run_stores_findings_per_run_with_lineage(setup: tuple[Workspace, Engine, Catalog]) -> None:
    workspace, engine, catalog = setup
    register_reading(catalog, ("meter_id", "kwh"))
    topic = HighUsage()
    first = run_topic(topic, workspace, engine, catalog, run_id="run-1")
    assert first.findings == 1
    assert first.by_level == {Level.high.value: 1}
    second = run_topic(
        topic, workspace, engine, catalog, params=topic.params_model(threshold=0.2), run_id="run-2"
    )
    assert second.findings == 5

    latest = latest_findings(engine, "high_usage")
    assert latest.num_rows == 5
    flagged = latest.filter(pa.compute.equal(latest.column("subject_id"), "M4")).to_pylist()[0]
    assert flagged["reasons"][0]["text_zh"] == "月用电480度，中位数105度"
    assert flagged["model_version"] == "high_usage-1"

    stored = engine.to_arrow(engine.table("topic", "high_usage_findings"))
    assert sorted(set(stored.column("run_id").to_pylist())) == ["run-1", "run-2"]
    graph = catalog.lineage(("topic", "high_usage_findings"))
    assert any(str(edge.upstream) == "std/reading" for edge in graph.edges)
    assert catalog.dataset_detail(("topic", "high_usage_findings")).history[-1].rows == 5


def test_a_topic_that_never_ran_has_no_findings(setup: tuple[Workspace, Engine, Catalog]) -> None:
    _, engine, _ = setup
    assert latest_findings(engine, "high_usage").num_rows == 0


class ReadsUndeclared(HighUsage):
    name = "reads_undeclared"

    def run(self, ctx: TopicContext) -> pa.Table:
        ctx.input("std.complaint")  # not in its inputs
        return super().run(ctx)


def test_a_topic_reads_only_the_inputs_it_is_handed(
    setup: tuple[Workspace, Engine, Catalog],
) -> None:
    from citybrain.core.errors import UserError
    from citybrain.topics.runner import read_inputs

    workspace, engine, catalog = setup
    register_reading(catalog, ("meter_id", "kwh"))
    engine.write(pa.table({"text": ["noisy"]}), "std", "complaint")
    assert list(read_inputs(HighUsage(), engine)) == ["std.reading"]
    with pytest.raises(UserError, match=r"reads std\.complaint, which it does not declare"):
        run_topic(ReadsUndeclared(), workspace, engine, catalog)
    # handed a smaller table, the topic sees that one, not the lake's
    handed = {"std.reading": engine.table("std", "reading").filter(lambda t: t.meter_id != "M4")}
    result = run_topic(HighUsage(), workspace, engine, catalog, inputs=handed)
    assert result.findings == 0
