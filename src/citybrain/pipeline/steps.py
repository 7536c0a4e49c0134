"""The steps of a city's pipeline and the graph they make on one workspace.

migrate → ingest (one step per source contract) → standardize → quality → resolve (persons and
enterprises linked, the base zone built) → one step per installed topic → cases → report (the
daily report of the data's latest day, HTML and PDF, in ``reports/``; ``[report]`` in
citybrain.toml switches it or its PDF off).

Every step is safe to run again after it was killed: ingest skips deliveries already landed (per
load manifest, under the source's lock), the std and base tables are replaced whole — or, for a
std table, the rows of new loads appended, which a run killed before recording it does not repeat
(the table no longer is the one recorded, so the next run rebuilds it) —, a topic's findings carry
the run id and a topic that already stored findings in this run is not run twice, and cases attach
evidence they already hold only once; the report's files are replaced whole.

An ingest step whose contract and delivered files are as when it last did its work is skipped
(`citybrain.pipeline.deliveries`). Standardize and resolve redo only their parts whose inputs
changed (``StepResult.parts``): the std tables with new loads (appending those loads' rows where a
rebuild would give the same) and the base kinds whose std tables changed. A topic that declares
its findings per day of one time-series input (`citybrain.topics.base.PeriodSpec`) recomputes only
the days whose rows were appended since its last run (`citybrain.pipeline.topic_increment`).
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.pipeline.graph import Graph, Report, Step, StepResult

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

    from citybrain.core.workspace import Workspace
    from citybrain.govern.standardize import RawSource
    from citybrain.pipeline.context import RunContext
    from citybrain.report import PdfPrinter
    from citybrain.topics.base import Topic

INGEST = "ingest"
TOPIC = "topic"


def migrate(ctx: RunContext, report: Report) -> StepResult:
    from citybrain.core.opsdb import current_revision, upgrade

    upgrade(ctx.ops_engine)
    return StepResult(f"ops database at revision {current_revision(ctx.ops_engine)}")


def ingest_step(contract: Path) -> Step:
    """Land every delivery of one source that is not landed yet. A source delivered as files is
    skipped while its contract and files are as when the step last did its work
    (`citybrain.pipeline.deliveries`); one delivered by a database, an API or a stream runs
    every time."""
    from citybrain.pipeline.deliveries import deliveries_stamp, delivers_files

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

    files = delivers_files(contract)
    return Step(
        f"{INGEST}:{contract.stem}",
        f"land the new deliveries of {contract.stem} in the raw zone",
        ingest,
        after=("migrate",),
        reads=(f"source/{contract.stem}",),
        writes=(f"raw/{contract.stem}", f"quarantine/{contract.stem}"),
        group=INGEST,
        # otherwise it asks for new rows itself (and skips the deliveries landed)
        incremental=files,
        stamp=(lambda ctx: deliveries_stamp(contract)) if files else None,
    )


def standardize(ctx: RunContext, report: Report) -> StepResult:
    """Standardise the std tables whose systems landed new loads since this step last did its
    work (every table the first time, or when the address register changed). A table whose only
    change is new loads of its systems gets their rows appended when that gives what a rebuild
    would (`citybrain.govern.standardize.append`); otherwise it is rebuilt whole."""
    from citybrain.govern.standardize import standardize_workspace
    from citybrain.govern.standardize.workspace import workspace_sources

    sources = workspace_sources(ctx.workspace)
    # Standardising writes std tables only: its inputs are read once, before and after alike.
    inputs = _std_inputs(ctx, sources)
    before, redo = _std_to_redo(ctx, inputs)
    if not redo:
        return StepResult("no std table has new loads", 0, 0, parts=before)
    every = sorted(t for t in before if not t.endswith(LOADS))
    tables = None if redo == every else redo
    append = _std_appendable(ctx, sources, before, redo)
    result = standardize_workspace(ctx.workspace, engine=ctx.engine, catalog=ctx.catalog,
                                   tables=tables, append=append)  # fmt: skip
    rows = sum(t.rows for t in result.tables)
    raw = sum(s.raw_rows for t in result.tables for s in t.sources)
    note = "" if result.reconciled else "; counts do NOT reconcile (see `citybrain quality`)"
    kept = f" ({len(every) - len(redo)} unchanged kept)" if tables is not None else ""
    appended = [f"{t.table} +{t.appended:,}" for t in result.tables if t.appended is not None]
    if appended:
        note = f"; new loads' rows appended to {', '.join(appended)}{note}"
    parts = {**before, **_std_parts(ctx, inputs, redo)}
    return StepResult(
        f"{len(result.tables)} std tables, {rows:,} rows{kept}{note}", raw, rows, parts=parts
    )


#: suffix of the part that records which loads of which systems a std table was made from
LOADS = ":loads"


def _std_inputs(
    ctx: RunContext, sources: dict[str, list[RawSource]]
) -> tuple[dict[str, str], dict[str, str]]:
    """Per std table: a fingerprint of the raw loads of the systems that feed it, the address
    rules and the configuration; and the same per system, as JSON: the loads (how many, and a
    fingerprint of their files) and the contract's mapping, beside the rules and configuration
    (what `_std_appendable` compares)."""
    from citybrain.address.rules import rules_version
    from citybrain.pipeline.fingerprint import combine, config_fingerprint, dataset_fingerprint

    root, lake = ctx.workspace.root, ctx.workspace.lake
    common = [("rules", rules_version()), ("config", config_fingerprint(ctx.workspace))]
    prints: dict[str, str] = {}
    loads: dict[str, str] = {}
    for table, feeding in sources.items():
        raw = [(s.system, dataset_fingerprint(lake, root, f"raw/{s.system}")) for s in feeding]
        prints[table] = combine([*common, *raw])
        systems = {
            s.system: [len(s.load_ids), _loads_print(ctx, s), _mapping_print(s)] for s in feeding
        }
        loads[table] = json.dumps({"common": combine(common), "systems": systems}, sort_keys=True)
    return prints, loads


def _loads_print(ctx: RunContext, source: RawSource, count: int | None = None) -> str:
    """A fingerprint of the files of ``source``'s first ``count`` loads (all by default)."""
    from citybrain.ingest.rawzone import PARTITION
    from citybrain.pipeline.fingerprint import combine, dataset_fingerprint

    root, lake = ctx.workspace.root, ctx.workspace.lake
    return combine(
        (f"{i:09d}", dataset_fingerprint(lake, root, f"raw/{source.system}/{PARTITION}{load}"))
        for i, load in enumerate(source.load_ids[:count])
    )


