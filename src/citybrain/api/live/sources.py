"""The ops database's change sequences as bus sources: case changes, topic runs and the events
the stream consumer writes (``live_event``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyarrow as pa
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select

from citybrain.api.live.bus import Event, Place
from citybrain.api.security.roles import Permission
from citybrain.cases import Case, CaseEvent
from citybrain.core.opsdb import session
from citybrain.core.opsdb.models import CatalogDataset, CatalogDatasetStats
from citybrain.stream.opsdb_models import LiveEventRecord

FINDINGS_SUFFIX = "_findings"


@dataclass
class CaseChanges:
    """Every row of ``case_event`` (created, dispatched, accepted, closed, evidence attached …)
    as ``case.<action>``, placed in the case's street, community and grid."""

    ops_engine: SqlEngine
    name: str = "case"

    def head(self) -> int:
        with session(self.ops_engine) as db:
            return int(db.scalar(select(func.coalesce(func.max(CaseEvent.id), 0))) or 0)

    def fetch(self, after: int, limit: int) -> Sequence[Event]:
        query = (
            select(
                CaseEvent.id,
                CaseEvent.case_id,
                CaseEvent.action,
                CaseEvent.at,
                CaseEvent.from_status,
                CaseEvent.to_status,
                Case.topic,
                Case.level,
                Case.department,
                Case.street_id,
                Case.community_id,
                Case.grid_id,
            )
            .join(Case, Case.id == CaseEvent.case_id)
            .where(CaseEvent.id > after)
            .order_by(CaseEvent.id)
            .limit(limit)
        )
        with session(self.ops_engine) as db:
            rows = db.execute(query).all()
        return [
            Event(
                type=f"case.{r.action}",
                source=self.name,
                seq=r.id,
                data={
                    "case_id": r.case_id,
                    "topic": r.topic,
                    "action": r.action,
                    "from_status": r.from_status,
                    "status": r.to_status,
                    "level": r.level,
                    "department": r.department,
                    "street_id": r.street_id,
                    "community_id": r.community_id,
                    "grid_id": r.grid_id,
                    "at": r.at.isoformat(),
                },
                permission=Permission.CASES_READ,
                place=Place(r.street_id, r.community_id, r.grid_id),
            )
            for r in rows
        ]


# (topic, run_id) → the run's findings counted per (street, community, grid)
AreaCounts = Callable[[str, str], pa.Table]


@dataclass
class FindingRuns:
    """A topic run storing its findings (a ``catalog_dataset_stats`` row of a ``topic`` zone
    ``<topic>_findings`` dataset) as ``finding.published``, its count spread over areas."""

    ops_engine: SqlEngine
    area_counts: AreaCounts
    name: str = "finding"

    def head(self) -> int:
        with session(self.ops_engine) as db:
            return int(db.scalar(select(func.coalesce(func.max(CatalogDatasetStats.id), 0))) or 0)

    def fetch(self, after: int, limit: int) -> Sequence[Event]:
        query = (
            select(
                CatalogDatasetStats.id,
                CatalogDatasetStats.rows,
                CatalogDatasetStats.run_id,
                CatalogDatasetStats.recorded_at,
                CatalogDataset.name,
            )
            .join(CatalogDataset, CatalogDataset.id == CatalogDatasetStats.dataset_id)
            .where(
                CatalogDatasetStats.id > after,
                CatalogDataset.zone == "topic",
                CatalogDataset.name.like(f"%{FINDINGS_SUFFIX}"),
            )
            .order_by(CatalogDatasetStats.id)
            .limit(limit)
        )
        with session(self.ops_engine) as db:
            rows = db.execute(query).all()
        events = []
        for r in rows:  # one row per topic run: a handful a day
            topic = r.name.removesuffix(FINDINGS_SUFFIX)
            counts = self.area_counts(topic, r.run_id or "")
            places = tuple(
                (Place(c["street_id"], c["community_id"], c["grid_id"]), int(c["count"]))
                for c in counts.to_pylist()  # one row per area, not per finding
            )
            events.append(
                Event(
                    type="finding.published",
                    source=self.name,
                    seq=r.id,
                    data={
                        "topic": topic,
                        "run_id": r.run_id,
                        "count": r.rows,
                        "at": r.recorded_at.isoformat(),
                    },
                    permission=Permission.FINDINGS_READ,
                    counts=places,
                )
            )
        return events


@dataclass
class StreamEvents:
    """Events another process put on the live feed through the ops database's ``live_event``
    table (``citybrain stream``: ``stream.batch`` per landed load, and its detectors' alerts), each
    with the permission it needs and, when it has one, its area."""

    ops_engine: SqlEngine
    name: str = "stream"

    def head(self) -> int:
        with session(self.ops_engine) as db:
            return int(db.scalar(select(func.coalesce(func.max(LiveEventRecord.id), 0))) or 0)

    def fetch(self, after: int, limit: int) -> Sequence[Event]:
        query = (
            select(LiveEventRecord)
            .where(LiveEventRecord.id > after)
            .order_by(LiveEventRecord.id)
            .limit(limit)
        )
        with session(self.ops_engine) as db:
            rows = list(db.scalars(query))
        events = []
        for r in rows:
            placed = r.street_id or r.community_id or r.grid_id
            try:
                permission = Permission(r.permission)
            except ValueError:  # written by a newer version: keep it for those who see all
                permission = Permission.AUDIT_READ
            events.append(
                Event(
                    type=r.type,
                    source=self.name,
                    seq=r.id,
                    data={**r.data, "at": r.at.isoformat()},
                    permission=permission,
                    place=Place(r.street_id, r.community_id, r.grid_id) if placed else None,
                )
            )
        return events
