"""Land one file of a source in the raw zone: read in chunks, map, quarantine, commit.

Every load reconciles — rows read = rows landed + rows quarantined — and this is checked before it
commits. Nothing of a load that fails or is killed is visible in the lake.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.errors import UserError
from citybrain.ingest.connectors import DEFAULT_CHUNK_BYTES, Chunk, open_file
from citybrain.ingest.connectors.base import DEFAULT_CHUNK_ROWS, INTERNAL
from citybrain.ingest.contract import SourceContract
from citybrain.ingest.manifest import DriftReport, Manifest
from citybrain.ingest.mapping import MappingPlan, apply_plan, detect_drift, plan_mapping
from citybrain.ingest.quarantine import count_reasons, quarantine_table
from citybrain.ingest.rawzone import LoadStaging, RawZone

log = logging.getLogger(__name__)
SCHEMA_DRIFT = "schema_drift"


class LoadFailed(UserError):
    """A load that stopped before committing; nothing of it is visible in the lake."""


@dataclass(frozen=True)
class ProgressEvent:
    system: str
    file: str
    phase: Literal["start", "chunk", "done", "failed", "skipped"]
    rows_read: int = 0
    rows_landed: int = 0
    rows_quarantined: int = 0
    bytes_read: int = 0
    bytes_total: int = 0


Progress = Callable[[ProgressEvent], None]


@dataclass
class LoadOptions:
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    force: bool = False  # land a file again even if a completed load has the same checksum
    compression: str = "snappy"


def new_load_id() -> str:
    """Sortable and unique: ``load-20261125T111620-1a2b3c4d``."""
    return f"load-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


def file_checksum(path: Path) -> str:
    with path.open("rb") as handle:
        return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()


def contract_hash(contract: SourceContract) -> str:
    return "sha256:" + hashlib.sha256(contract.model_dump_json().encode()).hexdigest()[:16]


def schema_hash(schema: pa.Schema) -> str:
    text = ";".join(f"{f.name}:{f.type}" for f in schema)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def load_file(
    lake: Path,
    contract: SourceContract,
    path: Path,
    *,
    options: LoadOptions | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """Land one file of a source; return its manifest (status completed, skipped or failed).

    A data or file problem gives a failed manifest (kept under ``raw/<system>/_failed/``), never an
    exception; only a bug raises, and even then nothing partial is visible.
    """
    options = options or LoadOptions()
    zone = RawZone(lake, contract.id)
    notify = progress or (lambda event: None)
    with zone.lock():
        for leftover in zone.recover():
            log.warning("removed leftover of an interrupted load: %s", leftover)
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        checksum = file_checksum(path)
        size = path.stat().st_size
        if not options.force and (done := zone.completed_with_checksum(checksum)) is not None:
            notify(
                ProgressEvent(contract.id, str(path), "skipped", done.rows_read, bytes_total=size)
            )
            return done.model_copy(
                update={"status": "skipped", "message": f"already landed by {done.load_id}"}
            )
        manifest = Manifest(
            load_id=new_load_id(),
            system=contract.id,
            source_name=contract.name,
            owner=contract.owner,
            connector=contract.connector.kind,
            source_file=str(path),
            input_bytes=size,
            input_checksum=checksum,
            contract_hash=contract_hash(contract),
            started_at=started,
            timings={"checksum": time.perf_counter() - t0},
        )
        staging = zone.begin(manifest.load_id)
        notify(ProgressEvent(contract.id, str(path), "start", bytes_total=size))
        try:
            _run(contract, path, manifest, staging, options, notify)
        except UserError as exc:
            staging.abort()
            return _failed(zone, manifest, str(exc), t0, notify)
        except BaseException as exc:
            staging.abort()
            _failed(zone, manifest, f"internal error: {type(exc).__name__}: {exc}", t0, notify)
            raise
        manifest.status = "completed"
        manifest.finished_at = datetime.now(UTC)
        manifest.timings["total"] = time.perf_counter() - t0
        staging.commit(manifest)
        notify(
            ProgressEvent(
                contract.id,
                str(path),
                "done",
                manifest.rows_read,
                manifest.rows_landed,
                manifest.rows_quarantined,
                size,
                size,
            )
        )
        return manifest


def _failed(
    zone: RawZone, manifest: Manifest, message: str, t0: float, notify: Progress
) -> Manifest:
    manifest.status = "failed"
    manifest.message = message
    manifest.finished_at = datetime.now(UTC)
    manifest.timings["total"] = time.perf_counter() - t0
    zone.record_failure(manifest)
    notify(ProgressEvent(manifest.system, manifest.source_file, "failed", manifest.rows_read))
    return manifest


class _Loader:
    """The per-chunk work of one load: drift, mapping, writing, counting."""

    def __init__(
        self, contract: SourceContract, manifest: Manifest, staging: LoadStaging, fixed: bool
    ) -> None:
        self.contract = contract
        self.manifest = manifest
        self.staging = staging
        self.fixed = fixed
        self.plans: dict[pa.Schema, MappingPlan] = {}
        self.reasons: Counter[str] = Counter()
        self.watermark: Any = None
        self.seconds: dict[str, float] = {"map": 0.0, "write": 0.0}

    def plan_for(self, schema: pa.Schema) -> MappingPlan:
        plan = self.plans.get(schema)
        if plan is not None:
            return plan
        contract = self.contract
        delivered = {f.name: f.type for f in schema if f.name not in INTERNAL}
        drift = detect_drift(contract.mapping, list(delivered), fixed=self.fixed)
        force: str | None = None
        extra: tuple[str, ...] = ()
        if drift.found:
            report = self.manifest.drift or DriftReport(policy=contract.drift)
            report.unknown = sorted({*report.unknown, *drift.unknown})
            report.missing = sorted({*report.missing, *drift.missing})
            self.manifest.drift = report
            if contract.drift == "fail":
                raise LoadFailed(
                    f"{self.manifest.source_file}: schema drift: {drift.describe()}",
                    hint=f"update the contract of {contract.id} or set drift: quarantine/evolve",
                )
            if contract.drift == "quarantine":
                force = SCHEMA_DRIFT
            else:
                extra = drift.unknown
        plan = plan_mapping(
            contract.mapping,
            delivered,
            keys=contract.keys,
            extra=extra,
            load_id=self.manifest.load_id,
            force_reason=force,
            source_file=self.manifest.source_file,
        )
        self.plans[schema] = plan
        return plan

    def feed(self, chunk: Chunk) -> None:
        t0 = time.perf_counter()
        mapped = apply_plan(self.plan_for(chunk.table.schema), chunk.table)
        t1 = time.perf_counter()
        self.staging.landed.write(mapped.landed)
        bad = quarantine_table(
            mapped.quarantined,
            chunk.rejects,
            file=self.manifest.source_file,
            load_id=self.manifest.load_id,
        )
        self.staging.rejected.write(bad)
        self.seconds["map"] += t1 - t0
        self.seconds["write"] += time.perf_counter() - t1
        m = self.manifest
        m.rows_read += chunk.records
        m.rows_landed += mapped.landed.num_rows
        m.rows_quarantined += bad.num_rows
        m.chunks += 1
        if bad.num_rows:
            self.reasons.update(count_reasons(bad.column("_reason")))
        self._track_watermark(mapped.landed)
        if m.rows_read != m.rows_landed + m.rows_quarantined:
            raise AssertionError(f"rows do not reconcile in {m.source_file} chunk {m.chunks}")

    def _track_watermark(self, landed: pa.Table) -> None:
        column = self.contract.refresh.watermark
        if column is None or column not in landed.column_names or landed.num_rows == 0:
            return
        top = pc.max(landed.column(column)).as_py()
        if top is not None and (self.watermark is None or top > self.watermark):
            self.watermark = top


def _run(
    contract: SourceContract,
    path: Path,
    manifest: Manifest,
    staging: LoadStaging,
    options: LoadOptions,
    notify: Progress,
) -> None:
    reader = open_file(
        contract, path, chunk_bytes=options.chunk_bytes, chunk_rows=options.chunk_rows
    )
    manifest.encoding = reader.encoding
    loader = _Loader(contract, manifest, staging, reader.fixed_columns)
    bytes_read = 0
    t0 = time.perf_counter()
    for chunk in reader.chunks():
        loader.feed(chunk)
        bytes_read += chunk.bytes_read
        notify(
            ProgressEvent(
                contract.id,
                str(path),
                "chunk",
                manifest.rows_read,
                manifest.rows_landed,
                manifest.rows_quarantined,
                bytes_read,
                manifest.input_bytes,
            )
        )
    staging.finish()
    total = time.perf_counter() - t0
    manifest.timings["map"] = loader.seconds["map"]
    manifest.timings["write"] = loader.seconds["write"]
    manifest.timings["read"] = max(total - loader.seconds["map"] - loader.seconds["write"], 0.0)
    manifest.quarantined_by_reason = dict(loader.reasons.most_common())
    if loader.watermark is not None:
        manifest.watermark = str(loader.watermark)
    schema = staging.landed_schema
    if schema is not None:
        manifest.columns = [f.name for f in schema]
        manifest.schema_hash = schema_hash(schema)
    if manifest.drift is not None:
        manifest.warnings.append(f"schema drift handled by policy {manifest.drift.policy}")
    _check_watermark(contract, manifest, staging.zone)
    _check_volume(contract, manifest)
    if not manifest.reconciled or sum(loader.reasons.values()) != manifest.rows_quarantined:
        raise AssertionError(f"load {manifest.load_id} does not reconcile")  # a bug, never data


def _check_watermark(contract: SourceContract, manifest: Manifest, zone: RawZone) -> None:
    """An incremental delivery whose newest row is not newer than the last load's is stale."""
    if contract.refresh.mode != "incremental" or manifest.watermark is None:
        return
    previous = [m.watermark for m in zone.manifests() if m.watermark is not None]
    if previous and manifest.watermark <= max(previous):
        manifest.warnings.append(
            f"watermark {manifest.watermark} is not past the last load's ({max(previous)}): "
            "a stale or repeated delivery?"
        )


def _check_volume(contract: SourceContract, manifest: Manifest) -> None:
    low, high = contract.volume.min_rows, contract.volume.max_rows
    if low is not None and manifest.rows_read < low:
        manifest.warnings.append(f"{manifest.rows_read} rows is fewer than expected ({low})")
    if high is not None and manifest.rows_read > high:
        manifest.warnings.append(f"{manifest.rows_read} rows is more than expected ({high})")
