"""The runner on a graph of stand-in steps: recording, failing, resuming, selecting, locking."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from citybrain.core.catalog import Catalog
from citybrain.core.errors import UserError
from citybrain.core.workspace import Workspace
from citybrain.pipeline import Graph, Report, RunContext, Step, StepResult, run_pipeline
from citybrain.pipeline.context import run_lock


class Steps:
    """A small graph whose steps note that they ran and fail when told to."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.raise_in: str | None = None
        self.partial_in: str | None = None
        self.run_ids: set[str] = set()

    def action(self, name: str) -> Callable[[RunContext, Report], StepResult]:
        def act(ctx: RunContext, report: Report) -> StepResult:
            self.ran.append(name)
            self.run_ids.add(ctx.run_id)
            report("working")
            if name == self.raise_in:
                raise RuntimeError(f"{name} broke")
            failed = f"{name}: a source failed" if name == self.partial_in else None
            return StepResult(f"{name} done", rows_in=3, rows_out=2, failed=failed)

        return act

    def graph(self) -> Graph:
        def step(name: str, *after: str, group: str = "") -> Step:
            return Step(name, name, self.action(name), after=after, group=group)

        return Graph(
            [
                step("ingest:a", group="ingest"),
                step("ingest:b", group="ingest"),
                step("standardize", "ingest:a", "ingest:b"),
                step("resolve", "standardize"),
                step("topic:x", "standardize", group="topic"),
                step("cases", "topic:x", "resolve"),
            ]
        )


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.init(tmp_path / "ws")


def runs(workspace: Workspace) -> list:  # type: ignore[type-arg]
    catalog = Catalog.open(workspace.ops_db_url)
    try:
        return catalog.list_pipeline_runs()
    finally:
        catalog.close()


def test_a_run_and_each_of_its_steps_are_recorded(workspace: Workspace) -> None:
    steps = Steps()
    result = run_pipeline(workspace, graph=steps.graph())
    assert result.status == "succeeded" and not result.resumed
    assert steps.ran == steps.graph().names and steps.run_ids == {result.run_id}
    (run,) = runs(workspace)
    assert (run.run_id, run.status, run.command) == (result.run_id, "succeeded", "run")
    assert run.plan == steps.graph().names
    assert [(s.name, s.status, s.rows_in, s.rows_out) for s in run.steps] == [
        (name, "succeeded", 3, 2) for name in steps.graph().names
    ]
    for step in run.steps:
        assert step.seconds is not None and step.seconds >= 0
        assert step.peak_rss_bytes is not None and step.peak_rss_bytes > 2**20
        assert step.finished_at is not None and step.summary == f"{step.name} done"


def test_a_step_that_raises_stops_the_run_and_the_next_run_continues_there(
    workspace: Workspace,
) -> None:
    steps = Steps()
    steps.raise_in = "resolve"
    with pytest.raises(RuntimeError, match="resolve broke"):
        run_pipeline(workspace, graph=steps.graph())
    (failed,) = runs(workspace)
    assert (
        failed.status == "failed" and failed.error_message == "resolve: RuntimeError: resolve broke"
    )
    assert [s.name for s in failed.steps][-1] == "resolve"

    steps.ran.clear()
    steps.raise_in = None
    result = run_pipeline(workspace, graph=steps.graph())
    assert result.resumed and result.run_id == failed.run_id and result.status == "succeeded"
    # topic:x never ran; it does not depend on resolve but was never done
    assert steps.ran == ["resolve", "topic:x", "cases"]
    assert result.done_before == ["ingest:a", "ingest:b", "standardize"]
    (run,) = runs(workspace)
    assert run.status == "succeeded" and run.error_message is None
    assert [(s.name, s.attempt, s.status) for s in run.steps if s.name == "resolve"] == [
        ("resolve", 1, "failed"),
        ("resolve", 2, "succeeded"),
    ]


def test_a_run_killed_in_a_step_is_continued_from_that_step(workspace: Workspace) -> None:
    steps = Steps()
    run_pipeline(workspace, graph=steps.graph(), only="ingest")
    # what a SIGKILL in standardize leaves: the run and the step recorded as running
    catalog = Catalog.open(workspace.ops_db_url)
    plan = steps.graph().names
    catalog.start_pipeline_run("run", run_id="killed", plan=plan)
    for position, name in enumerate(plan[:3]):
        catalog.start_pipeline_step("killed", name, position=position)
    catalog.close()
    steps.ran.clear()
    result = run_pipeline(workspace, graph=steps.graph())
    assert result.resumed and result.run_id == "killed"
    assert steps.ran == plan  # the killed run's first steps were never finished either


def test_a_run_with_a_failed_part_goes_on_and_the_next_run_is_a_new_one(
    workspace: Workspace,
) -> None:
    steps = Steps()
    steps.partial_in = "ingest:a"
    first = run_pipeline(workspace, graph=steps.graph())
    assert first.status == "failed" and steps.ran == steps.graph().names
    steps.ran.clear()
    steps.partial_in = None
    second = run_pipeline(workspace, graph=steps.graph())
    assert not second.resumed and second.run_id != first.run_id
    assert steps.ran == steps.graph().names
    newest, oldest = runs(workspace)
    assert oldest.error_message == "ingest:a: ingest:a: a source failed"
    assert newest.status == "succeeded"


def test_from_and_only_start_new_runs_of_the_steps_they_name(workspace: Workspace) -> None:
    steps = Steps()
    steps.raise_in = "cases"
    with pytest.raises(RuntimeError):
        run_pipeline(workspace, graph=steps.graph())
    steps.ran.clear()
    steps.raise_in = None
    only = run_pipeline(workspace, graph=steps.graph(), only="topic", command="run --only topic")
    assert not only.resumed and steps.ran == ["topic:x"]
    steps.ran.clear()
    start = run_pipeline(workspace, graph=steps.graph(), start="resolve")
    assert steps.ran == ["resolve", "topic:x", "cases"] and start.status == "succeeded"
    assert [r.command for r in runs(workspace)][:2] == ["run", "run --only topic"]


def test_one_run_at_a_time_per_workspace(workspace: Workspace) -> None:
    with run_lock(workspace.root), pytest.raises(UserError, match="another `citybrain run`"):
        run_pipeline(workspace, graph=Steps().graph())


def test_a_wrong_step_name_fails_before_anything_runs(workspace: Workspace) -> None:
    steps = Steps()
    with pytest.raises(UserError, match="no pipeline step 'resolv'"):
        run_pipeline(workspace, graph=steps.graph(), start="resolv")
    assert steps.ran == [] and runs(workspace) == []
