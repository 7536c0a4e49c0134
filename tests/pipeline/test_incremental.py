"""Incremental runs on a graph of stand-in steps over real lake folders: a plain `citybrain run`
skips a step whose inputs and outputs are as they were when it last did its work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from citybrain.core.catalog import Catalog
from citybrain.core.workspace import Workspace
from citybrain.pipeline import Graph, Report, RunContext, Step, StepResult, run_pipeline
from citybrain.pipeline.fingerprint import dataset_fingerprint


class City:
    """Two sources; each step copies what it reads into what it writes, as files in the lake."""

    def __init__(self, workspace: Workspace) -> None:
        self.lake = workspace.lake
        self.ran: list[str] = []
        self.deliveries: dict[str, list[str]] = {"a": ["a1"], "b": ["b1"]}

    def _put(self, dataset: str, content: str) -> None:
        folder = self.lake / dataset
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        (folder / "part-0.parquet").write_text(content)

    def _get(self, dataset: str) -> str:
        return (self.lake / dataset / "part-0.parquet").read_text()

    def step(
        self,
        name: str,
        act: Callable[[], None],
        *,
        after: tuple[str, ...] = (),
        reads: tuple[str, ...] = (),
        writes: tuple[str, ...] = (),
    ) -> Step:
        def action(ctx: RunContext, report: Report) -> StepResult:
            self.ran.append(name)
            act()
            return StepResult(f"{name} done")

        incremental = not name.startswith("ingest:")  # as the city's ingest steps
        return Step(name, name, action, after=after, reads=reads, writes=writes,
                    incremental=incremental)  # fmt: skip

    def ingest(self, source: str) -> Callable[[], None]:
        def land() -> None:
            landed = self.lake / "raw" / source
            landed.mkdir(parents=True, exist_ok=True)
            for delivery in self.deliveries[source]:
                if not (landed / f"{delivery}.parquet").exists():
                    (landed / f"{delivery}.parquet").write_text(delivery)

        return land

    def standardize(self) -> None:
        for source in ("a", "b"):
            landed = sorted(p.stem for p in (self.lake / "raw" / source).iterdir())
            if not (self.lake / "std" / source).exists() or self._get(f"std/{source}") != str(
                landed
            ):
                self._put(f"std/{source}", str(landed))  # only the tables with new loads

    def graph(self) -> Graph:
        def topic(source: str) -> Callable[[], None]:
            return lambda: self._put(f"topic/{source}_findings", self._get(f"std/{source}"))

        return Graph(
            [
                self.step("ingest:a", self.ingest("a"), reads=("source/a",), writes=("raw/a",)),
                self.step("ingest:b", self.ingest("b"), reads=("source/b",), writes=("raw/b",)),
                self.step("standardize", self.standardize, after=("ingest:a", "ingest:b"),
                          reads=("raw/*",), writes=("std/*",)),
                self.step("topic:x", topic("a"), after=("standardize",), reads=("std/a",),
                          writes=("topic/a_findings",)),
                self.step("topic:y", topic("b"), after=("standardize",), reads=("std/b",),
                          writes=("topic/b_findings",)),
                self.step("cases", lambda: None, after=("topic:x", "topic:y"),
                          reads=("topic/*",), writes=("ops/cases",)),
                self.step("report", lambda: None, after=("cases",),
                          reads=("topic/*", "ops/cases"), writes=("ops/report",)),
            ]
        )  # fmt: skip


def _ingest_always_runs(city: City) -> list[str]:
    return [name for name in city.ran if not name.startswith("ingest:")]


@pytest.fixture
def city(tmp_path: Path) -> tuple[Workspace, City]:
    workspace = Workspace.init(tmp_path / "ws")
    return workspace, City(workspace)


def test_only_new_loads_and_what_depends_on_them_run_again(city: tuple[Workspace, City]) -> None:
    workspace, steps = city
    graph = steps.graph()
    run_pipeline(workspace, graph=graph)
    assert steps.ran == graph.names

    steps.ran.clear()
    quiet = run_pipeline(workspace, graph=graph)  # nothing new: only the ingest steps look
    assert steps.ran == ["ingest:a", "ingest:b"]
    assert quiet.status == "succeeded"
    skipped = {r.name: r for r in quiet.steps if r.skipped}
    assert set(skipped) == {"standardize", "topic:x", "topic:y", "cases", "report"}
    assert all("unchanged since run" in r.summary for r in skipped.values())

    steps.ran.clear()
    steps.deliveries["b"].append("b2")  # a new load of b: a's topic has nothing new to read
    new = run_pipeline(workspace, graph=graph)
    assert _ingest_always_runs(steps) == ["standardize", "topic:y", "cases", "report"]
    assert [r.name for r in new.steps if r.skipped] == ["topic:x"]
    assert (workspace.lake / "topic/b_findings/part-0.parquet").read_text() == "['b1', 'b2']"

    catalog = Catalog.open(workspace.ops_db_url)
    try:
        latest = catalog.list_pipeline_runs(limit=1)[0]
    finally:
        catalog.close()
    recorded = {str(s["name"]): s for s in latest.stages}
    assert recorded["topic:x"]["made"] != latest.run_id, "skipped: its outputs are older"
    assert recorded["topic:y"]["made"] == latest.run_id
    assert {s.status for s in latest.steps} == {"succeeded"}


def test_a_touched_output_or_an_explicit_selection_runs_the_step_again(
    city: tuple[Workspace, City],
) -> None:
    workspace, steps = city
    graph = steps.graph()
    run_pipeline(workspace, graph=graph)
    before = dataset_fingerprint(workspace.lake, workspace.root, "topic/a_findings")

    (workspace.lake / "topic/a_findings/part-0.parquet").unlink()  # someone removed its output
    assert dataset_fingerprint(workspace.lake, workspace.root, "topic/a_findings") == "absent"
    steps.ran.clear()
    run_pipeline(workspace, graph=graph)
    assert _ingest_always_runs(steps) == ["topic:x", "cases", "report"]
    assert dataset_fingerprint(workspace.lake, workspace.root, "topic/a_findings") != before

    steps.ran.clear()
    run_pipeline(workspace, graph=graph, start="topic:x")  # asked for: runs whatever changed
    assert steps.ran == ["topic:x", "topic:y", "cases", "report"]
    steps.ran.clear()
    run_pipeline(workspace, graph=graph, only="standardize")
    assert steps.ran == ["standardize"]
