"""Landing data that does not come as a file: the shared loop for every stream connector, and the
HTTP push endpoint for department systems that send their records themselves.

File loads go through :func:`citybrain.ingest.load.load_file`; SQL, HTTP, MQTT, push and NGSI-LD
go through :func:`land_stream`, which drives the same ``_Loader`` (mapping, drift, quarantine,
reconciliation) into the same raw-zone staging, so their manifests reconcile the same way. The
manifest's ``source_file`` names what was read (a URL, a table, a topic) and its checksum is over
the bytes received, when there are bytes.

``create_push_router(workspace)`` gives ``POST /ingest/push/{system}``: a JSON array or NDJSON body
from a system whose contract has ``connector: {kind: push, token_env: …}``, landed as one load.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa
from fastapi import Request  # at module level: FastAPI resolves the endpoint's annotations here

from citybrain.core.errors import UserError
from citybrain.ingest.connectors.base import Chunk, Reject, with_positions
from citybrain.ingest.connectors.jsonl import records_table
from citybrain.ingest.contract import PushConnector, SourceContract
from citybrain.ingest.load import (
    LoadOptions,
    Progress,
    ProgressEvent,
    _check_volume,
    _failed,
    _Loader,
    contract_hash,
    new_load_id,
    schema_hash,
)
from citybrain.ingest.manifest import Manifest
from citybrain.ingest.rawzone import LoadStaging, RawZone

if TYPE_CHECKING:
    from fastapi import APIRouter

    from citybrain.core.workspace import Workspace
    from citybrain.ingest.runner import LoadRecorder

log = logging.getLogger(__name__)
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


class StreamReader(Protocol):
    """What a stream connector gives :func:`land_stream`."""

    @property
    def source(self) -> str: ...  # what the manifest names as read: a URL, a table, a topic

    @property
    def fixed_columns(self) -> bool: ...

    def chunks(self) -> Iterator[Chunk]: ...

    def digest(self) -> str: ...  # checksum of the bytes received, "" when there were none

    def watermark(self) -> str | None: ...  # the newest source watermark read, if tracked

    def notes(self) -> list[str]: ...  # warnings for the manifest, e.g. pages retried


class ReaderFactory(Protocol):
    def __call__(self, zone: RawZone) -> StreamReader: ...


def land_stream(
    lake: Path,
    contract: SourceContract,
    open_reader: ReaderFactory,
    *,
    nothing_new_is_skip: bool = False,
    unchanged_is_skip: bool = False,
    options: LoadOptions | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """Land what a stream reader yields as one load; return its manifest.

    ``open_reader`` is called under the system's lock, after leftovers of killed loads are removed,
    so an incremental reader sees the watermark of the last committed load and no other run can
    land the same rows meanwhile. With ``nothing_new_is_skip`` a run that reads no rows, and with
    ``unchanged_is_skip`` a snapshot whose checksum equals the last load's, commits nothing and
    returns the last load's manifest as ``skipped``. A data or source problem gives a
    failed manifest (kept under ``raw/<system>/_failed/``); only a bug raises.
    """
    options = options or LoadOptions()
    zone = RawZone(lake, contract.id)
    notify = progress or (lambda event: None)
    with zone.lock():
        for leftover in zone.recover():
            log.warning("removed leftover of an interrupted load: %s", leftover)
        t0 = time.perf_counter()
        manifest = Manifest(
            load_id=new_load_id(),
            system=contract.id,
            source_name=contract.name,
            owner=contract.owner,
            connector=contract.connector.kind,
            source_file=contract.id,
            contract_hash=contract_hash(contract),
            started_at=datetime.now(UTC),
        )
        staging = zone.begin(manifest.load_id)
        try:
            reader = open_reader(zone)
            manifest.source_file = reader.source
            notify(ProgressEvent(contract.id, reader.source, "start"))
            _run(contract, reader, manifest, staging, notify)
        except UserError as exc:
            staging.abort()
            return _failed(zone, manifest, str(exc), t0, notify)
        except BaseException as exc:
            staging.abort()
            _failed(zone, manifest, f"internal error: {type(exc).__name__}: {exc}", t0, notify)
            raise
        last = _latest(zone)
        nothing_new = nothing_new_is_skip and manifest.rows_read == 0
        unchanged = (
            unchanged_is_skip
            and last is not None
            and manifest.input_checksum != ""
            and manifest.input_checksum == last.input_checksum
        )
        if last is not None and (nothing_new or unchanged):
            staging.abort()
            notify(ProgressEvent(contract.id, manifest.source_file, "skipped"))
            why = "no new rows" if nothing_new else "the same snapshot as"
            return last.model_copy(update={"status": "skipped", "message": f"{why} {last.load_id}"})
        manifest.status = "completed"
        manifest.finished_at = datetime.now(UTC)
        manifest.timings["total"] = time.perf_counter() - t0
        staging.commit(manifest)
        notify(
            ProgressEvent(
                contract.id,
                manifest.source_file,
                "done",
                manifest.rows_read,
                manifest.rows_landed,
                manifest.rows_quarantined,
                manifest.input_bytes,
                manifest.input_bytes,
            )
        )
        return manifest


def latest_watermark(zone: RawZone) -> str | None:
    """The watermark recorded by the newest committed load that has one."""
    marked = [m for m in zone.manifests() if m.watermark is not None and m.status == "completed"]
    return max(marked, key=lambda m: m.started_at).watermark if marked else None


def source_watermark_column(contract: SourceContract) -> str | None:
    """The delivered column behind an incremental contract's watermark (a target column name)."""
    if contract.refresh.mode != "incremental":
        return None
    target = contract.refresh.watermark
    if target is None:
        raise UserError(
            f"source {contract.id}: refresh.mode incremental needs refresh.watermark",
            hint="name the column that only grows, e.g. updated_at",
        )
    for column in contract.mapping.columns:
        if column.target == target:
            return column.source
    return target


