"""Headline figures for the overview screen (一屏会商).

Public: the web app shows them before anyone signs in, and they are city-wide counts with nothing
personal in them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from citybrain.api.deps import Security, get_security, get_workspace, public
from citybrain.core import Workspace
from citybrain.core.catalog import Catalog

router = APIRouter(tags=["overview"])


class Overview(BaseModel):
    city: str
    systems_connected: int
    records_aggregated: int
    datasets: int


@router.get("/overview", dependencies=[Depends(public)])
def overview(
    workspace: Annotated[Workspace, Depends(get_workspace)],
    security: Annotated[Security, Depends(get_security)],
) -> Overview:
    headline = Catalog(security.engine).headline()
    return Overview(
        city=workspace.config.name,
        systems_connected=headline.systems_connected,
        records_aggregated=headline.records_aggregated,
        datasets=headline.datasets,
    )
