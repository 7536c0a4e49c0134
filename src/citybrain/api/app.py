"""Application factory: one router per resource, guarded in one place; the web app at the root."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from citybrain import __version__
from citybrain.api.deps import (
    Lake,
    PrincipalCache,
    Security,
    check_every_route_guarded,
    public,
    warm_up,
)
from citybrain.api.errors import install_error_handlers
from citybrain.api.openapi import WebMount, document_security
from citybrain.api.routers import (
    audit,
    auth,
    cases,
    catalog,
    credit_review,
    entities,
    entity360,
    events,
    findings,
    health,
    loads,
    map_layers,
    metrics,
    overview,
    patrol,
    portal,
    portal_firm,
    push,
    quality,
    reports,
    topics,
    unmask_grants,
    users,
)
from citybrain.api.security.audit import AuditWriter
from citybrain.api.security.limits import BodySizeLimitMiddleware, TokenBucketLimiter
from citybrain.api.security.tokens import load_signing_key
from citybrain.api.settings import ApiSettings
from citybrain.cases.photos import MAX_BYTES as MAX_PHOTO_BYTES
from citybrain.core import Workspace
from citybrain.core.opsdb import connect
from citybrain.web import static_dir

API = "/api/v1"
# Paths the static web app never answers: an unknown one is the API's 404, not a missing file.
API_PREFIXES = ("/api/", "/open311/", "/docs", "/redoc", "/openapi.json", "/health")
OPEN311_MODULE = "citybrain.api.routers.open311"
PHOTO_BODY = MAX_PHOTO_BYTES + 64 * 1024  # one photo and its multipart framing


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.security.audit.stop()  # commit the audit rows still queued
    bus = getattr(app.state, "live_bus", None)
    if bus is not None:  # its poller must not outlive the app (a thread in a query at exit aborts)
        bus.close()


def create_app(
    workspace: Workspace, settings: ApiSettings | None = None, *, web_dir: Path | None = None
) -> FastAPI:
    """The service over ``workspace``; ``web_dir`` is the web app it serves at "/" (by default
    the build, else the placeholder page)."""
    settings = settings or ApiSettings.for_config(workspace.config.api)
    app = FastAPI(
        title="citybrain",
        version=__version__,
        description="City digital brain (城市数字大脑) service API.",
        lifespan=_lifespan,
    )
    # What the dependencies in ``citybrain.api.deps`` hand to the routes:
    app.state.workspace = workspace
    app.state.lake = Lake(workspace)
    ops_engine = connect(workspace.ops_db_url)
    app.state.security = Security(
        settings=settings,
        ops_engine=ops_engine,
        signing_key=load_signing_key(workspace.root, settings.signing_key_env),
        limiter=TokenBucketLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        audit=AuditWriter(ops_engine, settings.audit_flush_ms),
        principals=PrincipalCache(settings.auth_cache_seconds),
    )
    install_error_handlers(app)
    # Routes that take photos have a body limit of their own (a phone photo is often over 1 MB).
    uploads = {API + path: limit for path, limit in patrol.BODY_LIMITS.items()}
    uploads |= {f"{API}/portal/photos": PHOTO_BODY, f"{API}/cases/{{case_id}}/photos": PHOTO_BODY}
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes, larger=uploads)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "X-Purpose", "Content-Type"],
        )
    app.add_middleware(metrics.RequestCounter)

    app.include_router(health.router)
    app.include_router(overview.router, prefix=API)
    app.include_router(auth.router, prefix=API)
    app.include_router(users.router, prefix=API)
    app.include_router(unmask_grants.router, prefix=API)
    app.include_router(audit.router, prefix=API)
    for data in (
        entities,
        entity360,
        catalog,
        quality,
        loads,
        topics,
        findings,
        cases,
        map_layers,
        metrics,
        reports,
    ):
        app.include_router(data.router, prefix=API)
    app.include_router(events.router, prefix=API)
    app.include_router(push.router, prefix=API)  # department systems send records
    app.include_router(patrol.router, prefix=API)  # grid workers' and drone flights' reports
    # The public portal (residents and firms): its page at /portal/, its routes under the API.
    app.include_router(portal.router, prefix=API)
    app.include_router(portal_firm.router, prefix=API)
    app.include_router(credit_review.router, prefix=API)  # the steward's queue of firms' disputes
    app.include_router(portal.page_router)
    warm_up()
    if importlib.util.find_spec(OPEN311_MODULE) is not None:
        open311 = importlib.import_module(OPEN311_MODULE)
        # GeoReport v2 is open to citizens by design; a route of it that states its own
        # permission keeps that permission (require wins over public).
        app.include_router(open311.router, prefix="/open311/v2", dependencies=[Depends(public)])

    app.state.permissions = check_every_route_guarded(app.routes)
    document_security(app)
    # Last, so API routes win; html=True serves index.html at "/".
    web = StaticFiles(directory=web_dir or static_dir(), html=True)
    app.router.routes.append(WebMount(web, api_prefixes=API_PREFIXES))
    return app
