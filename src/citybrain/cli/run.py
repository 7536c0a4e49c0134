"""``citybrain run``: every pipeline stage that exists, in order, on one workspace."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from citybrain.cli.state import state
from citybrain.cli.ui import console, progress
from citybrain.core import Workspace, get_logger, run_context

log = get_logger("citybrain.run")


Report = Callable[[str], None]


@dataclass(frozen=True)
class Stage:
    name: str
    description: str
    action: Callable[..., str]
    #: the action takes a second argument, a callback that hears each step it starts
    reports: bool = False

    def run(self, workspace: Workspace, report: Report) -> str:
        return self.action(workspace, report) if self.reports else self.action(workspace)


def _migrate(workspace: Workspace) -> str:
    from citybrain.core.opsdb import current_revision, upgrade

    upgrade(workspace.ops_db_url)
    return f"ops database at revision {current_revision(workspace.ops_db_url)}"


def _topics(workspace: Workspace) -> str:
    from citybrain.cases import outcome_labels
    from citybrain.core.catalog import Catalog
    from citybrain.core.opsdb import connect
    from citybrain.topics import discover_topics
    from citybrain.topics.runner import check_inputs, run_topic

    catalog = Catalog.open(workspace.ops_db_url)
    ops = connect(workspace.ops_db_url)
    done: list[str] = []
    waiting: list[str] = []
    try:
        with workspace.engine() as engine:
            for name, topic_class in discover_topics().items():
                topic = topic_class()
                if not check_inputs(topic, catalog).passed:
                    waiting.append(name)
                    continue
                # The closed loop: case outcomes are the topic's labels.
                labels = outcome_labels(ops, name).select(["subject_id", "period", "label"])
                result = run_topic(topic, workspace, engine, catalog, labels=labels)
                done.append(f"{name}: {result.findings} findings")
    finally:
        ops.dispose()
    if waiting:
        done.append(f"inputs not ready: {', '.join(waiting)}")
    return "; ".join(done) or "no topics installed"


def _cases(workspace: Workspace) -> str:
    """Open cases from each topic's findings of its latest period, routed to departments."""
    import pyarrow.compute as pc

    from citybrain.cases import area_names, department_hints, open_cases, settings_for_workspace
    from citybrain.core.opsdb import connect
    from citybrain.topics import discover_topics
    from citybrain.topics.runner import latest_findings

    topics = [cls() for cls in discover_topics().values()]
    hints = department_hints(topics)
    settings = settings_for_workspace(workspace.root)
    names = area_names(workspace)
    ops = connect(workspace.ops_db_url)
    parts: list[str] = []
    try:
        with workspace.engine() as engine:
            for topic in topics:
                findings = latest_findings(engine, topic.name)
                if findings.num_rows == 0:
                    continue
                latest = pc.max(findings.column("period")).as_py()
                current = findings.filter(pc.equal(findings.column("period"), latest))
                result = open_cases(ops, current, settings=settings, hints=hints, area_names=names)
                parts.append(
                    f"{topic.name} {latest}: {len(result.opened)} opened, "
                    f"{len(result.attached_to)} updated, {result.dispatched} dispatched"
                )
    finally:
        ops.dispose()
    return "; ".join(parts) or "no findings to act on"


def _ingest(workspace: Workspace) -> str:
    from citybrain.ingest import discover_sources, ingest_sources, recorder_for

    sources = discover_sources(workspace)
    if not sources:
        return "no sources (see `citybrain source list`)"
    summary = ingest_sources(workspace, sources, recorder=recorder_for(workspace))
    landed = sum(r.rows_landed for r in summary.results)
    failed = ", ".join(r.system for r in summary.failed)
    ok = len(summary.results) - len(summary.failed)
    return f"{ok}/{len(summary.results)} sources, {landed:,} rows landed" + (
        f"; failed: {failed} (run `citybrain ingest` for details)" if failed else ""
    )


def _standardize(workspace: Workspace) -> str:
    from citybrain.govern.standardize import standardize_workspace

    result = standardize_workspace(workspace)
    rows = sum(t.rows for t in result.tables)
    note = "" if result.reconciled else "; counts do NOT reconcile (see `citybrain quality`)"
    return f"{len(result.tables)} std tables, {rows:,} rows{note}"


def _quality(workspace: Workspace) -> str:
    from citybrain.govern.quality import quality_report

    report = quality_report(workspace, record=True)
    if not report.sources:
        return "no std tables yet"
    low = min(report.sources, key=lambda s: s.score)
    return (
        f"{len(report.sources)} sources scored, lowest {low.system} {low.score:.1f}; "
        f"{len(report.alerts)} alerts (see `citybrain quality`)"
    )


def _resolve(workspace: Workspace, report: Report) -> str:
    from citybrain.core.logging import current_run_id
    from citybrain.govern.base import build_workspace_base

    build = build_workspace_base(workspace, run_id=current_run_id(), report=report)
    return build.summary() if build.rows else "no std tables with persons or enterprises yet"


# Stages in pipeline order; each later capability (ingest, govern, resolve, cases) adds its own.
STAGES: list[Stage] = [
    Stage("migrate", "bring the ops database schema up to date", _migrate),
    Stage("ingest", "load every source of the workspace into the raw zone", _ingest),
    Stage("standardize", "raw loads to std tables, validated and flagged", _standardize),
    Stage("quality", "score every source's data quality and raise alerts", _quality),
    Stage(
        "resolve",
        "link persons and enterprises across systems; build the base databases",
        _resolve,
        reports=True,
    ),
    Stage("topics", "run every installed topic whose inputs are ready", _topics),
    Stage("cases", "open and route cases for the latest findings of every topic", _cases),
]


def _progress(bar: Any, task: Any, stage: str) -> Report:
    def report(step: str) -> None:
        bar.update(task, description=f"{stage}: {step}")

    return report


def run_command() -> None:
    """Run every pipeline stage that exists, in order, on the workspace.

    Example: citybrain -w ./gaoxin run
    """
    workspace = Workspace.open(state.workspace)
    summary = Table(title="citybrain run")
    summary.add_column("stage")
    summary.add_column("result")
    summary.add_column("seconds", justify="right")
    with run_context() as run_id, progress() as bar:
        log.info("run started", extra={"workspace": str(workspace.root)})
        task = bar.add_task("pipeline", total=len(STAGES))
        for stage in STAGES:
            bar.update(task, description=stage.name)
            started = time.perf_counter()
            result = stage.run(workspace, _progress(bar, task, stage.name))
            elapsed = time.perf_counter() - started
            log.info(
                "stage %s done in %.1f s",
                stage.name,
                elapsed,
                extra={"stage": stage.name, "seconds": round(elapsed, 3)},
            )
            summary.add_row(stage.name, result, f"{elapsed:.1f}")
            bar.advance(task)
    console.print(summary)
    console.print(f"run {run_id} finished")
