"""Records in memory as chunks (push bodies, MQTT micro-batches, API pages), and the HTTP push
endpoint for department systems that send their records themselves.

Every such load goes through :func:`citybrain.ingest.load.land_stream`, which drives the same
:class:`~citybrain.ingest.load.Loader` as file loads, so their manifests reconcile the same way.

``create_push_router(workspace)`` gives ``POST /ingest/push/{system}``: a JSON array or NDJSON body
from a system whose contract has ``connector: {kind: push, token_env: …}``, landed as one load.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from fastapi import Request  # at module level: FastAPI resolves the endpoint's annotations here

from citybrain.core.errors import UserError
from citybrain.ingest.connectors.base import Chunk, Reject, with_positions
from citybrain.ingest.connectors.jsonl import records_table
from citybrain.ingest.contract import PushConnector, SourceContract
from citybrain.ingest.load import StreamReader, land_stream
from citybrain.ingest.manifest import Manifest
from citybrain.ingest.rawzone import RawZone

if TYPE_CHECKING:
    from fastapi import APIRouter

    from citybrain.core.workspace import Workspace
    from citybrain.ingest.runner import LoadRecorder

log = logging.getLogger(__name__)
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
PUSH_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body is not a JSON array or NDJSON; nothing landed"},
    401: {"description": "no or a wrong credential"},
    404: {"description": "no push source of that id in this workspace"},
    413: {"description": "the body is over the size limit"},
    422: {"description": "the load failed (e.g. schema drift under policy fail); nothing landed"},
}


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
    dependencies: Sequence[Any] = (),
    contract_token: bool = True,
) -> APIRouter:
    """``POST /ingest/push/{system}`` for the workspace's push contracts (read per request, so a
    new contract needs no restart). ``recorder`` (e.g. the catalog) is told about each load.

    Standalone, each request must carry the contract's own bearer token (``token_env``). Mounted
    in the API, ``dependencies`` guard the route instead (the API's ``X-API-Key`` of a system
    account) and ``contract_token=False``: the Authorization header then belongs to the API."""
    from fastapi import APIRouter, HTTPException
    from fastapi.concurrency import run_in_threadpool

    router = APIRouter(tags=["ingest"], dependencies=list(dependencies))
    find = contracts or (lambda: _push_contracts(workspace))

    @router.post("/ingest/push/{system}", responses=PUSH_RESPONSES)
    async def push(system: str, request: Request) -> dict[str, Any]:
        contract = (await run_in_threadpool(find)).get(system)
        if contract is None:
            raise HTTPException(404, f"no push source {system!r} in this workspace")
        if contract_token:
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


def mounted_push_router(workspace: Workspace, guard: Any) -> APIRouter:
    """The push endpoint as the API mounts it: guarded by ``guard`` (a permission dependency of the
    API, so callers use a system account's ``X-API-Key``), each load recorded in the catalog."""
    return create_push_router(
        workspace,
        recorder=_CatalogOnFirstUse(workspace),
        dependencies=[guard],
        contract_token=False,
    )


class _CatalogOnFirstUse:
    """The workspace's catalog recorder, opened at the first push: opening it migrates the ops
    database, which the API's start must not do."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._recorder: LoadRecorder | None = None

    def record(self, contract: SourceContract, manifest: Manifest, zone: RawZone) -> None:
        if self._recorder is None:
            from citybrain.ingest.catalog import CatalogRecorder

            self._recorder = CatalogRecorder.for_workspace(self.workspace)
        self._recorder.record(contract, manifest, zone)


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
