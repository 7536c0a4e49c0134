"""`Catalog`: the one object the CLI, the API and the web app use to read and write the catalog."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import URL
from sqlalchemy import Engine as SqlEngine
from sqlalchemy.orm import Session

from citybrain.core.catalog import _datasets, _lineage, _runs
from citybrain.core.catalog.types import (
    Dataset,
    DatasetDetail,
    DatasetKey,
    DatasetSpec,
    Freshness,
    HeadlineFigures,
    LineageEdge,
    LineageGraph,
    LoadOutcome,
    LoadRunInfo,
    PipelineRunInfo,
    PipelineStepInfo,
    PipelineStepOutcome,
    RunStatus,
    StatPoint,
    SystemSummary,
)
from citybrain.core.opsdb import connect, session, upgrade, utcnow

KeyLike = DatasetKey | tuple[str, str] | str


def as_key(key: KeyLike) -> DatasetKey:
    """Accept ``DatasetKey``, a ``(zone, name)`` pair or ``"zone/name"``."""
    if isinstance(key, str):
        return DatasetKey.parse(key)
    return DatasetKey(*key)


class Catalog:
    """Every dataset of every zone: schema, owner, sensitivity, size over time, freshness, lineage.

    Each call is its own transaction and returns frozen values. ``clock`` exists for tests that
    need to move time (freshness); it must return aware datetimes.
    """

    def __init__(self, ops_engine: SqlEngine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.ops_engine = ops_engine
        self._clock = clock

    @classmethod
    def open(cls, url: str | URL, *, migrate: bool = True) -> Catalog:
        """Connect to the ops database at ``url``, upgrading it to the current schema first."""
        ops_engine = connect(url)
        if migrate:
            upgrade(ops_engine)
        return cls(ops_engine)

    def close(self) -> None:
        self.ops_engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with session(self.ops_engine) as db:
            yield db

    # datasets -----------------------------------------------------------------------------------

    def register_dataset(self, spec: DatasetSpec) -> Dataset:
        """Add a dataset, or update its entry to ``spec`` (every field replaced). Idempotent."""
        now = self._clock()
        with self._session() as db:
            row = _datasets.register(db, spec, now)
            return _datasets.get(db, DatasetKey(row.zone, row.name), now)

    def update_dataset(self, key: KeyLike, **changes: Any) -> Dataset:
        """Change some fields of a dataset (description, owner …); zone and name stay."""
        if {"zone", "name"} & changes.keys():
            raise ValueError("a dataset's zone and name identify it and cannot change")
        current = self.get_dataset(key)
        fields = set(DatasetSpec.model_fields)
        spec = DatasetSpec.model_validate({**current.model_dump(include=fields), **changes})
        return self.register_dataset(spec)

    def get_dataset(self, key: KeyLike) -> Dataset:
        with self._session() as db:
            return _datasets.get(db, as_key(key), self._clock())

    def list_datasets(
        self, *, zone: str | None = None, system_id: str | None = None
    ) -> list[Dataset]:
        with self._session() as db:
            return _datasets.list_datasets(db, self._clock(), zone=zone, system_id=system_id)

    def dataset_detail(self, key: KeyLike, *, since: datetime | None = None) -> DatasetDetail:
        """The dataset with its record counts over time, oldest first (from ``since`` if given)."""
        with self._session() as db:
            return _datasets.detail(db, as_key(key), self._clock(), since)

    def record_stats(
        self,
        key: KeyLike,
        *,
        rows: int,
        bytes: int | None = None,
        load_id: str | None = None,
        run_id: str | None = None,
        recorded_at: datetime | None = None,
    ) -> StatPoint:
        """Note the dataset's size now (or at ``recorded_at``); this also marks it refreshed."""
        point = StatPoint(
            rows=rows,
            bytes=bytes,
            load_id=load_id,
            run_id=run_id,
            recorded_at=recorded_at or self._clock(),
        )
        with self._session() as db:
            return _datasets.to_stat(_datasets.record_stats(db, as_key(key), point))

    def freshness(self, key: KeyLike) -> Freshness:
        return self.get_dataset(key).freshness

    # lineage ------------------------------------------------------------------------------------

    def add_lineage(
        self, upstream: KeyLike, downstream: KeyLike, *, kind: str, run_id: str | None = None
    ) -> LineageEdge:
        """Record that ``downstream`` is made from ``upstream`` by a stage of ``kind``."""
        with self._session() as db:
            return _lineage.add_edge(
                db, as_key(upstream), as_key(downstream), kind=kind, run_id=run_id,
                now=self._clock(),
            )  # fmt: skip

    def lineage(self, key: KeyLike, *, depth: int | None = None) -> LineageGraph:
        """All datasets upstream and downstream of ``key`` as nodes and edges."""
        with self._session() as db:
            return _lineage.graph(db, as_key(key), depth)

    # runs ---------------------------------------------------------------------------------------

    def start_load(
        self,
        source_system: str,
        *,
        load_id: str | None = None,
        run_id: str | None = None,
        started_at: datetime | None = None,
    ) -> LoadRunInfo:
        """Open a load run (status ``running``); the id is generated unless given.

        ``started_at`` lets a load be recorded after the fact with its real timings (from its
        manifest); it defaults to now.
        """
        load_id = load_id or new_id("load")
        with self._session() as db:
            row = _runs.start_load(
                db, load_id=load_id, source_system=source_system, run_id=run_id,
                now=started_at or self._clock(),
            )  # fmt: skip
            return _runs.to_load(row)

    def finish_load(
        self, load_id: str, outcome: LoadOutcome, *, finished_at: datetime | None = None
    ) -> LoadRunInfo:
        """Close a load run; a succeeded one must reconcile (read = landed + quarantined)."""
        with self._session() as db:
            row = _runs.finish_load(db, load_id, outcome, finished_at or self._clock())
            return _runs.to_load(row)

    def get_load(self, load_id: str) -> LoadRunInfo:
        with self._session() as db:
            return _runs.to_load(_runs.require_load(db, load_id))

    def list_loads(
        self,
        *,
        source_system: str | None = None,
        status: RunStatus | None = None,
        limit: int = 100,
    ) -> list[LoadRunInfo]:
        """Newest first."""
        with self._session() as db:
            return _runs.list_loads(db, source_system=source_system, status=status, limit=limit)

    def start_pipeline_run(
        self, command: str, *, run_id: str | None = None, plan: Sequence[str] = ()
    ) -> PipelineRunInfo:
        """Record a run that starts now; ``plan`` names its steps in order."""
        run_id = run_id or new_id("run")
        stages = [{"name": name} for name in plan]
        with self._session() as db:
            row = _runs.start_pipeline(
                db, run_id=run_id, command=command, stages=stages, now=self._clock()
            )
            return _runs.to_pipeline(row)

    def finish_pipeline_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        stages: list[dict[str, Any]] | None = None,
        error_message: str | None = None,
    ) -> PipelineRunInfo:
        """Set how the run ended (``running`` again when it is resumed); ``stages`` replaces the
        recorded plan when given."""
        with self._session() as db:
            row = _runs.finish_pipeline(
                db, run_id, status=status, stages=stages, error_message=error_message,
                now=self._clock(),
            )  # fmt: skip
            return _runs.to_pipeline(row)

    def start_pipeline_step(self, run_id: str, name: str, *, position: int) -> PipelineStepInfo:
        """Record a new attempt at step ``name`` of run ``run_id``, starting now."""
        with self._session() as db:
            row = _runs.start_step(
                db, run_id=run_id, name=name, position=position, now=self._clock()
            )
            return _runs.to_step(row)

    def finish_pipeline_step(self, step_id: int, outcome: PipelineStepOutcome) -> PipelineStepInfo:
        with self._session() as db:
            return _runs.to_step(_runs.finish_step(db, step_id, outcome, self._clock()))

    def list_pipeline_runs(self, *, limit: int = 20) -> list[PipelineRunInfo]:
        """Newest first, each with every step attempt (``steps``)."""
        with self._session() as db:
            return _runs.list_pipelines(db, limit=limit)

    def list_systems(self) -> list[SystemSummary]:
        """Every source system that has been loaded at least once, by id."""
        with self._session() as db:
            return _runs.systems(db)

    # figures ------------------------------------------------------------------------------------

    def headline(self) -> HeadlineFigures:
        """Systems connected and records aggregated, for the one screen and the README."""
        with self._session() as db:
            return _runs.headline(db)


def new_id(prefix: str) -> str:
    """A sortable unique id: UTC time, then randomness (``load-20260301T083000-1a2b3c4d``)."""
    return f"{prefix}-{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