def _latest(zone: RawZone) -> Manifest | None:
    done = zone.manifests()
    return max(done, key=lambda m: m.started_at) if done else None


def _run(
    contract: SourceContract,
    reader: StreamReader,
    manifest: Manifest,
    staging: LoadStaging,
    notify: Progress,
) -> None:
    loader = _Loader(contract, manifest, staging, reader.fixed_columns)
    t0 = time.perf_counter()
    for chunk in reader.chunks():
        loader.feed(chunk)
        manifest.input_bytes += chunk.bytes_read
        notify(
            ProgressEvent(
                contract.id,
                reader.source,
                "chunk",
                manifest.rows_read,
                manifest.rows_landed,
                manifest.rows_quarantined,
                manifest.input_bytes,
            )
        )
    staging.finish()
    total = time.perf_counter() - t0
    manifest.input_checksum = reader.digest()
    manifest.warnings.extend(reader.notes())
    manifest.timings.update(loader.seconds)
    manifest.timings["read"] = max(total - sum(loader.seconds.values()), 0.0)
    manifest.quarantined_by_reason = dict(loader.reasons.most_common())
    # The reader's watermark is the source's own value over every row read, quarantined ones too,
    # so an incremental source does not deliver a bad row again on every run.
    source_mark = reader.watermark()
    if source_mark is not None:
        manifest.watermark = source_mark
    elif loader.watermark is not None:
        manifest.watermark = str(loader.watermark)
    schema = staging.landed_schema
    if schema is not None:
        manifest.columns = [f.name for f in schema]
        manifest.schema_hash = schema_hash(schema)
    if manifest.drift is not None:
        manifest.warnings.append(f"schema drift handled by policy {manifest.drift.policy}")
    _check_volume(contract, manifest)
    if not manifest.reconciled or sum(loader.reasons.values()) != manifest.rows_quarantined:
        raise AssertionError(f"load {manifest.load_id} does not reconcile")  # a bug, never data


# -------------------------------------------------------------------------------------------------
# records in memory (push requests, MQTT micro-batches, API pages) as chunks


def records_chunk(
    records: Sequence[Any], *, first_row: int, rejects: Sequence[Reject] = (), size: int = 0
) -> Chunk:
    """Parsed JSON values as one chunk: objects become rows (text columns, like the JSON file
    connector), anything else is rejected as ``not_an_object``; rows are numbered from
    ``first_row`` in delivery order."""
    good = [r for r in records if isinstance(r, dict)]
    rows = [first_row + i for i, r in enumerate(records) if isinstance(r, dict)]
    bad = [
        Reject(first_row + i, None, "not_an_object", json.dumps(r, ensure_ascii=False))
        for i, r in enumerate(records)
        if not isinstance(r, dict)
    ]
    table = with_positions(records_table(good), pa.array(rows, pa.int64()), None)
    return Chunk(table, [*rejects, *bad], size)


@dataclass
class MemoryReader:
    """Chunks already in hand (a push body, an MQTT micro-batch)."""

    source: str
    parts: Sequence[Chunk]
    body_digest: str = ""
    fixed_columns: bool = False

    def chunks(self) -> Iterator[Chunk]:
        yield from self.parts

    def digest(self) -> str:
        return self.body_digest

    def watermark(self) -> str | None:
        return None

    def notes(self) -> list[str]:
        return []


def parse_body(body: bytes, batch_rows: int) -> list[Chunk]:
    """A JSON array, or NDJSON (one object per line; a bad line is quarantined with its line).

    Raises :class:`UserError` when a JSON array body does not parse: nothing of it can land.
    """
    text = body.decode("utf-8-sig", "replace")
    if text.lstrip().startswith("["):
        try:
            values: list[Any] = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(
                f"body is not a valid JSON array: {exc.msg} "
                f"at line {exc.lineno}, column {exc.colno}",
                hint="send a JSON array of objects, or NDJSON with one object per line",
            ) from None
        return [
            records_chunk(values[i : i + batch_rows], first_row=i + 1)
            for i in range(0, len(values), batch_rows)
        ] or [records_chunk([], first_row=1)]
    return list(_ndjson_chunks(text.splitlines(), batch_rows))


