"""The catalog: datasets of every zone, a dataset's record counts over time, lineage, systems."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel

from citybrain.api.deps import CatalogDep, Principal, Text, require
from citybrain.api.paging import Page, PageParams, Timestamp, pagination
from citybrain.api.security.roles import Permission
from citybrain.core.catalog import (
    Dataset,
    DatasetDetail,
    DatasetNotFound,
    HeadlineFigures,
    SystemSummary,
)

router = APIRouter(prefix="/catalog", tags=["catalog"])

Zone = Literal["source", "raw", "quarantine", "std", "base", "topic"]
DatasetName = Annotated[
    str, Path(pattern=r"^[\w\-.]+$", max_length=255, description="the dataset's name in its zone")
]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such dataset in the catalog"}
}
_SORTABLE = ("zone", "name", "rows", "refreshed_at", "system_id")


class LineageNodeOut(BaseModel):
    id: str  # "zone/name"
    zone: str
    name: str
    system_id: str | None
    depth: int  # 0 the dataset asked about, -n upstream, +n downstream


class LineageEdgeOut(BaseModel):
    source: str  # upstream "zone/name"
    target: str  # downstream "zone/name"
    kind: str
    run_id: str | None
    updated_at: datetime


class LineageOut(BaseModel):
    root: str
    nodes: list[LineageNodeOut]
    edges: list[LineageEdgeOut]


def _sort_key(name: str, dataset: Dataset) -> tuple[bool, str | int | float]:
    value: str | int | float | None
    if name == "rows":
        value = dataset.latest.rows if dataset.latest else None
    elif name == "refreshed_at":
        refreshed = dataset.freshness.last_refreshed_at
        value = refreshed.timestamp() if refreshed else None
    else:
        value = getattr(dataset, name)
    # Missing values last ascending; a (missing, value) pair keeps types comparable.
    return (value is None, value if value is not None else 0)


def sort_in_memory(items: list[Dataset], paging: PageParams) -> list[Dataset]:
    for name, descending in reversed(paging.sort):
        items = sorted(items, key=partial(_sort_key, name), reverse=descending)
    return items


@router.get("/datasets")
def list_datasets(
    _: Annotated[Principal, Depends(require(Permission.CATALOG_READ))],
    catalog: CatalogDep,
    paging: Annotated[PageParams, Depends(pagination(_SORTABLE, "zone,name"))],
    zone: Zone | None = None,
    system_id: Text | None = None,
) -> Page[Dataset]:
    """Datasets with their latest size and freshness; filter by zone and source system."""
    found = catalog.list_datasets(zone=zone, system_id=system_id)
    ordered = sort_in_memory(found, paging)
    return Page(
        items=ordered[paging.offset : paging.offset + paging.page_size],
        total=len(found),
        page=paging.page,
        page_size=paging.page_size,
    )


@router.get("/datasets/{zone}/{name}", responses=_NOT_FOUND)
def dataset_detail(
    zone: Zone,
    name: DatasetName,
    _: Annotated[Principal, Depends(require(Permission.CATALOG_READ))],
    catalog: CatalogDep,
    since: Annotated[Timestamp | None, Query(description="history from this time on")] = None,
) -> DatasetDetail:
    """One dataset: schema, owner, sensitivity, freshness, and its record counts over time."""
    try:
        return catalog.dataset_detail((zone, name), since=since)
    except DatasetNotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None


@router.get("/datasets/{zone}/{name}/lineage", responses=_NOT_FOUND)
def lineage(
    zone: Zone,
    name: DatasetName,
    _: Annotated[Principal, Depends(require(Permission.CATALOG_READ))],
    catalog: CatalogDep,
    depth: Annotated[int | None, Query(ge=1, le=20, description="steps each way")] = None,
) -> LineageOut:
    """Everything upstream and downstream of a dataset, as nodes and edges for a graph view."""
    try:
        graph = catalog.lineage((zone, name), depth=depth)
    except DatasetNotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return LineageOut(
        root=str(graph.root),
        nodes=[
            LineageNodeOut(
                id=str(node.key),
                zone=node.key.zone,
                name=node.key.name,
                system_id=node.system_id,
                depth=node.depth,
            )
            for node in graph.nodes
        ],
        edges=[
            LineageEdgeOut(
                source=str(edge.upstream),
                target=str(edge.downstream),
                kind=edge.kind,
                run_id=edge.run_id,
                updated_at=edge.updated_at,
            )
            for edge in graph.edges
        ],
    )


@router.get("/systems")
def systems(
    _: Annotated[Principal, Depends(require(Permission.CATALOG_READ))],
    catalog: CatalogDep,
) -> list[SystemSummary]:
    """Every department system loaded at least once: loads, rows landed, its latest load."""
    return catalog.list_systems()


@router.get("/headline")
def headline(
    _: Annotated[Principal, Depends(require(Permission.CATALOG_READ))],
    catalog: CatalogDep,
) -> HeadlineFigures:
    """Systems connected, records aggregated, datasets by zone, the last load's time."""
    return catalog.headline()