def _mapping_print(source: RawSource) -> str:
    """What of a system's contract and landed columns decides its std rows."""
    from citybrain.pipeline.fingerprint import combine

    mapping = source.contract.model_dump_json(include={"standard", "constants", "mapping", "keys"})
    return combine([("contract", mapping), ("columns", ",".join(source.columns))])


def _std_parts(
    ctx: RunContext, std_inputs: tuple[dict[str, str], dict[str, str]], tables: list[str]
) -> dict[str, str]:
    """What to find again next run: each table's inputs (`_std_inputs`) and the std table they
    made, and which loads it was made from (``<table>:loads``)."""
    from citybrain.pipeline.fingerprint import dataset_fingerprint

    inputs, loads = std_inputs
    root, lake = ctx.workspace.root, ctx.workspace.lake
    parts: dict[str, str] = {}
    for t in (t for t in tables if t in inputs):
        parts[t] = f"{inputs[t]}/{dataset_fingerprint(lake, root, f'std/{t}')}"
        parts[t + LOADS] = loads[t]
    return parts


def _std_to_redo(
    ctx: RunContext, std_inputs: tuple[dict[str, str], dict[str, str]]
) -> tuple[dict[str, str], list[str]]:
    """The parts as they stand and the std tables to standardise again, sorted: those whose
    inputs or whose std table changed since; all of them after a change of the address
    register (every address is matched against it) or with nothing recorded."""
    from citybrain.govern.standardize.pipeline import REGISTER

    now = _std_parts(ctx, std_inputs, sorted(std_inputs[0]))
    tables = sorted(t for t in now if not t.endswith(LOADS))
    previous = ctx.previous
    if previous is None:
        return now, tables
    changed = [t for t in tables if previous.get(t) != now[t]]
    if any(t in REGISTER for t in changed):
        return now, tables
    return now, changed


