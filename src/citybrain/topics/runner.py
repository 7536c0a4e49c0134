"""Running a topic: check inputs against the catalog, run, store findings per run, record lineage.

Findings land in the lake at ``topic/<topic>_findings``, one ``run_id=…`` partition per run, and are
registered in the catalog with lineage from every input dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.catalog import ColumnInfo, DatasetNotFound, DatasetSpec
from citybrain.core.errors import UserError
from citybrain.core.logging import get_logger, new_run_id
from citybrain.topics.base import KeptState, Topic, TopicContext, TopicParams, UndeclaredColumn
from citybrain.topics.findings import FINDINGS_SCHEMA, validate_findings

if TYPE_CHECKING:
    from collections.abc import Mapping

    import ibis.expr.types as ir

    from citybrain.core.catalog import Catalog
    from citybrain.core.engine import Engine
    from citybrain.core.workspace import Workspace

log = get_logger("citybrain.topics")


class MissingInputs(UserError):
    """A topic's declared inputs are not in the catalog (one message lists all of them)."""


@dataclass(frozen=True)
class InputCheck:
    topic: str
    missing_tables: tuple[str, ...] = ()
    missing_columns: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def passed(self) -> bool:
        return not self.missing_tables and not self.missing_columns

    def message(self) -> str:
        parts = [f"table {t}" for t in self.missing_tables]
        parts += [f"{t} columns {', '.join(cols)}" for t, cols in self.missing_columns]
        return f"topic {self.topic} cannot run, missing: " + "; ".join(parts)


def check_inputs(topic: Topic, catalog: Catalog) -> InputCheck:
    """Compare the topic's declared inputs with what the catalog holds."""
    missing_tables: list[str] = []
    missing_columns: list[tuple[str, tuple[str, ...]]] = []
    for spec in topic.inputs:
        try:
            dataset = catalog.get_dataset((spec.zone, spec.table))
        except DatasetNotFound:
            if not spec.optional:
                missing_tables.append(spec.dataset)
            continue
        have = {column.name for column in dataset.columns}
        lacking = tuple(c for c in spec.columns if c not in have)
        if lacking:
            missing_columns.append((spec.dataset, lacking))
    return InputCheck(topic.name, tuple(missing_tables), tuple(missing_columns))


def findings_table_name(topic_name: str) -> str:
    return f"{topic_name}_findings"


@dataclass(frozen=True)
class TopicRun:
    topic: str
    run_id: str
    findings: int
    by_level: dict[str, int] = field(default_factory=dict)
    path: Path | None = None


def read_inputs(topic: Topic, engine: Engine) -> dict[str, ir.Table]:
    """The topic's declared inputs that are in the lake, ``"std.complaint"`` → table, each cut
    down to its declared columns (and the implicit ones, `IMPLICIT_COLUMNS`): a topic reading a
    column it did not declare fails instead of silently depending on it."""
    inputs = {}
    for spec in topic.inputs:
        if not engine.exists(spec.zone, spec.table):
            continue
        table = engine.table(spec.zone, spec.table)
        allowed = spec.allowed(tuple(table.columns))
        inputs[spec.dataset] = (
            table if len(allowed) == len(table.columns) else table.select(*allowed)
        )
    return inputs


def _undeclared(topic: Topic, engine: Engine, error: Exception) -> str | None:
    """``input.column`` when ``error`` is the topic reaching for a column it did not declare."""
    text = str(error)
    for spec in topic.inputs:
        if not engine.exists(spec.zone, spec.table):
            continue
        available = tuple(engine.table(spec.zone, spec.table).columns)
        hidden = set(available) - set(spec.allowed(available))
        for column in sorted(hidden):
            if f"'{column}'" in text or f'"{column}"' in text:
                return f"{spec.dataset}.{column}"
    return None


def run_declared(topic: Topic, ctx: TopicContext, engine: Engine) -> pa.Table:
    """``topic.run(ctx)``; reading an undeclared column fails with one line naming it."""
    try:
        return topic.run(ctx)
    except (AttributeError, KeyError, LookupError, ValueError, TypeError) as exc:
        column = _undeclared(topic, engine, exc)
        if column is None:
            raise
        raise UndeclaredColumn(
            f"topic {topic.name} reads {column}, which it does not declare in its inputs"
        ) from exc


def topic_params(workspace: Workspace, topic: Topic) -> TopicParams:
    """The parameters ``topic`` runs and is evaluated with in this city: an imported bundle's (a
    topic taken over from another city), else ``[topics.NAME]`` of citybrain.toml over its
    defaults."""
    from citybrain.topics.bundle import imported_params
    from citybrain.topics.settings import workspace_params

    return imported_params(workspace, topic) or workspace_params(workspace, topic)


