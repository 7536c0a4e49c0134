"""The graph as data: order from `after`, selection by --from/--only, what a resume runs again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from citybrain.core.errors import UserError
from citybrain.pipeline.context import RunContext
from citybrain.pipeline.graph import Graph, Report, Step, StepResult


def _nothing(ctx: RunContext, report: Report) -> StepResult:
    return StepResult("nothing")


def step(name: str, *after: str, group: str = "") -> Step:
    return Step(name, name, _nothing, after=after, group=group)


def city() -> Graph:
    return Graph(
        [
            step("migrate"),
            step("ingest:a", "migrate", group="ingest"),
            step("ingest:b", "migrate", group="ingest"),
            step("standardize", "ingest:a", "ingest:b"),
            step("quality", "standardize"),
            step("resolve", "standardize"),
            step("topic:rental", "resolve", group="topic"),
            step("topic:air", "standardize", group="topic"),
            step("cases", "topic:rental", "topic:air"),
        ]
    )


def test_a_step_is_moved_after_what_it_depends_on() -> None:
    graph = Graph([step("b", "a"), step("c"), step("a")])
    assert graph.names == ["a", "b", "c"]


def test_unknown_dependencies_duplicates_and_cycles_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        Graph([step("a", "x")])
    with pytest.raises(ValueError, match="two pipeline steps"):
        Graph([step("a"), step("a")])
    with pytest.raises(ValueError, match="cycle"):
        Graph([step("a", "b"), step("b", "a")])


def test_from_runs_the_rest_in_order_and_only_runs_one_step_or_family() -> None:
    graph = city()
    assert graph.select() == graph.names
    assert graph.select(start="resolve") == ["resolve", "topic:rental", "topic:air", "cases"]
    assert graph.select(start="ingest")[0] == "ingest:a"
    assert graph.select(only="quality") == ["quality"]
    assert graph.select(only="topic") == ["topic:rental", "topic:air"]


def test_a_wrong_step_name_is_one_user_error_listing_the_steps() -> None:
    graph = city()
    with pytest.raises(UserError, match="no pipeline step 'resolv'") as caught:
        graph.select(start="resolv")
    assert "migrate, ingest, standardize" in str(caught.value)
    with pytest.raises(UserError, match="not both"):
        graph.select(start="resolve", only="cases")


def test_a_resume_runs_what_did_not_succeed_and_everything_downstream_of_it() -> None:
    graph = city()
    plan = graph.names
    # killed in resolve: quality and the air topic (std only) need not run again
    done = ["migrate", "ingest:a", "ingest:b", "standardize", "quality", "topic:air"]
    assert graph.still_to_do(plan, done) == ["resolve", "topic:rental", "cases"]
    # one source failed: the other source's ingest is not downstream of it
    done = [n for n in plan if n != "ingest:a"]
    assert graph.still_to_do(plan, done) == [
        "ingest:a", "standardize", "quality", "resolve", "topic:rental", "topic:air", "cases",
    ]  # fmt: skip
    assert graph.still_to_do(["quality"], []) == ["quality"]
    assert graph.still_to_do(plan, plan) == []


def test_building_the_graph_imports_no_model_library(tmp_path: Path) -> None:
    """Every `citybrain run`, the nightly one too, builds the graph from all topics: scikit-learn
    or SciPy imported there would cost every run a second or more, even one that skips them."""
    from citybrain.core.workspace import Workspace

    root = Workspace.init(tmp_path / "ws").root
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from citybrain.core.workspace import Workspace\n"
        "from citybrain.pipeline.steps import build_graph\n"
        f"graph = build_graph(Workspace.open(Path({str(root)!r})))\n"
        "assert any(name.startswith('topic:') for name in graph.names), graph.names\n"
        "print(sorted({'sklearn', 'scipy', 'lightgbm', 'optbinning'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
