"""The steps of a city's pipeline and the graph they make on one workspace.

migrate → ingest (one step per source contract) → standardize → quality → resolve (persons and
enterprises linked, the base zone built) → one step per installed topic → cases → report (the
daily report of the data's latest day, HTML and PDF, in ``reports/``; ``[report]`` in
citybrain.toml switches it or its PDF off).

Every step is safe to run again after it was killed: ingest skips deliveries already landed (per
load manifest, under the source's lock), the std and base tables are replaced whole, a topic's
findings carry the run id and a topic that already stored findings in this run is not run twice,
and cases attach evidence they already hold only once; the report's files are replaced whole.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.pipeline.graph import Graph, Report, Step, StepResult

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from citybrain.core.workspace import Workspace
    from citybrain.pipeline.context import RunContext
    from citybrain.topics.base import Topic

INGEST = "ingest"
TOPIC = "topic"


def migrate(ctx: RunContext, report: Report) -> StepResult:
    from citybrain.core.opsdb import current_revision, upgrade

    upgrade(ctx.ops_engine)
    return StepResult(f"ops database at revision {current_revision(ctx.ops_engine)}")


def ingest_step(contract: Path) -> Step:
    """Land every delivery of one source that is not landed yet."""

    def ingest(ctx: RunContext, report: Report) -> StepResult:
        from citybrain.ingest import load_source
        from citybrain.ingest.catalog import CatalogRecorder

        result = load_source(ctx.workspace, contract, recorder=CatalogRecorder(ctx.catalog))
        summary = (
            f"{result.system}: {result.loads} loads, {result.rows_landed:,} rows landed, "
            f"{result.rows_quarantined:,} quarantined"
        )
        if result.skipped:
            summary += f", {result.skipped} already landed"
        failed = (result.error or "failed") if result.status == "failed" else None
        return StepResult(summary, result.rows_read, result.rows_landed, failed=failed)

    return Step(
        f"{INGEST}:{contract.stem}",
        f"land the new deliveries of {contract.stem} in the raw zone",
        ingest,
        after=("migrate",),
        reads=(f"source/{contract.stem}",),
        writes=(f"raw/{contract.stem}", f"quarantine/{contract.stem}"),
        group=INGEST,
        incremental=False,  # it finds the new deliveries itself (and skips those landed)
    )


def standardize(ctx: RunContext, report: Report) -> StepResult:
    """Standardise the std tables whose systems landed new loads since this step last did its
    work (every table the first time, or when the address register changed)."""
    from citybrain.govern.standardize import standardize_workspace

    before, redo = _std_to_redo(ctx)
    if not redo:
        return StepResult("no std table has new loads", 0, 0, parts=before)
    tables = None if redo == sorted(before) else redo
    result = standardize_workspace(ctx.workspace, engine=ctx.engine, catalog=ctx.catalog,
                                   tables=tables)  # fmt: skip
    rows = sum(t.rows for t in result.tables)
    raw = sum(s.raw_rows for t in result.tables for s in t.sources)
    note = "" if result.reconciled else "; counts do NOT reconcile (see `citybrain quality`)"
    kept = f" ({len(before) - len(redo)} unchanged kept)" if tables is not None else ""
    parts = {**before, **_std_parts(ctx, redo)}
    return StepResult(
        f"{len(result.tables)} std tables, {rows:,} rows{kept}{note}", raw, rows, parts=parts
    )


def _std_inputs(ctx: RunContext) -> dict[str, str]:
    """Per std table: a fingerprint of the raw loads of the systems that feed it, the address
    rules and the configuration."""
    from citybrain.address.rules import rules_version
    from citybrain.govern.standardize.workspace import workspace_sources
    from citybrain.pipeline.fingerprint import combine, config_fingerprint, dataset_fingerprint

    root, lake = ctx.workspace.root, ctx.workspace.lake
    common = [("rules", rules_version()), ("config", config_fingerprint(ctx.workspace))]
    prints: dict[str, str] = {}
    for table, sources in workspace_sources(ctx.workspace).items():
        raw = [(s.system, dataset_fingerprint(lake, root, f"raw/{s.system}")) for s in sources]
        prints[table] = combine([*common, *raw])
    return prints


def _std_parts(ctx: RunContext, tables: list[str]) -> dict[str, str]:
    """What to find again next run: each table's inputs and the std table they made."""
    from citybrain.pipeline.fingerprint import dataset_fingerprint

    inputs = _std_inputs(ctx)
    root, lake = ctx.workspace.root, ctx.workspace.lake
    return {
        t: f"{inputs[t]}/{dataset_fingerprint(lake, root, f'std/{t}')}"
        for t in tables
        if t in inputs
    }