def _std_appendable(
    ctx: RunContext, sources: dict[str, list[RawSource]], now: dict[str, str], redo: list[str]
) -> dict[str, dict[str, int]]:
    """Of the tables to standardise again, those whose only change since they were made is new
    loads after the loads they were made from — same rules, configuration and contracts, the
    same files in those loads, the std table untouched, the register unchanged — each with how
    many loads of each system it was made from. Standardisation appends their new loads' rows
    when no row already there can change (and rebuilds the table otherwise)."""
    from citybrain.govern.standardize.pipeline import REGISTER

    previous = ctx.previous
    if previous is None or any(t in REGISTER for t in redo):
        return {}
    out: dict[str, dict[str, int]] = {}
    for table in redo:
        made, recorded = previous.get(table), previous.get(table + LOADS)
        if made is None or recorded is None:
            continue
        if made.rpartition("/")[2] != now[table].rpartition("/")[2]:
            continue  # the std table was changed since it was made
        before, current = json.loads(recorded), json.loads(now[table + LOADS])
        same_systems = before["systems"].keys() == current["systems"].keys()
        if before["common"] != current["common"] or not same_systems:
            continue
        counts = _loads_before(ctx, sources[table], before["systems"], current["systems"])
        if counts is not None:
            out[table] = counts
    return out


def _loads_before(
    ctx: RunContext,
    sources: list[RawSource],
    before: dict[str, list[object]],
    current: dict[str, list[object]],
) -> dict[str, int] | None:
    """System -> how many of its loads the table was made from, when every system's loads then
    are the first of its loads now, with the same files and the same contract mapping, and at
    least one system has loads since; else ``None``."""
    counts: dict[str, int] = {}
    for source in sources:
        count, files, mapping = before[source.system]
        if not isinstance(count, int) or count > len(source.load_ids):
            return None
        if mapping != current[source.system][2] or files != _loads_print(ctx, source, count):
            return None
        counts[source.system] = count
    grown = any(counts[s.system] < len(s.load_ids) for s in sources)
    return counts if grown else None


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
        from citybrain.topics.runner import check_inputs, findings_table_name, read_inputs

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
        try:
            return _run_topic(ctx, topic, labels, inputs)
        except NotEnoughData as exc:  # e.g. a scorecard with too few labels: say so, go on
            rows_in = sum(ctx.engine.count(table) for table in inputs.values())
            return StepResult(f"not enough data: {exc}", rows_in, 0)

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


def _run_topic(
    ctx: RunContext, topic: Topic, labels: pa.Table, inputs: dict[str, ir.Table]
) -> StepResult:
    """Run the topic and store its findings; a periodic topic only for the days new rows touch,
    when nothing else changed (`citybrain.pipeline.topic_increment`)."""
    from citybrain.pipeline.topic_increment import run_periodic
    from citybrain.topics.runner import run_topic, topic_params

    spec = topic.period_spec(topic_params(ctx.workspace, topic))
    if spec is not None and spec.input in inputs:
        return run_periodic(ctx, topic, spec, _topic_stamp(ctx, topic), labels, inputs)
    result = run_topic(topic, ctx.workspace, ctx.engine, ctx.catalog, labels=labels,
                       run_id=ctx.run_id, inputs=inputs)  # fmt: skip
    rows_in = sum(ctx.engine.count(table) for table in inputs.values())
    return StepResult(f"{result.findings} findings", rows_in, result.findings)


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
    return ctx.engine.count(findings.filter(findings.run_id == ctx.run_id))


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
    settings = ctx.workspace.config.report
    if not settings.daily:
        return StepResult("switched off ([report] daily = false in citybrain.toml)", 0, 0)
    from citybrain.report import PdfPrinter

    # Chromium starts while the figures are read and the HTML written (a second of the step)
    with PdfPrinter() if settings.pdf else nullcontext() as printer:
        return _write_report(ctx, report, printer)


def _write_report(ctx: RunContext, report: Report, printer: PdfPrinter | None) -> StepResult:
    from citybrain.core.errors import UserError
    from citybrain.report import daily_figures, data_day, write_daily_html

    day, why = data_day(ctx.workspace, engine=ctx.engine)
    report(day.isoformat())
    figures = daily_figures(ctx.workspace, day, engine=ctx.engine)
    if figures.empty:
        return StepResult("nothing to report yet: no topic results and no cases", 0, 0)
    written = write_daily_html(ctx.workspace, day, figures=figures)
    rows_in = figures.findings_new + figures.cases_opened
    shown = f"reports/{written.html.name}"
    if printer is None:
        return StepResult(
            f"daily report {day} ({why}): {shown}; no PDF ([report] pdf = false)", rows_in, 1
        )
    try:
        printer.print(written.html, written.pdf)
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
