"""Push: a department system POSTs its records, and each request lands as one reconciled load.

``POST /ingest/push/{system}`` takes a JSON array or NDJSON body for a source whose contract has
``connector: {kind: push}``. The caller is a system account (its ``X-API-Key``) with
``ingest.push``; the contracts are read per request, so a new push source needs no restart. Each
load is recorded in the catalog like a file load.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from citybrain.api.deps import CatalogDep, Principal, get_workspace, require
from citybrain.api.security.roles import Permission
from citybrain.core import UserError, Workspace
from citybrain.ingest import RawZone, check_contract, discover_sources
from citybrain.ingest.catalog import CatalogRecorder
from citybrain.ingest.contract import PushConnector, SourceContract
from citybrain.ingest.streams import push_load

router = APIRouter(tags=["ingest"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body is not a JSON array or NDJSON; nothing landed"},
    404: {"description": "no push source of that id in this workspace"},
    413: {"description": "the body is over the API's size limit"},
    422: {"description": "the load failed (e.g. schema drift under policy fail); nothing landed"},
}


class PushResult(BaseModel):
    load_id: str
    status: str
    rows_read: int
    rows_landed: int
    rows_quarantined: int
    quarantined_by_reason: dict[str, int]


def push_contracts(workspace: Workspace) -> dict[str, SourceContract]:
    """The workspace's valid contracts of push sources, by id."""
    found: dict[str, SourceContract] = {}
    for path in discover_sources(workspace):
        contract = check_contract(path).contract
        if contract is not None and isinstance(contract.connector, PushConnector):
            found[contract.id] = contract
    return found


@router.post("/ingest/push/{system}", responses=_RESPONSES)
async def push(
    system: str,
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.INGEST_PUSH))],
    workspace: Annotated[Workspace, Depends(get_workspace)],
    catalog: CatalogDep,
) -> PushResult:
    contract = (await run_in_threadpool(push_contracts, workspace)).get(system)
    if contract is None:
        raise HTTPException(404, f"no push source {system!r} in this workspace")
    body = await request.body()  # the API's body-size middleware answers 413 over its limit
    try:
        manifest = await run_in_threadpool(
            push_load, workspace.lake, contract, body, source=f"push:{system}"
        )
    except UserError as exc:
        raise HTTPException(400, str(exc)) from None
    recorder = CatalogRecorder(catalog)
    await run_in_threadpool(recorder.record, contract, manifest, RawZone(workspace.lake, system))
    if manifest.status == "failed":
        raise HTTPException(422, f"load {manifest.load_id} failed: {manifest.message}")
    return PushResult(
        load_id=manifest.load_id,
        status=manifest.status,
        rows_read=manifest.rows_read,
        rows_landed=manifest.rows_landed,
        rows_quarantined=manifest.rows_quarantined,
        quarantined_by_reason=manifest.quarantined_by_reason,
    )
