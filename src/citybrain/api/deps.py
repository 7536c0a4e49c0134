"""Dependencies shared by routers (workspace now; auth, scope, masking and audit later)."""

from __future__ import annotations

from fastapi import Request

from citybrain.core import Workspace


def get_workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace
