"""``citybrain topic …``: list, run and evaluate topics (专题)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from citybrain.cli.state import state
from citybrain.cli.ui import console, progress
from citybrain.core import UserError, Workspace, run_context
from citybrain.core.catalog import Catalog
from citybrain.topics import Topic, TopicContext, discover_topics, get_topic
from citybrain.topics.check import ContractCheck, check_contract
from citybrain.topics.evaluation_store import save_evaluation
from citybrain.topics.runner import TopicRun, check_inputs, latest_findings, run_topic, topic_params

topic_app = typer.Typer(help="List, run and evaluate topics (专题).", no_args_is_help=True)


@topic_app.command("list")
def list_topics() -> None:
    """List installed topics and whether their inputs are available.

    Example: citybrain -w ./gaoxin topic list
    """
    workspace = Workspace.open(state.workspace)
    table = Table(title="topics")
    for column in ("name", "专题", "title", "subject", "inputs"):
        table.add_column(column)
    with Catalog.open(workspace.ops_db_url) as catalog:
        for name, topic_class in discover_topics().items():
            topic = topic_class()
            check = check_inputs(topic, catalog)
            ready = "[green]ready[/]" if check.passed else f"[yellow]{check.message()}[/]"
            table.add_row(name, topic.title_zh, topic.title_en, topic.subject_type, ready)
    console.print(table)


def contract_table(check: ContractCheck) -> Table:
    """The one table `topic check` prints: every declared input and what the city lacks."""
    table = Table(title=f"{check.topic}: data contract / 数据契约")
    for column in (
        "input",
        "present",
        "missing columns",
        "wrong types",
        "freshness",
        "completeness",
        "what to map",
    ):
        table.add_column(column)
    for status in check.inputs:
        name = status.spec.dataset + (" (optional)" if status.spec.optional else "")
        if status.present:
            present = "[green]yes[/]"
        else:
            present = "[yellow]no[/]" if status.spec.optional else "[red]no[/]"
        wrong = ", ".join(f"{c}: {have} ≠ {want}" for c, want, have in status.wrong_types)
        completeness = "" if status.completeness is None else f"{status.completeness:.0%}"
        table.add_row(
            name,
            present,
            ", ".join(status.missing_columns),
            wrong,
            status.freshness if status.present else "",
            completeness,
            status.to_map(),
        )
    return table


@topic_app.command("check")
def check(name: Annotated[str, typer.Argument(help="Topic whose data contract to check.")]) -> None:
    """Check whether this city's catalog meets a topic's data contract, before anything runs.

    Exits non-zero when a required input, column or type is missing.

    Example: citybrain -w ./gaoxin topic check group_rental
    """
    workspace = Workspace.open(state.workspace)
    topic = get_topic(name)
    with Catalog.open(workspace.ops_db_url) as catalog, workspace.engine() as engine:
        result = check_contract(topic, catalog, engine)
    # piped into a file or a log, the table keeps its full width rather than wrapping names
    (console if console.is_terminal else Console(width=200)).print(contract_table(result))
    if not result.passed:
        raise UserError(result.summary(), hint="map the columns above in the source contracts")
    console.print(result.summary())


@topic_app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="Name of the new topic (e.g. noise_hotspots).")],
    out: Annotated[Path, typer.Option("--out", help="Folder to create the package in.")],
    title_zh: Annotated[str | None, typer.Option("--title-zh", help="Chinese title.")] = None,
    title_en: Annotated[str | None, typer.Option("--title-en", help="English title.")] = None,
) -> None:
    """Scaffold an installable topic package that passes its own tests as generated.

    Example: citybrain topic new noise_hotspots --out ./noise_hotspots
    """
    from citybrain.topics.scaffold import scaffold_topic

    made = scaffold_topic(name, out, title_zh=title_zh, title_en=title_en)
    console.print(f"topic package {made.dist_name} written to {made.root}")
    console.print(f"next: uv pip install -e {made.root} && citybrain topic list")


@topic_app.command("export")
def export(
    name: Annotated[str, typer.Argument(help="Topic to export.")],
    out: Annotated[Path, typer.Option("--out", help="Bundle file to write (.cbtopic).")],
) -> None:
    """Export a topic bundle: version, parameters, thresholds, model and evaluation card, with a
    checksum and a signature (key: the CITYBRAIN_BUNDLE_KEY environment variable).

    Example: citybrain -w ./gaoxin topic export group_rental --out group_rental.cbtopic
    """
    from citybrain.topics.bundle import export_bundle

    workspace = Workspace.open(state.workspace)
    topic = get_topic(name)
    with Catalog.open(workspace.ops_db_url) as catalog:
        manifest = export_bundle(topic, workspace, catalog, out)
    console.print(
        f"bundle {out} written: {len(manifest['files'])} files, "
        f"sha256 {manifest['checksum'][:12]}…, signed"
    )


@topic_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="Bundle file (.cbtopic) to import.")],
) -> None:
    """Import a topic bundle: refused when tampered with, signed with another key, for another
    version of the topic, or when this city's data does not meet the topic's contract.

    Example: citybrain -w ./othercity topic import group_rental.cbtopic
    """
    from citybrain.topics.bundle import bundle_summary, import_bundle

    workspace = Workspace.open(state.workspace)
    with Catalog.open(workspace.ops_db_url) as catalog, workspace.engine() as engine:
        bundle, check = import_bundle(file, get_topic, workspace, catalog, engine)
    console.print(f"imported {bundle_summary(bundle)}; {check.summary()}")


def _run_one(topic: Topic, workspace: Workspace, catalog: Catalog, run_id: str) -> TopicRun:
    """A topic over time series goes as the pipeline's whole recompute does (in chunks of days
    over a large input: a city's history is never sorted at once); any other at once."""
    spec = topic.period_spec(topic_params(workspace, topic))
    if spec is None:
        with workspace.engine() as engine:
            return run_topic(topic, workspace, engine, catalog, run_id=run_id)
    from citybrain.pipeline.context import open_context
    from citybrain.pipeline.topic_increment import latest_day, whole_findings
    from citybrain.topics.runner import read_inputs, store_findings

    with open_context(workspace) as ctx:
        ctx.run_id = run_id
        if not check_inputs(topic, ctx.catalog).passed:  # run_topic says what is missing
            return run_topic(topic, workspace, ctx.engine, ctx.catalog, run_id=run_id)
        inputs = read_inputs(topic, ctx.engine)
        latest = latest_day(ctx.engine, inputs[spec.input], spec)
        findings, _ = whole_findings(ctx, topic, spec, None, inputs, latest)
        return store_findings(topic, ctx.engine, ctx.catalog, findings, run_id)


@topic_app.command("run")
def run(
    name: Annotated[str | None, typer.Argument(help="Topic to run.")] = None,
    all_topics: Annotated[bool, typer.Option("--all", help="Run every installed topic.")] = False,
) -> None:
    """Run one topic, or all of them, and store the findings as a new run.

    Example: citybrain -w ./gaoxin topic run group_rental
    """
    if (name is None) == (not all_topics):
        raise UserError("name one topic or give --all", hint="see `citybrain topic list`")
    workspace = Workspace.open(state.workspace)
    topics = [get_topic(name)] if name else [cls() for cls in discover_topics().values()]
    summary = Table(title="topic runs")
    for column in ("topic", "run", "findings", "high", "medium", "low"):
        summary.add_column(column)
    with Catalog.open(workspace.ops_db_url) as catalog, run_context() as run_id, progress() as bar:
        task = bar.add_task("topics", total=len(topics))
        for topic in topics:
            bar.update(task, description=topic.name)
            result = _run_one(topic, workspace, catalog, run_id)
            levels = [str(result.by_level.get(level, 0)) for level in ("high", "medium", "low")]
            summary.add_row(topic.name, result.run_id, str(result.findings), *levels)
            bar.advance(task)
    console.print(summary)


@topic_app.command("configure")
def configure(
    name: Annotated[str, typer.Argument(help="Topic to configure.")],
    assignments: Annotated[
        list[str],
        typer.Option(
            "--set",
            help="KEY=VALUE in [topics.NAME] of citybrain.toml, e.g. scenario=复工复产 or "
            "enabled=true (repeat).",
        ),
    ] = [],  # noqa: B006 (typer reads the default)
    by: Annotated[str | None, typer.Option(help="Who changes it (audited).")] = None,
) -> None:
    """Show or change a topic's settings in this city ([topics.NAME] of citybrain.toml); every
    change is written to the audit log with the values before and after.

    Example: citybrain -w ./gaoxin topic configure epidemic --set scenario=复工复产
    """
    import getpass

    from citybrain.topics.settings import (
        Configured,
        configure_topic,
        topic_enabled,
        workspace_params,
    )

    workspace = Workspace.open(state.workspace)
    topic = get_topic(name)
    if assignments:
        from citybrain.api.security.audit import append
        from citybrain.core.opsdb import connect, session

        ops_engine = connect(workspace.ops_db_url)
        try:
            with session(ops_engine) as db:

                def audit(done: Configured) -> None:
                    append(
                        db, actor=by or getpass.getuser(), role="admin",
                        action="topic.configure", endpoint=f"cli:topic configure {name}",
                        subjects=[name], detail={"before": done.before, "after": done.after},
                    )  # fmt: skip

                configure_topic(workspace, topic, assignments, audit=audit)
        finally:
            ops_engine.dispose()
    params = workspace_params(workspace, topic).model_dump(mode="json")
    on = "on" if topic_enabled(workspace, name) else "off"
    console.print(f"{name}: {on} · " + " · ".join(f"{k}={v}" for k, v in params.items()))


