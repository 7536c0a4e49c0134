"""Load runs: what each load of each source read, landed and quarantined, and the quarantined rows.

Quarantined rows are raw deliveries, personal data included: reading them needs
``quarantine.read`` (audited), and every personal column — and the raw text of unsplittable
records — comes back masked.
"""

from __future__ import annotations

import json
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from citybrain.api.deps import CatalogDep, OpsEngine, Principal, Text, get_workspace, require
from citybrain.api.paging import Page, PageParams, pagination
from citybrain.api.security.masking import PiiKind, mask_table
from citybrain.api.security.roles import Permission
from citybrain.core import Workspace
from citybrain.core.catalog import Catalog, DatasetNotFound, LoadNotFound, LoadRunInfo
from citybrain.core.opsdb import LoadRun, session

router = APIRouter(prefix="/loads", tags=["loads"])

LoadId = Annotated[str, Path(pattern=r"^[\w\-.:]+$", max_length=64, description="a load's id")]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such load"}}
_SORTABLE = {
    "started_at": LoadRun.started_at,
    "finished_at": LoadRun.finished_at,
    "source_system": LoadRun.source_system,
    "rows_read": LoadRun.rows_read,
    "rows_quarantined": LoadRun.rows_quarantined,
    "load_id": LoadRun.load_id,
}
MANIFEST_FILE = "_manifest.json"
INTERNAL = ("_file", "_load_id", "_row", "_line", "_reason", "_raw")


class LoadDetail(BaseModel):
    load: LoadRunInfo
    reconciled: bool
    # The manifest the load wrote beside its raw data (source file, timings, warnings …).
    manifest: dict[str, Any] | None


class QuarantinedRow(BaseModel):
    row: int | None
    line: int | None
    file: str | None
    reason: str | None
    raw: str | None
    values: dict[str, str | None]


class QuarantinePage(Page[QuarantinedRow]):
    by_reason: dict[str, int]
    masked_columns: list[str]


@router.get("")
def list_loads(
    _: Annotated[Principal, Depends(require(Permission.CATALOG_READ))],
    ops_engine: OpsEngine,
    paging: Annotated[PageParams, Depends(pagination(tuple(_SORTABLE), "-started_at"))],
    source_system: Text | None = None,
    status: Literal["running", "succeeded", "failed"] | None = None,
) -> Page[LoadRunInfo]:
    """Load runs, newest first by default; filter by source system and status."""
    query = select(LoadRun)
    if source_system is not None:
        query = query.where(LoadRun.source_system == source_system)
    if status is not None:
        query = query.where(LoadRun.status == status)
    with session(ops_engine) as db:
        total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
        ordered = paging.apply(query.order_by(None), _SORTABLE).order_by(LoadRun.load_id)
        rows = db.scalars(ordered).all()
        items = [LoadRunInfo.model_validate(row, from_attributes=True) for row in rows]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


def _manifest(workspace: Workspace, load: LoadRunInfo) -> dict[str, Any] | None:
    path = _partition(workspace, "raw", load) / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest


def _partition(workspace: Workspace, zone: str, load: LoadRunInfo) -> FsPath:
    # Both parts come from the catalog's own record, never from the request.
    return workspace.lake / zone / load.source_system / f"load_id={load.load_id}"


def _get_load(catalog: Catalog, load_id: str) -> LoadRunInfo:
    try:
        return catalog.get_load(load_id)
    except LoadNotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None


@router.get("/{load_id}", responses=_NOT_FOUND)
def load_detail(
    load_id: LoadId,
    _: Annotated[Principal, Depends(require(Permission.CATALOG_READ))],
    catalog: CatalogDep,
    workspace: Annotated[Workspace, Depends(get_workspace)],
) -> LoadDetail:
    """One load's manifest: rows read, landed and quarantined (by reason), checksums, timings."""
    load = _get_load(catalog, load_id)
    return LoadDetail(
        load=load,
        reconciled=load.rows_read == load.rows_landed + load.rows_quarantined,
        manifest=_manifest(workspace, load),
    )


