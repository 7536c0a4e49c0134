"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from citybrain import __version__
from citybrain.api.deps import get_workspace, public
from citybrain.core import Workspace

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    workspace: str


@router.get("/health", dependencies=[Depends(public)])
def health(workspace: Annotated[Workspace, Depends(get_workspace)]) -> Health:
    return Health(status="ok", version=__version__, workspace=workspace.config.name)
