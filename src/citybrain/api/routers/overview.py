"""Headline figures for the overview screen (一屏会商)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from citybrain.api.deps import get_workspace
from citybrain.core import Workspace

router = APIRouter(tags=["overview"])


class Overview(BaseModel):
    city: str
    systems_connected: int
    records_aggregated: int
    datasets: int


@router.get("/overview")
def overview(workspace: Annotated[Workspace, Depends(get_workspace)]) -> Overview:
    from citybrain.core.catalog import Catalog

    headline = Catalog.for_workspace(workspace).headline()
    return Overview(
        city=workspace.config.name,
        systems_connected=headline.systems_connected,
        records_aggregated=headline.records_aggregated,
        datasets=headline.datasets,
    )