def _std_to_redo(ctx: RunContext) -> tuple[dict[str, str], list[str]]:
    """The parts as they stand and the std tables to standardise again, sorted: those whose
    inputs or whose std table changed since; all of them after a change of the address
    register (every address is matched against it) or with nothing recorded."""
    from citybrain.govern.standardize.pipeline import REGISTER

    now = _std_parts(ctx, sorted(_std_inputs(ctx)))
    previous = ctx.previous
    if previous is None:
        return now, sorted(now)
    changed = sorted(t for t in now if previous.get(t) != now[t])
    if any(t in REGISTER for t in changed):
        return now, sorted(now)
    return now, changed


def quality(ctx: RunContext, report: Report) -> StepResult:
    from citybrain.govern.quality import quality_report

    result = quality_report(ctx.workspace, engine=ctx.engine, record=True)
    if not result.sources:
        return StepResult("no std tables yet", 0)
    low = min(result.sources, key=lambda s: s.score)
    return StepResult(
        f"{len(result.sources)} sources scored, lowest {low.system} {low.score:.1f}; "
        f"{len(result.alerts)} alerts (see `citybrain quality`)",
        sum(s.rows for s in result.sources),
    )


def resolve(ctx: RunContext, report: Report) -> StepResult:
    """Build the base kinds whose std tables, settings or base tables changed since this step
    last did its work (every kind the first time); the others' tables are kept as they are."""
    from citybrain.govern.base import BASE_ORDER, build_workspace_base

    before, redo = _base_to_redo(ctx)
    if not redo:
        return StepResult("no base kind has new inputs: every base table kept", 0, 0, parts=before)
    build = build_workspace_base(ctx.workspace, run_id=ctx.run_id, report=report, kinds=redo)
    parts = {**before, **_base_parts(ctx, redo)}
    if not build.rows and len(redo) == len(BASE_ORDER):
        return StepResult("no std tables with persons or enterprises yet", 0, 0, parts=parts)
    golden = sum(n for k, n in build.rows.items() if not k.endswith("_link"))
    return StepResult(build.summary(), sum(build.source_records.values()), golden, parts=parts)


def _base_parts(ctx: RunContext, kinds: list[str]) -> dict[str, str]:
    """Per base kind: a fingerprint of the std tables it reads, its settings and the resolver's
    version, then (after a ``/``) one of the base tables it wrote — so that a kind whose inputs
    changed, or whose tables were changed or removed since, is built again."""
    from citybrain.govern.base import BASE_TABLES, kind_inputs, kind_settings
    from citybrain.govern.resolve import load_resolve_config
    from citybrain.govern.resolve.pipeline import RESOLVER_VERSION
    from citybrain.pipeline.fingerprint import combine, config_fingerprint, dataset_fingerprint

    root, lake = ctx.workspace.root, ctx.workspace.lake
    config = load_resolve_config(root, ctx.workspace.config.resolve)
    inputs = kind_inputs(config)
    common = [("resolver", RESOLVER_VERSION), ("config", config_fingerprint(ctx.workspace))]
    parts: dict[str, str] = {}
    for kind in kinds:
        read = [(t, dataset_fingerprint(lake, root, f"std/{t}")) for t in inputs[kind]]
        settings = ("settings", kind_settings(config, kind))
        written = [(t, dataset_fingerprint(lake, root, f"base/{t}")) for t in BASE_TABLES[kind]]
        parts[kind] = f"{combine([*common, settings, *read])}/{combine(written)}"
    return parts


def _base_to_redo(ctx: RunContext) -> tuple[dict[str, str], list[str]]:
    """The parts as they stand and the base kinds to build again, in build order: those whose
    part changed, and dwellings whenever persons or enterprises are built again (dwelling links
    are read from their links); every kind with nothing recorded."""
    from citybrain.govern.base import BASE_ORDER

    now = _base_parts(ctx, list(BASE_ORDER))
    previous = ctx.previous
    if previous is None:
        return now, list(BASE_ORDER)
    changed = {kind for kind in now if previous.get(kind) != now[kind]}
    if changed & {"person", "enterprise"}:
        changed.add("dwelling")
    return now, [kind for kind in BASE_ORDER if kind in changed]


def topic_step(topic: Topic) -> Step:
    """Run one topic on its declared inputs and store its findings under the run's id."""
    name = topic.name

    def run(ctx: RunContext, report: Report) -> StepResult:
        from citybrain.cases import outcome_labels
        from citybrain.topics.errors import NotEnoughData
        from citybrain.topics.runner import (
            check_inputs,
            findings_table_name,
            read_inputs,
            run_topic,
        )

        check = check_inputs(topic, ctx.catalog)
        if not check.passed:
            return StepResult(f"inputs not ready: {check.message()}", 0, 0)
        stored = _findings_of_run(ctx, findings_table_name(name))
        if stored:
            # An earlier attempt of this run stored them and was stopped before it said so.
            return StepResult(f"{stored} findings (stored earlier in this run)", None, stored)
        # The closed loop: case outcomes are the topic's labels.
        labels = outcome_labels(ctx.ops_engine, name).select(["subject_id", "period", "label"])
        # The runner hands the topic its declared inputs (the step's ``reads``), nothing else.
        inputs = read_inputs(topic, ctx.engine)
        rows_in = sum(_count(ctx, table) for table in inputs.values())
        try:
            result = run_topic(topic, ctx.workspace, ctx.engine, ctx.catalog, labels=labels,
                               run_id=ctx.run_id, inputs=inputs)  # fmt: skip
        except NotEnoughData as exc:  # e.g. a scorecard with too few labels: say so, go on
            return StepResult(f"not enough data: {exc}", rows_in, 0)
        return StepResult(f"{result.findings} findings", rows_in, result.findings)

    after = {"standardize"}
    if any(spec.zone == "base" for spec in topic.inputs):
        after.add("resolve")
    return Step(
        f"{TOPIC}:{name}",
        f"{topic.title_en} ({topic.title_zh})",
        run,
        after=tuple(sorted(after)),
        reads=tuple(f"{spec.zone}/{spec.table}" for spec in topic.inputs),
        writes=(f"topic/{name}_findings",),
        group=TOPIC,
        stamp=lambda ctx: _topic_stamp(ctx, topic),
    )


def _topic_stamp(ctx: RunContext, topic: Topic) -> str:
    """The topic's version, the parameters this workspace gives it (imported or its own) and
    its labels (the outcomes of its closed cases)."""
    from citybrain.cases import outcome_labels
    from citybrain.pipeline.fingerprint import combine
    from citybrain.topics.bundle import imported_params
    from citybrain.topics.settings import workspace_params

    params = imported_params(ctx.workspace, topic) or workspace_params(ctx.workspace, topic)
    labels = outcome_labels(ctx.ops_engine, topic.name).select(["subject_id", "period", "label"])
    rows = sorted(repr(sorted(row.items())) for row in labels.to_pylist())
    return combine([("version", topic.model_version), ("params", repr(params)),
                    ("labels", combine((str(i), r) for i, r in enumerate(rows)))])  # fmt: skip


def _findings_of_run(ctx: RunContext, table: str) -> int:
    """How many findings the topic table holds for this run (0 when it has none)."""
    if not ctx.engine.exists("topic", table):
        return 0
    findings = ctx.engine.table("topic", table)
    return _count(ctx, findings.filter(findings.run_id == ctx.run_id))


def _count(ctx: RunContext, table: ir.Table) -> int:
    return int(ctx.engine.to_arrow(table.count().as_table()).column(0)[0].as_py())


def cases(ctx: RunContext, report: Report) -> StepResult:
    """Open cases from each topic's findings of its latest period, routed to departments."""
    import pyarrow.compute as pc

    from citybrain.cases import area_names, department_hints, open_cases, settings_for_workspace
    from citybrain.topics import discover_topics
    from citybrain.topics.runner import latest_findings

    topics = [cls() for cls in discover_topics().values()]
    hints = department_hints(topics)
    settings = settings_for_workspace(ctx.workspace.root)
    names = area_names(ctx.workspace)
    parts: list[str] = []
    rows_in = rows_out = 0
    for topic in topics:
        findings = latest_findings(ctx.engine, topic.name)
        if findings.num_rows == 0:
            continue
        latest = pc.max(findings.column("period")).as_py()
        current = findings.filter(pc.equal(findings.column("period"), latest))
        report(topic.name)
        result = open_cases(
            ctx.ops_engine, current, settings=settings, hints=hints, area_names=names
        )
        rows_in += current.num_rows
        rows_out += len(result.opened) + len(result.attached_to)
        parts.append(
            f"{topic.name} {latest}: {len(result.opened)} opened, "
            f"{len(result.attached_to)} updated, {result.dispatched} dispatched"
        )
    return StepResult("; ".join(parts) or "no findings to act on", rows_in, rows_out)


