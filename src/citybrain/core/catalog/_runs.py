"""Load runs, pipeline runs and the headline figures drawn from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from citybrain.core.catalog._datasets import newest_stats
from citybrain.core.catalog.types import (
    HeadlineFigures,
    LoadNotFound,
    LoadOutcome,
    LoadRunInfo,
    PipelineRunInfo,
    PipelineStepInfo,
    PipelineStepOutcome,
    RunStatus,
    SystemSummary,
)
from citybrain.core.opsdb.models import (
    CatalogDataset,
    LoadRun,
    PipelineRun,
    PipelineStep,
)


def start_load(
    db: Session, *, load_id: str, source_system: str, run_id: str | None, now: datetime
) -> LoadRun:
    if db.get(LoadRun, load_id) is not None:
        # A load id names one load; reusing it would overwrite the record of what landed.
        raise ValueError(f"load {load_id} is already recorded")
    row = LoadRun(
        load_id=load_id,
        source_system=source_system,
        run_id=run_id,
        status="running",
        started_at=now,
        quarantined_by_reason={},
    )
    db.add(row)
    db.flush()
    return row


def check_reconciled(load_id: str, outcome: LoadOutcome) -> None:
    """Nothing lost: a succeeded load's rows read are exactly those landed plus quarantined."""
    if outcome.status != "succeeded":
        return
    if outcome.rows_read != outcome.rows_landed + outcome.rows_quarantined:
        raise ValueError(
            f"load {load_id} does not reconcile: read {outcome.rows_read} != landed "
            f"{outcome.rows_landed} + quarantined {outcome.rows_quarantined}"
        )
    by_reason = sum(outcome.quarantined_by_reason.values())
    if by_reason != outcome.rows_quarantined:
        raise ValueError(
            f"load {load_id}: quarantined by reason adds up to {by_reason}, "
            f"not {outcome.rows_quarantined}"
        )


def finish_load(db: Session, load_id: str, outcome: LoadOutcome, now: datetime) -> LoadRun:
    row = require_load(db, load_id)
    if row.status != "running":
        raise ValueError(f"load {load_id} already finished ({row.status})")
    check_reconciled(load_id, outcome)
    for field, value in outcome.model_dump().items():
        setattr(row, field, value)
    row.finished_at = now
    db.flush()
    return row


def require_load(db: Session, load_id: str) -> LoadRun:
    row = db.get(LoadRun, load_id)
    if row is None:
        raise LoadNotFound(f"no load {load_id} in the catalog")
    return row


def to_load(row: LoadRun) -> LoadRunInfo:
    return LoadRunInfo.model_validate(row, from_attributes=True)


def list_loads(
    db: Session, *, source_system: str | None, status: RunStatus | None, limit: int
) -> list[LoadRunInfo]:
    query = select(LoadRun).order_by(LoadRun.started_at.desc(), LoadRun.load_id).limit(limit)
    if source_system is not None:
        query = query.where(LoadRun.source_system == source_system)
    if status is not None:
        query = query.where(LoadRun.status == status)
    return [to_load(row) for row in db.scalars(query)]


def start_pipeline(
    db: Session, *, run_id: str, command: str, stages: list[dict[str, Any]], now: datetime
) -> PipelineRun:
    row = PipelineRun(
        run_id=run_id, command=command, status="running", started_at=now, stages=stages
    )
    db.add(row)
    db.flush()
    return row


def require_pipeline(db: Session, run_id: str) -> PipelineRun:
    row = db.get(PipelineRun, run_id)
    if row is None:
        raise LookupError(f"no pipeline run {run_id}")
    return row


def finish_pipeline(
    db: Session,
    run_id: str,
    *,
    status: RunStatus,
    stages: list[dict[str, Any]] | None,
    error_message: str | None,
    now: datetime,
) -> PipelineRun:
    row = require_pipeline(db, run_id)
    row.status = status
    if stages is not None:
        row.stages = stages
    row.error_message = error_message
    row.finished_at = None if status == "running" else now
    db.flush()
    return row


def start_step(
    db: Session, *, run_id: str, name: str, position: int, now: datetime
) -> PipelineStep:
    """A new attempt at ``name`` in run ``run_id`` (attempt 1, or one more than the last)."""
    require_pipeline(db, run_id)
    last = db.scalar(
        select(func.max(PipelineStep.attempt)).where(
            PipelineStep.run_id == run_id, PipelineStep.name == name
        )
    )
    row = PipelineStep(
        run_id=run_id,
        name=name,
        position=position,
        attempt=(last or 0) + 1,
        status="running",
        started_at=now,
    )
    db.add(row)
    db.flush()
    return row