@topic_app.command("evaluate")
def evaluate(
    name: Annotated[str, typer.Argument(help="Topic to evaluate.")],
    truth: Annotated[Path, typer.Option("--truth", help="The synthetic city's truth/ folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score a topic's latest findings against ground truth, with its baselines side by side.

    The result is kept as the topic's latest evaluation, which its web page shows.

    Example: citybrain -w ./gaoxin topic evaluate group_rental --truth ./city/truth --json
    """
    if not truth.is_dir():
        raise UserError(f"{truth}: no such truth folder")
    workspace = Workspace.open(state.workspace)
    topic = get_topic(name)
    with workspace.engine() as engine, run_context() as run_id:
        findings = latest_findings(engine, topic.name)
        ctx = TopicContext(
            workspace=workspace,
            engine=engine,
            run_id=run_id,
            params=topic_params(workspace, topic),  # the city's, as its runs use
            model_version=topic.model_version,
        )
        try:
            result = topic.evaluate(findings, truth, ctx)
        except NotImplementedError as exc:
            raise UserError(str(exc)) from None
        save_evaluation(workspace, result, model_version=topic.model_version, run_id=run_id)
    if as_json:
        typer.echo(json.dumps(result.model_dump(), ensure_ascii=False))
        return
    table = Table(title=f"{topic.title_zh} / {topic.title_en}: evaluation")
    for column in ("model", "precision", "recall", "f1"):
        table.add_column(column)
    table.add_row(topic.name, f"{result.precision:.3f}", f"{result.recall:.3f}", f"{result.f1:.3f}")
    for baseline, figures in result.baselines.items():
        table.add_row(
            baseline,
            f"{figures.get('precision', 0):.3f}",
            f"{figures.get('recall', 0):.3f}",
            f"{figures.get('f1', 0):.3f}",
        )
    console.print(table)
    if result.precision_at_100 is not None:
        console.print(f"precision@100: {result.precision_at_100:.3f}")
