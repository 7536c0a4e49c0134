"""Tell the catalog (ops database) about each load: the run, the datasets, size and lineage."""

from __future__ import annotations

import re
from datetime import timedelta

from citybrain.core.catalog import (
    Catalog,
    ColumnInfo,
    DatasetSpec,
    LoadNotFound,
    LoadOutcome,
    PiiField,
)
from citybrain.core.workspace import Workspace
from citybrain.ingest.contract import SourceContract
from citybrain.ingest.manifest import Manifest
from citybrain.ingest.rawzone import RawZone

_LEVELS = {"low": 1, "medium": 2, "high": 3}
_SCHEDULES = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": timedelta(days=31),
    "quarterly": timedelta(days=92),
    "yearly": timedelta(days=366),
    "annual": timedelta(days=366),
}
_EVERY = re.compile(r"^(\d+)\s*(min|h|d)$")


def expected_refresh(schedule: str | None) -> timedelta | None:
    """``daily`` → 1 day, ``15min`` → 15 minutes, ``6h``, ``2d``; None when not given or unknown.

    The one reading of a contract's ``refresh.schedule``: the catalog's freshness and the quality
    score's timeliness both use it, so they never disagree about a source's cadence.
    """
    if not schedule:
        return None
    text = schedule.strip().lower()
    if text in _SCHEDULES:
        return _SCHEDULES[text]
    match = _EVERY.match(text)
    if match is None:
        return None
    n, unit = int(match.group(1)), match.group(2)
    return {"min": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n)}[unit]


def dataset_specs(contract: SourceContract, zone: RawZone, manifest: Manifest) -> list[DatasetSpec]:
    """The source, raw and quarantine datasets of one system, as the catalog should know them."""
    pii = tuple(PiiField(name=p.column, sensitivity=p.sensitivity) for p in contract.pii)
    level = max((p.sensitivity for p in contract.pii), key=_LEVELS.__getitem__, default=None)
    types = {c.target: c.type for c in contract.mapping.columns}
    columns = tuple(ColumnInfo(name=c, type=types.get(c, "string")) for c in manifest.columns)
    common = {
        "system_id": contract.id,
        "owner_department": contract.owner,
        "sensitivity": level,
        "pii_fields": pii,
        "expected_refresh": expected_refresh(contract.refresh.schedule),
    }
    return [
        DatasetSpec(zone="source", name=contract.id, description=contract.name, **common),
        DatasetSpec(
            zone="raw",
            name=contract.id,
            path=str(zone.raw),
            description=contract.name,
            columns=columns,
            **common,
        ),
        DatasetSpec(
            zone="quarantine",
            name=contract.id,
            path=str(zone.quarantine),
            description=f"{contract.name}: rows that could not land",
            **common,
        ),
    ]


class CatalogRecorder:
    """A :class:`~citybrain.ingest.runner.LoadRecorder` writing to the workspace's catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> CatalogRecorder:
        return cls(Catalog.open(workspace.ops_db_url))

    def record(self, contract: SourceContract, manifest: Manifest, zone: RawZone) -> None:
        catalog = self.catalog
        if manifest.status == "skipped":
            # already landed; record it only if a run killed after its commit never did
            try:
                catalog.get_load(manifest.load_id)
                return
            except LoadNotFound:
                manifest = manifest.model_copy(update={"status": "completed", "message": None})
        catalog.start_load(contract.id, load_id=manifest.load_id)
        completed = manifest.status == "completed"
        catalog.finish_load(
            manifest.load_id,
            LoadOutcome(
                status="succeeded" if completed else "failed",
                rows_read=manifest.rows_read if completed else 0,
                rows_landed=manifest.rows_landed if completed else 0,
                rows_quarantined=manifest.rows_quarantined if completed else 0,
                quarantined_by_reason=manifest.quarantined_by_reason if completed else {},
                bytes=manifest.input_bytes,
                checksum=manifest.input_checksum,
                schema_hash=manifest.schema_hash,
                watermark=manifest.watermark,
                error_message=manifest.message,
            ),
        )
        if not completed:
            return
        for spec in dataset_specs(contract, zone, manifest):
            catalog.register_dataset(spec)
        done = zone.manifests()
        catalog.record_stats(
            ("raw", contract.id),
            rows=sum(m.rows_landed for m in done),
            bytes=sum(m.bytes_written for m in done),
            load_id=manifest.load_id,
        )
        catalog.record_stats(
            ("quarantine", contract.id),
            rows=sum(m.rows_quarantined for m in done),
            load_id=manifest.load_id,
        )
        catalog.add_lineage(("source", contract.id), ("raw", contract.id), kind="ingest")
        catalog.add_lineage(("source", contract.id), ("quarantine", contract.id), kind="quarantine")