def daily_report(ctx: RunContext, report: Report) -> StepResult:
    """Write the daily report of the run's data day (``report.data_day`` says which and why).

    A city with no topic results and no cases yet gets none. ``[report] daily = false`` switches
    the step off, ``pdf = false`` keeps it to the HTML. A PDF Chromium cannot print fails the
    step in part — the HTML is written and the run's findings and cases are kept; the next run
    tries again.
    """
    from citybrain.core.errors import UserError
    from citybrain.report import daily_figures, data_day, print_pdf, write_daily_html

    settings = ctx.workspace.config.report
    if not settings.daily:
        return StepResult("switched off ([report] daily = false in citybrain.toml)", 0, 0)
    day, why = data_day(ctx.workspace, engine=ctx.engine)
    report(day.isoformat())
    figures = daily_figures(ctx.workspace, day, engine=ctx.engine)
    if figures.empty:
        return StepResult("nothing to report yet: no topic results and no cases", 0, 0)
    written = write_daily_html(ctx.workspace, day, figures=figures)
    rows_in = figures.findings_new + figures.cases_opened
    shown = f"reports/{written.html.name}"
    if not settings.pdf:
        return StepResult(
            f"daily report {day} ({why}): {shown}; no PDF ([report] pdf = false)", rows_in, 1
        )
    try:
        print_pdf(written.html, written.pdf)
    except UserError as exc:
        return StepResult(
            f"daily report {day} ({why}): {shown} written, no PDF", rows_in, 1,
            failed=f"PDF not printed: {exc}",
        )  # fmt: skip
    return StepResult(f"daily report {day} ({why}): {shown} and .pdf", rows_in, 2)


def _after_the_topics_they_read(topics: list[Step]) -> list[Step]:
    """A topic that reads another's findings (economic operation overlays enterprise warnings)
    runs after it, so it sees this run's findings and not the last run's."""
    writers = {dataset: step.name for step in topics for dataset in step.writes}
    ordered = []
    for step in topics:
        read = {writers[r] for r in step.reads if r in writers} - {step.name}
        ordered.append(replace(step, after=tuple(sorted({*step.after, *read}))))
    return ordered


def _resolve_reads(workspace: Workspace) -> tuple[str, ...]:
    """The std tables the base zone is built from under the workspace's ``[resolve]`` settings
    (every std table when those settings do not load: the step itself will say why)."""
    from citybrain.core.errors import UserError
    from citybrain.govern.base.workspace import base_inputs
    from citybrain.govern.resolve import load_resolve_config

    try:
        config = load_resolve_config(workspace.root, workspace.config.resolve)
    except (UserError, ValueError):
        return ("std/*",)
    return tuple(f"std/{name}" for name in base_inputs(config))


def build_graph(workspace: Workspace) -> Graph:
    """The pipeline of ``workspace``: its source contracts and the installed topics decide the
    ingest and topic steps."""
    from citybrain.ingest import discover_sources
    from citybrain.topics import discover_topics

    ingests = [ingest_step(path) for path in discover_sources(workspace)]
    topics = _after_the_topics_they_read([topic_step(cls()) for cls in discover_topics().values()])
    landed = tuple(step.name for step in ingests) or ("migrate",)
    return Graph(
        [
            Step("migrate", "bring the ops database schema up to date", migrate,
                 writes=("ops/schema",), incremental=False),
            *ingests,
            Step("standardize", "raw loads to std tables, validated and flagged", standardize,
                 after=landed, reads=("raw/*",), writes=("std/*",)),
            Step("quality", "score every source's data quality and raise alerts", quality,
                 after=("standardize",), reads=("std/*",), writes=("ops/quality",)),
            Step("resolve", "link persons and enterprises across systems; build the base zone",
                 resolve, after=("standardize",), reads=_resolve_reads(workspace),
                 writes=("base/*",)),
            *topics,
            Step("cases", "open and route cases for the latest findings of every topic", cases,
                 after=tuple(step.name for step in topics) or ("standardize",),
                 reads=("topic/*",), writes=("ops/cases",)),
            Step("report", "write the daily report (大数据专报) of the data's latest day",
                 daily_report, after=("cases",), reads=("topic/*", "ops/cases", "ops/catalog"),
                 writes=("reports/daily",)),
        ]
    )  # fmt: skip
