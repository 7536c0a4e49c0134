"""Authorization matrix: every route × every role × in, out of and without an area scope.

Routes are read from the app itself, so a route added later is covered without editing this file;
a route that declares no permission stops the app from starting at all.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.dependencies.models import Dependant

from api import scoped_data
from api.conftest import Harness, add_router, make_harness
from api.probe import router as probe_router
from citybrain.api import create_app
from citybrain.api.check_sheet import get_sheet_printer
from citybrain.api.deps import (
    ApiRouteInfo,
    UnguardedRoute,
    api_routes,
    check_every_route_guarded,
    get_scope,
    public,
    require,
    route_permission,
    route_permissions,
)
from citybrain.api.pii import get_masker
from citybrain.api.security.roles import ROLE_PERMISSIONS, Permission, Role
from citybrain.core import Workspace

SIDES = ("in", "out", "none")
SCOPES = {"in": ["street:S-IN"], "out": ["street:S-ELSEWHERE"], "none": []}
PATH_SAMPLES = {"username": "matrix-target", "person_id": "P1"}


def _found(response: httpx.Response) -> bool:
    return response.status_code == 200


def _listed(response: httpx.Response) -> bool:
    assert response.status_code == 200, response.text
    return "P1" in {row["person_id"] for row in response.json()}


# Routes that filter by area: for each, a request about subject P1 (street S-IN, grid G-IN) and
# how to tell from the response whether the caller saw it. A new area-scoped route must be added
# here (test_every_area_scoped_route_has_a_scope_case fails until it is).
SCOPED_ROUTES: dict[str, tuple[str, Callable[[httpx.Response], bool]]] = {
    "GET /api/v1/_probe/people/{person_id}": ("/api/v1/_probe/people/P1", _found),
    "GET /api/v1/_probe/people": ("/api/v1/_probe/people", _listed),
    **scoped_data.SCOPED_DATA_ROUTES,  # findings, cases and map layers (tests/api/scoped_data.py)
}


def _build_routes() -> list[tuple[str, str]]:
    root = Path(tempfile.mkdtemp(prefix="citybrain-matrix-"))
    app = create_app(Workspace.init(root / "ws"))
    add_router(app, probe_router)
    app.state.security.ops_engine.dispose()
    return [(m, r.path) for r in api_routes(app.routes) for m in sorted(r.methods)]


ROUTES = _build_routes()


def _uses(dependant: Dependant, calls: set[object]) -> bool:
    return any(d.call in calls or _uses(d, calls) for d in dependant.dependencies)


def stand_in_printer(html: str) -> bytes:
    """Who may print a check sheet is checked here; the print itself has its own test."""
    return b"%PDF-1.7 stand-in"


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Harness, dict[str, str]]]:
    for harness in make_harness(tmp_path_factory.mktemp("matrix")):
        add_router(harness.app, probe_router)
        harness.app.dependency_overrides[get_sheet_printer] = lambda: (
            lambda html: b"%PDF-1.7 stand-in"
        )
        harness.user("clerk", username="matrix-target")
        scoped_data.seed(harness.workspace, harness.security.ops_engine)
        scoped_data.seed_label(harness.security.ops_engine)
        scoped_data.seed_reporter(harness.security.ops_engine)
        headers = {
            f"{role.value}/{side}": harness.token(harness.user(role.value, scope=SCOPES[side]))
            for role in Role
            for side in SIDES
        }
        yield harness, headers


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_SAMPLES.get(m.group(1), "1"), path)


def _route(app: FastAPI, method: str, path: str) -> ApiRouteInfo:
    for route in api_routes(app.routes):
        if route.path == path and method in route.methods:
            return route
    raise AssertionError(f"{method} {path} not found")


#: An anonymous caller has no account, a firm's account has no area (its scope is its own USCC)
#: and neither has a resident's (its scope is its own phone): only their "none" side is a state
#: that can exist, so the other two are not run.
ROLE_SIDES = [
    pytest.param(role, side, id=f"{'anonymous' if role is None else role.value}-{side}")
    for role in [*Role, None]
    for side in (("none",) if role in (None, Role.FIRM, Role.RESIDENT) else SIDES)
]


@pytest.mark.parametrize(("role", "side"), ROLE_SIDES)
@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_route_role_scope(
    matrix: tuple[Harness, dict[str, str]], method: str, path: str, role: Role | None, side: str
) -> None:
    harness, tokens = matrix
    route = _route(harness.app, method, path)
    permission = route_permission(route)
    assert permission is not None
    needed = route_permissions(route)  # a route may require more than one permission
    allowed = role is not None and needed <= ROLE_PERMISSIONS[role]
    headers = {} if role is None else {"Authorization": f"Bearer {tokens[f'{role.value}/{side}']}"}
    response = harness.client.request(method, _fill(path), headers=headers)
    assert response.status_code < 500, response.text
    if permission == "public":
        assert response.status_code not in (401, 403)
    elif role is None:
        assert response.status_code == 401
    elif allowed:
        assert response.status_code not in (401, 403), response.text
    else:
        assert response.status_code == 403
        lacking = needed - ROLE_PERMISSIONS[role]
        assert any(p.value in response.json()["detail"] for p in lacking), response.text

    key = f"{method} {path}"
    if key in SCOPED_ROUTES and role is not None and allowed:
        url, saw_subject = SCOPED_ROUTES[key]
        scoped = harness.client.request(method, url, headers=headers)
        sees_city = side == "none" and role.value not in ("clerk", "public")
        assert saw_subject(scoped) == (side == "in" or sees_city), (role, side, scoped.text)


def test_every_area_scoped_route_has_a_scope_case(matrix: tuple[Harness, dict[str, str]]) -> None:
    harness, _ = matrix
    scoped = {
        f"{method} {route.path}"
        for route in api_routes(harness.app.routes)
        if _uses(route.dependant, {get_scope, get_masker})
        for method in route.methods
    }
    missing = scoped - set(SCOPED_ROUTES)
    assert not missing, f"add these area-scoped routes to SCOPED_ROUTES: {sorted(missing)}"


@pytest.mark.parametrize("route", sorted(scoped_data.RESIDENT_ROUTES))
@pytest.mark.parametrize(
    ("phone", "sees"), [(scoped_data.P1_PHONE, True), ("13900000009", False), (None, False)]
)
def test_a_resident_sees_only_the_reports_made_with_their_phone(
    matrix: tuple[Harness, dict[str, str]], route: str, phone: str | None, sees: bool
) -> None:
    harness, _ = matrix
    name = harness.user(Role.RESIDENT.value, department=phone)
    url, saw_p1 = scoped_data.RESIDENT_ROUTES[route]
    response = harness.client.request(route.split(" ")[0], url, headers=harness.headers(name))
    assert saw_p1(response) == sees, response.text


def test_every_resident_route_has_a_phone_case(matrix: tuple[Harness, dict[str, str]]) -> None:
    harness, _ = matrix
    resident = {
        f"{method} {route.path}"
        for route in api_routes(harness.app.routes)
        if Permission.PORTAL_RESIDENT in route_permissions(route)
        for method in route.methods
    }
    missing = resident - set(scoped_data.RESIDENT_ROUTES)
    assert not missing, f"add these resident routes to RESIDENT_ROUTES: {sorted(missing)}"


def test_every_route_in_the_openapi_declares_a_permission(
    matrix: tuple[Harness, dict[str, str]],
) -> None:
    harness, _ = matrix
    guarded = check_every_route_guarded(harness.app.routes)
    openapi = harness.client.get("/openapi.json").json()
    for path, operations in openapi["paths"].items():
        for method in operations:
            assert f"{method.upper()} {path}" in guarded, f"{method} {path} has no permission"
    public_routes = {k for k, v in guarded.items() if v == "public"}
    assert public_routes == {
        "GET /health",
        "GET /api/v1/overview",
        "POST /api/v1/auth/token",
        "POST /api/v1/auth/refresh",
        "POST /api/v1/auth/logout",
        "GET /api/v1/map/style.json",  # the base map, open like any base map (no person in it)
        "GET /api/v1/map/tiles/{z}/{x}/{y}.mvt",
        "GET /api/v1/map/city/{z}/{x}/{y}",  # the city's own base-map file, when configured
        # The portal's residents need no account: a report is opened by its signed receipt only.
        "POST /api/v1/portal/address",
        "POST /api/v1/portal/photos",
        "POST /api/v1/portal/reports",
        "GET /api/v1/portal/receipts/{receipt}",
        "POST /api/v1/portal/receipts/{receipt}/rating",
        "GET /api/v1/portal/air",  # air quality near a typed address (stations, no person)
        "GET /api/v1/portal/notices",  # a community's screening rounds (counts and dates)
        "POST /api/v1/portal/phone/code",  # a resident asks for a sign-in code (rate-limited)
        "POST /api/v1/portal/phone/session",  # … and signs in with it
        "POST /api/v1/portal/firm/session",  # a firm signs in (USCC checked against the account)
        "GET /portal",  # the portal's page (a redirect to /portal/)
        "GET /portal/",
        "GET /api/v1/parking/nearest",  # residents find a lot with free spaces without an account
    } | {k for k in public_routes if k.split(" ")[1].startswith("/open311/")}


def test_an_unguarded_route_is_refused_at_start_up() -> None:
    app = FastAPI()
    router = APIRouter()

    @router.get("/guarded", dependencies=[Depends(require(Permission.CASES_READ))])
    def guarded() -> None: ...

    @router.get("/open", dependencies=[Depends(public)])
    def open_() -> None: ...

    @router.get("/forgotten")
    def forgotten() -> None: ...

    app.include_router(router)
    with pytest.raises(UnguardedRoute, match="GET /forgotten"):
        check_every_route_guarded(app.routes)


def test_static_web_app_and_health_stay_public(api: Harness) -> None:
    assert api.client.get("/").status_code == 200
    assert api.client.get("/health").status_code == 200
    assert api.client.get("/api/v1/overview").status_code == 200


def test_the_permission_table_covers_every_role() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert Permission.AUDIT_READ not in ROLE_PERMISSIONS[Role.ADMIN]  # separation of duties
    assert ROLE_PERMISSIONS[Role.AUDITOR] >= {Permission.AUDIT_READ}
    # 信用修复审核 is the data steward's: no clerk, analyst or firm decides a firm's dispute.
    assert {r for r in Role if Permission.CREDIT_REVIEW in ROLE_PERMISSIONS[r]} == {
        Role.ADMIN, Role.DATA_STEWARD}  # fmt: skip
