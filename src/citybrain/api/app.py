"""Application factory: one router per resource, the web app mounted at the root."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from citybrain import __version__
from citybrain.api.routers import health, overview
from citybrain.core import Workspace
from citybrain.web import static_dir


def create_app(workspace: Workspace) -> FastAPI:
    app = FastAPI(
        title="citybrain",
        version=__version__,
        description="City digital brain (城市数字大脑) service API.",
    )
    app.state.workspace = workspace
    app.include_router(health.router)
    app.include_router(overview.router, prefix="/api/v1")
    # Mounted last so that API routes win; html=True serves index.html at "/".
    app.mount("/", StaticFiles(directory=static_dir(), html=True), name="web")
    return app