def finish_step(
    db: Session, step_id: int, outcome: PipelineStepOutcome, now: datetime
) -> PipelineStep:
    row = db.get(PipelineStep, step_id)
    if row is None:
        raise LookupError(f"no pipeline step {step_id}")
    for name, value in outcome.model_dump().items():
        setattr(row, name, value)
    row.finished_at = now
    db.flush()
    return row


def to_step(row: PipelineStep) -> PipelineStepInfo:
    return PipelineStepInfo.model_validate(row, from_attributes=True)


def to_pipeline(row: PipelineRun, steps: list[PipelineStep] | None = None) -> PipelineRunInfo:
    info = PipelineRunInfo.model_validate(row, from_attributes=True)
    if steps is None:
        return info
    return info.model_copy(update={"steps": tuple(to_step(step) for step in steps)})


def list_pipelines(db: Session, *, limit: int) -> list[PipelineRunInfo]:
    """Newest first, each with its step attempts in the order they started."""
    runs = list(
        db.scalars(
            select(PipelineRun)
            .order_by(PipelineRun.started_at.desc(), PipelineRun.run_id.desc())
            .limit(limit)
        )
    )
    if not runs:
        return []
    by_run: dict[str, list[PipelineStep]] = {run.run_id: [] for run in runs}
    steps = db.scalars(
        select(PipelineStep).where(PipelineStep.run_id.in_(list(by_run))).order_by(PipelineStep.id)
    )
    for step in steps:
        by_run[step.run_id].append(step)
    return [to_pipeline(run, by_run[run.run_id]) for run in runs]


def headline(db: Session) -> HeadlineFigures:
    succeeded = LoadRun.status == "succeeded"
    systems, records, last = db.execute(
        select(
            func.count(func.distinct(LoadRun.source_system)),
            func.coalesce(func.sum(LoadRun.rows_landed), 0),
            func.max(LoadRun.finished_at),
        ).where(succeeded)
    ).one()
    # A dataset whose latest recorded row count is 0 is no dataset a leader should count;
    # one never measured (a source system's entry) still is.
    newest = newest_stats()
    empty = select(newest.c.dataset_id).where(newest.c.rows == 0)
    counted = (
        select(CatalogDataset.zone, func.count())
        .where(CatalogDataset.id.not_in(empty))
        .group_by(CatalogDataset.zone)
    )
    # .all(): dict() would take a Result for a mapping (it has keys()) and fail.
    by_zone: dict[str, int] = dict(db.execute(counted).all())
    return HeadlineFigures(
        systems_connected=systems,
        records_aggregated=int(records),
        datasets=sum(by_zone.values()),
        datasets_by_zone=by_zone,
        last_load_at=last,
    )


def systems(db: Session) -> list[SystemSummary]:
    """Per source system: how many loads, how much landed, and how the latest one went."""
    succeeded = LoadRun.status == "succeeded"
    totals = db.execute(
        select(
            LoadRun.source_system,
            func.count(),
            func.count(case((succeeded, 1))),
            func.coalesce(func.sum(case((succeeded, LoadRun.rows_landed), else_=0)), 0),
            func.coalesce(func.sum(case((succeeded, LoadRun.rows_quarantined), else_=0)), 0),
            func.max(case((succeeded, LoadRun.finished_at))),
        ).group_by(LoadRun.source_system)
    ).all()
    ranked = select(
        LoadRun.load_id,
        func.row_number()
        .over(
            partition_by=LoadRun.source_system,
            order_by=(LoadRun.started_at.desc(), LoadRun.load_id.desc()),
        )
        .label("rank"),
    ).subquery()
    latest = {
        row.source_system: row
        for row in db.scalars(
            select(LoadRun)
            .join(ranked, ranked.c.load_id == LoadRun.load_id)
            .where(ranked.c.rank == 1)
        )
    }
    return [
        SystemSummary(
            system_id=system,
            loads=loads,
            succeeded_loads=ok,
            rows_landed=int(landed),
            rows_quarantined=int(quarantined),
            last_load=to_load(latest[system]),
            last_success_at=last_success,
        )
        for system, loads, ok, landed, quarantined, last_success in sorted(totals)
    ]
