"""Running the service: uvicorn with uvloop and httptools, as many worker processes as configured.

uvicorn starts each worker by importing ``app_factory``; the workspace travels in an environment
variable because a worker is a fresh process. Every worker keeps its own caches and rate-limit
buckets and appends to the one audit chain through the ops database (its lock orders them).
"""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path

from fastapi import FastAPI

from citybrain.api.settings import ApiSettings
from citybrain.core import Workspace

WORKSPACE_ENV = "CITYBRAIN_SERVE_WORKSPACE"


def tune_process() -> threading.Thread:
    """Process-wide tuning, done by the server's entry points and never by library code.

    The topics' imports (scikit-learn, LightGBM …) leave a large heap that lives as long as the
    process; once ``create_app``'s warm-up has loaded them, that heap is frozen, so the collector
    stops re-scanning it (its full passes stalled requests for hundreds of milliseconds).
    """
    from citybrain.api.deps import installed_topics

    def freeze_after_warm_up() -> None:
        installed_topics()  # waits for the warm-up's scan, or does it
        gc.freeze()

    thread = threading.Thread(target=freeze_after_warm_up, name="gc-freeze", daemon=True)
    thread.start()
    return thread


def app_factory() -> FastAPI:
    """The app of the workspace named by ``CITYBRAIN_SERVE_WORKSPACE`` (for uvicorn workers)."""
    from citybrain.api import create_app

    app = create_app(Workspace.open(Path(os.environ[WORKSPACE_ENV])))
    tune_process()
    return app


def run(
    workspace: Workspace,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int | None = None,
    log_level: str = "warning",
) -> None:
    """Serve until interrupted; ``workers`` defaults to ``[api] workers`` of the workspace."""
    import uvicorn

    from citybrain.api import create_app
    from citybrain.api.security.tokens import load_signing_key
    from citybrain.core.opsdb import connect

    settings = ApiSettings.for_config(workspace.config.api)
    count = workers or settings.workers
    options: dict[str, object] = {
        "host": host, "port": port, "loop": "uvloop", "http": "httptools",
        "log_level": log_level, "access_log": False,
    }  # fmt: skip
    if count == 1:
        # Built here, so a bad workspace fails now with one clear line.
        app = create_app(workspace, settings)
        tune_process()
        uvicorn.run(app, **options)  # type: ignore[arg-type]
        return
    # Several workers each build their own app; check here what would fail in every one of them.
    connect(workspace.ops_db_url).dispose()
    load_signing_key(workspace.root, settings.signing_key_env)
    os.environ[WORKSPACE_ENV] = str(workspace.root)
    uvicorn.run(f"{__name__}:app_factory", factory=True, workers=count, **options)  # type: ignore[arg-type]