def _ndjson_chunks(lines: list[str], batch_rows: int) -> Iterable[Chunk]:
    objects: list[dict[str, Any]] = []
    rows: list[int] = []
    numbers: list[int] = []
    rejects: list[Reject] = []
    row = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        row += 1
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            rejects.append(Reject(row, number, f"bad_json:{exc.msg}", line))
        else:
            if isinstance(value, dict):
                objects.append(value)
                rows.append(row)
                numbers.append(number)
            else:
                rejects.append(Reject(row, number, "not_an_object", line))
        if len(objects) + len(rejects) >= batch_rows:
            yield _lines_chunk(objects, rows, numbers, rejects)
            objects, rows, numbers, rejects = [], [], [], []
    if objects or rejects or row == 0:
        yield _lines_chunk(objects, rows, numbers, rejects)


def _lines_chunk(
    objects: list[dict[str, Any]], rows: list[int], numbers: list[int], rejects: list[Reject]
) -> Chunk:
    table = with_positions(
        records_table(objects), pa.array(rows, pa.int64()), pa.array(numbers, pa.int64())
    )
    return Chunk(table, rejects)


# -------------------------------------------------------------------------------------------------
# the push endpoint


def _push_contracts(workspace: Workspace) -> dict[str, SourceContract]:
    from citybrain.ingest.check import check_contract
    from citybrain.ingest.runner import discover_sources

    found: dict[str, SourceContract] = {}
    for path in discover_sources(workspace):
        contract = check_contract(path).contract
        if contract is not None and isinstance(contract.connector, PushConnector):
            found[contract.id] = contract
    return found


def push_load(
    lake: Path, contract: SourceContract, body: bytes, *, source: str = "push"
) -> Manifest:
    """Land one pushed body (JSON array or NDJSON) as one load; a JSON array that does not parse
    raises :class:`UserError` and lands nothing."""
    connector = contract.connector
    batch_rows = connector.batch_rows if isinstance(connector, PushConnector) else 10_000
    digest = "sha256:" + hashlib.sha256(body).hexdigest()

    # Parsed before the load starts: a body that is not JSON at all is the sender's error (HTTP 400,
    # send again), not a load of this source that failed.
    parts = parse_body(body, batch_rows)
    if parts:
        parts[0].bytes_read = len(body)

    def open_reader(zone: RawZone) -> StreamReader:
        return MemoryReader(source, parts, digest)

    return land_stream(lake, contract, open_reader)


def create_push_router(
    workspace: Workspace,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    recorder: LoadRecorder | None = None,
    contracts: Callable[[], dict[str, SourceContract]] | None = None,
) -> APIRouter:
    """``POST /ingest/push/{system}`` for the workspace's push contracts (read per request, so a
    new contract needs no restart). ``recorder`` (e.g. the catalog) is told about each load."""
    from fastapi import APIRouter, HTTPException
    from fastapi.concurrency import run_in_threadpool

    router = APIRouter(tags=["ingest"])
    find = contracts or (lambda: _push_contracts(workspace))

    @router.post("/ingest/push/{system}")
    async def push(system: str, request: Request) -> dict[str, Any]:
        contract = (await run_in_threadpool(find)).get(system)
        if contract is None:
            raise HTTPException(404, f"no push source {system!r} in this workspace")
        _authorise(contract, request.headers.get("authorization"))
        body = await _read_limited(request, max_bytes)
        try:
            manifest = await run_in_threadpool(
                push_load, workspace.lake, contract, body, source=f"push:{system}"
            )
        except UserError as exc:
            raise HTTPException(400, str(exc)) from None
        if recorder is not None:
            await run_in_threadpool(
                recorder.record, contract, manifest, RawZone(workspace.lake, system)
            )
        if manifest.status == "failed":
            raise HTTPException(422, f"load {manifest.load_id} failed: {manifest.message}")
        return {
            "load_id": manifest.load_id,
            "status": manifest.status,
            "rows_read": manifest.rows_read,
            "rows_landed": manifest.rows_landed,
            "rows_quarantined": manifest.rows_quarantined,
            "quarantined_by_reason": manifest.quarantined_by_reason,
        }

    return router


def _authorise(contract: SourceContract, header: str | None) -> None:
    from fastapi import HTTPException

    connector = contract.connector
    env = connector.token_env if isinstance(connector, PushConnector) else None
    expected = os.environ.get(env) if env else None
    challenge = {"WWW-Authenticate": "Bearer"}
    if not expected:
        # A push source without a configured token accepts nothing: an open door is never default.
        raise HTTPException(
            401,
            f"push source {contract.id} has no token configured ({env or 'token_env'})",
            headers=challenge,
        )
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), expected):
        raise HTTPException(401, "missing or wrong bearer token", headers=challenge)


async def _read_limited(request: Request, max_bytes: int) -> bytes:
    from fastapi import HTTPException

    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise HTTPException(413, f"body of {declared} bytes is over the limit of {max_bytes}")
    parts: list[bytes] = []
    size = 0
    async for piece in request.stream():
        size += len(piece)
        if size > max_bytes:
            raise HTTPException(413, f"body is over the limit of {max_bytes} bytes")
        parts.append(piece)
    return b"".join(parts)
