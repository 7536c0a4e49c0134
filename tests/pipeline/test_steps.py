"""The city's graph on a workspace: a step per source contract and per installed topic."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from citybrain.core.opsdb import upgrade
from citybrain.core.workspace import Workspace
from citybrain.pipeline import build_graph
from citybrain.pipeline.context import open_context
from citybrain.pipeline.steps import topic_step
from citybrain.topics import NotEnoughData, Topic, TopicContext, discover_topics


def test_the_graph_has_a_step_per_source_and_per_topic_in_pipeline_order(tmp_path: Path) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    sources = workspace.root / "sources"
    sources.mkdir(exist_ok=True)
    for name in ("water", "hukou"):
        (sources / f"{name}.yaml").write_text("id: x\n", encoding="utf-8")
    graph = build_graph(workspace)
    topics = [f"topic:{name}" for name in discover_topics()]
    assert topics, "the built-in topics are installed"
    names = graph.names
    assert names[:6] == [
        "migrate", "ingest:hukou", "ingest:water", "standardize", "quality", "resolve",
    ]  # fmt: skip
    assert sorted(names[6:-2]) == sorted(topics) and names[-2:] == ["cases", "report"]
    # a topic reading another's findings runs after it (economic operation overlays warnings)
    assert "topic:enterprise_warning" in graph["topic:economic_operation"].after
    assert names.index("topic:enterprise_warning") < names.index("topic:economic_operation")
    assert graph["standardize"].after == ("ingest:hukou", "ingest:water")
    assert graph["ingest:water"].writes == ("raw/water", "quarantine/water")
    assert set(graph["cases"].after) == set(topics)
    assert graph["report"].after == ("cases",)  # the day's report of what the run made
    for name, topic in discover_topics().items():
        step = graph[f"topic:{name}"]
        reads = {f"{spec.zone}/{spec.table}" for spec in topic().inputs}
        assert set(step.reads) == reads
        # a topic reading the base zone runs after resolve, one reading std only need not
        assert ("resolve" in step.after) == any(r.startswith("base/") for r in reads)
    assert graph.select(only="ingest") == ["ingest:hukou", "ingest:water"]


class _TooLittle(Topic):
    """A topic that, like the credit scorecard on a tiny city, finds too few labels to judge."""

    name = "too_little"
    title_zh = "数据不足"
    title_en = "Too little"
    subject_type = "enterprise"

    def run(self, ctx: TopicContext) -> pa.Table:
        raise NotEnoughData("too_little: 3 labels, needs 5")


def test_a_topic_without_enough_data_is_done_with_no_findings_and_says_why(
    tmp_path: Path,
) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    upgrade(workspace.ops_db_url)
    with open_context(workspace) as ctx:
        result = topic_step(_TooLittle()).action(ctx, lambda *_: None)
    assert result.summary == "not enough data: too_little: 3 labels, needs 5"
    assert result.rows_out == 0 and result.failed is None