def run_topic(
    topic: Topic,
    workspace: Workspace,
    engine: Engine,
    catalog: Catalog,
    *,
    params: TopicParams | None = None,
    labels: pa.Table | None = None,
    run_id: str | None = None,
    inputs: Mapping[str, ir.Table] | None = None,
) -> TopicRun:
    """Run one topic end to end and store its findings as a new run.

    The topic reads only ``inputs`` (default: its declared inputs, `read_inputs`).
    """
    run_id = run_id or new_run_id()
    findings = compute_findings(topic, workspace, engine, catalog, params=params, labels=labels,
                                run_id=run_id, inputs=inputs)  # fmt: skip
    return store_findings(topic, engine, catalog, findings, run_id)


def compute_findings(
    topic: Topic,
    workspace: Workspace,
    engine: Engine,
    catalog: Catalog,
    *,
    run_id: str,
    params: TopicParams | None = None,
    labels: pa.Table | None = None,
    inputs: Mapping[str, ir.Table] | None = None,
    kept: KeptState | None = None,
    side_tables: bool = True,
    whole_series: ir.Table | None = None,
) -> pa.Table:
    """The topic's findings on ``inputs`` (validated), not stored: `run_topic` without the
    store, for a caller that adds findings of its own (the pipeline's kept periods) or hands
    the topic its kept state (``kept``); ``side_tables`` and ``whole_series``: as
    `TopicContext` says."""
    check = check_inputs(topic, catalog)
    if not check.passed:
        raise MissingInputs(check.message(), hint="ingest and standardise those sources first")
    ctx = TopicContext(
        workspace=workspace,
        engine=engine,
        run_id=run_id,
        params=topic_params(workspace, topic) if params is None else params,
        model_version=topic.model_version,
        labels=labels,
        inputs=read_inputs(topic, engine) if inputs is None else inputs,
        kept=kept,
        side_tables=side_tables,
        whole_series=whole_series,
    )
    return validate_findings(run_declared(topic, ctx, engine))


def store_findings(
    topic: Topic, engine: Engine, catalog: Catalog, findings: pa.Table, run_id: str
) -> TopicRun:
    """Store ``findings`` (validated) as the topic's run ``run_id`` and register them."""
    stored = findings.append_column("run_id", pa.array([run_id] * findings.num_rows, pa.string()))
    name = findings_table_name(topic.name)
    info = engine.write(stored, "topic", name, mode="append", partition_by=["run_id"])
    _register(catalog, topic, name, str(info.path), findings.num_rows, run_id)
    levels = pc.value_counts(findings.column("level")).to_pylist() if findings.num_rows else []
    by_level = {str(item["values"]): int(item["counts"]) for item in levels}
    log.info("topic run stored", extra={"topic": topic.name, "findings": findings.num_rows})
    return TopicRun(topic.name, run_id, findings.num_rows, by_level, info.path)


def _register(catalog: Catalog, topic: Topic, name: str, path: str, rows: int, run_id: str) -> None:
    columns = (
        *(ColumnInfo(name=f.name, type=str(f.type), nullable=f.nullable) for f in FINDINGS_SCHEMA),
        ColumnInfo(name="run_id", type="string", nullable=False),
    )
    catalog.register_dataset(
        DatasetSpec(
            zone="topic",
            name=name,
            path=path,
            description=f"{topic.title_zh} / {topic.title_en}: findings per run",
            columns=columns,
        )
    )
    catalog.record_stats(("topic", name), rows=rows, run_id=run_id)
    for spec in topic.inputs:
        try:
            catalog.add_lineage(
                (spec.zone, spec.table), ("topic", name), kind="topic", run_id=run_id
            )
        except DatasetNotFound:
            continue  # an optional input that is absent this run


def latest_findings(engine: Engine, topic_name: str) -> pa.Table:
    """The findings of the topic's most recent run (empty with the schema if it never ran)."""
    name = findings_table_name(topic_name)
    if not engine.exists("topic", name):
        return FINDINGS_SCHEMA.empty_table()
    table = engine.table("topic", name)
    latest = table.aggregate(run_id=table.run_id.max())
    joined = table.semi_join(latest, "run_id").drop("run_id")
    return engine.to_arrow(joined).select(FINDINGS_SCHEMA.names).cast(FINDINGS_SCHEMA)