def _pii_kind(column: str) -> PiiKind:
    lowered = column.lower()
    if "phone" in lowered or "tel" in lowered or "mobile" in lowered:
        return PiiKind.PHONE
    if "addr" in lowered or "地址" in column or "住所" in column:
        return PiiKind.ADDRESS
    if "name" in lowered or "姓名" in column:
        return PiiKind.NAME
    return PiiKind.ID_NUMBER  # keep only the first and last four characters


def _masked_columns(catalog: Catalog, system: str, delivered: list[str]) -> dict[str, PiiKind]:
    """The PII columns the catalog knows for the system; every column when it knows nothing."""
    try:
        dataset = catalog.get_dataset(("quarantine", system))
        named = {field.name for field in dataset.pii_fields}
    except DatasetNotFound:
        named = set(delivered)
    chosen = [c for c in delivered if c in named] if named else []
    columns = {c: _pii_kind(c) for c in chosen}
    columns["_raw"] = PiiKind.ID_NUMBER
    return columns


def _read_quarantine(folder: FsPath) -> pa.Table:
    parts = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not parts:
        return pa.table({name: pa.array([], pa.string()) for name in INTERNAL})
    tables = [pq.read_table(part) for part in parts]
    table = pa.concat_tables(tables, promote_options="permissive")
    for name in INTERNAL:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    return table


@router.get("/{load_id}/quarantine", responses=_NOT_FOUND)
def quarantined_rows(
    load_id: LoadId,
    principal: Annotated[Principal, Depends(require(Permission.QUARANTINE_READ))],
    catalog: CatalogDep,
    workspace: Annotated[Workspace, Depends(get_workspace)],
    paging: Annotated[PageParams, Depends(pagination(("row",), "row"))],
    reason: Annotated[Text | None, Query(description="one quarantine reason")] = None,
) -> QuarantinePage:
    """The rows of one load that could not land, with where and why; personal values masked."""
    load = _get_load(catalog, load_id)
    table = _read_quarantine(_partition(workspace, "quarantine", load))
    counted = pc.value_counts(table["_reason"]).to_pylist() if table.num_rows else []
    by_reason = {str(item["values"]): int(item["counts"]) for item in counted}
    if reason is not None:
        table = table.filter(pc.fill_null(pc.equal(table["_reason"].cast(pa.string()), reason),
                                          False))  # fmt: skip
    descending = paging.sort[0][1] if paging.sort else False
    table = table.sort_by([("_row", "descending" if descending else "ascending")])
    page = table.slice(paging.offset, paging.page_size)
    delivered = [c for c in page.column_names if c not in INTERNAL]
    masks = _masked_columns(catalog, load.source_system, delivered)
    text = page.select([*delivered, "_raw"]).cast(
        pa.schema([pa.field(c, pa.string()) for c in [*delivered, "_raw"]])
    )
    text = mask_table(text, masks)
    rows = text.to_pylist()
    items = [
        QuarantinedRow(
            row=row_no, line=line, file=file, reason=why, raw=values.pop("_raw"), values=values
        )
        for row_no, line, file, why, values in zip(
            _ints(page["_row"]),
            _ints(page["_line"]),
            _texts(page["_file"]),
            _texts(page["_reason"]),
            rows,
            strict=True,
        )
    ]
    return QuarantinePage(
        items=items,
        total=table.num_rows,
        page=paging.page,
        page_size=paging.page_size,
        by_reason=by_reason,
        masked_columns=sorted(masks),
    )


def _ints(values: pa.ChunkedArray) -> list[int | None]:
    return [None if v is None else int(v) for v in pc.cast(values, pa.int64()).to_pylist()]


def _texts(values: pa.ChunkedArray) -> list[str | None]:
    return [None if v is None else str(v) for v in pc.cast(values, pa.string()).to_pylist()]
