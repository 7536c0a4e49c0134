"""Datasets and their record counts over time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Subquery, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from citybrain.core.catalog.freshness import assess_freshness
from citybrain.core.catalog.types import (
    CATALOG_ZONES,
    Dataset,
    DatasetDetail,
    DatasetKey,
    DatasetNotFound,
    DatasetSpec,
    StatPoint,
)
from citybrain.core.opsdb.models import CatalogDataset, CatalogDatasetStats


def check_zone(zone: str) -> None:
    if zone not in CATALOG_ZONES:
        raise ValueError(f"unknown zone {zone!r}; zones are {', '.join(CATALOG_ZONES)}")


def find(db: Session, key: DatasetKey) -> CatalogDataset | None:
    return db.scalars(
        select(CatalogDataset).where(
            CatalogDataset.zone == key.zone, CatalogDataset.name == key.name
        )
    ).one_or_none()


def require(db: Session, key: DatasetKey) -> CatalogDataset:
    row = find(db, key)
    if row is None:
        raise DatasetNotFound(
            f"no dataset {key} in the catalog", hint="`citybrain catalog` lists them"
        )
    return row


def _apply(row: CatalogDataset, spec: DatasetSpec) -> None:
    row.path = spec.path
    row.system_id = spec.system_id
    row.owner_department = spec.owner_department
    row.description = spec.description
    row.schema_json = [column.model_dump() for column in spec.columns]
    row.sensitivity = spec.sensitivity
    row.pii_fields = [field.model_dump() for field in spec.pii_fields]
    row.expected_refresh_seconds = (
        None if spec.expected_refresh is None else int(spec.expected_refresh.total_seconds())
    )


def register(db: Session, spec: DatasetSpec, now: datetime) -> CatalogDataset:
    """Insert the dataset, or bring its entry up to date with ``spec``."""
    check_zone(spec.zone)
    row = find(db, spec.key)
    if row is None:
        row = CatalogDataset(zone=spec.zone, name=spec.name, created_at=now, updated_at=now)
        _apply(row, spec)
        try:
            # A savepoint, so losing a race with another writer of the same dataset (possible on
            # PostgreSQL) costs only this insert, and we update the winner's row instead.
            with db.begin_nested():
                db.add(row)
        except IntegrityError:
            row = require(db, spec.key)
        else:
            return row
    _apply(row, spec)
    row.updated_at = now
    db.flush()
    return row


def record_stats(db: Session, key: DatasetKey, point: StatPoint) -> CatalogDatasetStats:
    dataset = require(db, key)
    row = CatalogDatasetStats(dataset_id=dataset.id, **point.model_dump())
    db.add(row)
    db.flush()
    return row


def to_stat(row: CatalogDatasetStats) -> StatPoint:
    return StatPoint(
        rows=row.rows,
        bytes=row.bytes,
        load_id=row.load_id,
        run_id=row.run_id,
        recorded_at=row.recorded_at,
    )


def to_dataset(row: CatalogDataset, latest: CatalogDatasetStats | None, now: datetime) -> Dataset:
    expected = (
        None
        if row.expected_refresh_seconds is None
        else timedelta(seconds=row.expected_refresh_seconds)
    )
    point = None if latest is None else to_stat(latest)
    return Dataset.model_validate(
        {
            "id": row.id,
            "zone": row.zone,
            "name": row.name,
            "path": row.path,
            "system_id": row.system_id,
            "owner_department": row.owner_department,
            "description": row.description,
            "columns": row.schema_json,
            "sensitivity": row.sensitivity,
            "pii_fields": row.pii_fields,
            "expected_refresh": expected,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "latest": point,
            "freshness": assess_freshness(
                None if point is None else point.recorded_at, expected, now
            ),
        }
    )


def newest_stats(*where: ColumnElement[bool]) -> Subquery:
    """Each dataset's newest stats row (``id``, ``dataset_id``, ``rows``), as a subquery."""
    ranked = (
        select(
            CatalogDatasetStats.id,
            CatalogDatasetStats.dataset_id,
            CatalogDatasetStats.rows,
            func.row_number()
            .over(
                partition_by=CatalogDatasetStats.dataset_id,
                order_by=(CatalogDatasetStats.recorded_at.desc(), CatalogDatasetStats.id.desc()),
            )
            .label("rank"),
        )
        .where(*where)
        .subquery()
    )
    return (
        select(ranked.c.id, ranked.c.dataset_id, ranked.c.rows).where(ranked.c.rank == 1).subquery()
    )


def _latest_stats(db: Session, dataset_ids: Sequence[int]) -> dict[int, CatalogDatasetStats]:
    """The newest stats row of each dataset, in one query."""
    if not dataset_ids:
        return {}
    newest = newest_stats(CatalogDatasetStats.dataset_id.in_(dataset_ids))
    rows = db.scalars(
        select(CatalogDatasetStats).join(newest, newest.c.id == CatalogDatasetStats.id)
    )
    return {row.dataset_id: row for row in rows}


def list_datasets(
    db: Session, now: datetime, *, zone: str | None = None, system_id: str | None = None
) -> list[Dataset]:
    query = select(CatalogDataset).order_by(CatalogDataset.zone, CatalogDataset.name)
    if zone is not None:
        check_zone(zone)
        query = query.where(CatalogDataset.zone == zone)
    if system_id is not None:
        query = query.where(CatalogDataset.system_id == system_id)
    rows = db.scalars(query).all()
    latest = _latest_stats(db, [row.id for row in rows])
    return [to_dataset(row, latest.get(row.id), now) for row in rows]


def get(db: Session, key: DatasetKey, now: datetime) -> Dataset:
    row = require(db, key)
    return to_dataset(row, _latest_stats(db, [row.id]).get(row.id), now)


def detail(db: Session, key: DatasetKey, now: datetime, since: datetime | None) -> DatasetDetail:
    row = require(db, key)
    query = (
        select(CatalogDatasetStats)
        .where(CatalogDatasetStats.dataset_id == row.id)
        .order_by(CatalogDatasetStats.recorded_at, CatalogDatasetStats.id)
    )
    if since is not None:
        query = query.where(CatalogDatasetStats.recorded_at >= since)
    history = db.scalars(query).all()
    latest = _latest_stats(db, [row.id]).get(row.id)
    return DatasetDetail(
        dataset=to_dataset(row, latest, now), history=tuple(to_stat(h) for h in history)
    )
