"""The OpenAPI document states each operation's permission and the refusals it can answer with.

Every operation gets ``x-permission`` (a permission name or ``public``) and, besides its own
responses, 401 and 403 when it is guarded, 429 (rate limit), and 413 when it takes a body — so a
client, and schemathesis, can tell a documented refusal from a bug.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from starlette.routing import Match, Mount
from starlette.types import Scope

from citybrain.api.deps import SECURITY_SCHEMES, api_routes, check_every_route_guarded, signs_in

_ERROR = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"detail": {"type": "string"}},
                "required": ["detail"],
            }
        }
    }
}
_REFUSALS = {
    "401": "not signed in, or the token or key is invalid, expired or revoked",
    "403": "the caller's role lacks the permission this operation requires",
}
_ALWAYS = {"429": "too many requests from this caller; see Retry-After"}
_WITH_BODY = {
    "400": "request body is not in the declared encoding (JSON or form)",
    "413": "request body larger than the configured limit",
}


def document_security(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so the generated document carries permissions and refusals, and the
    ways to sign in (``deps.SECURITY_SCHEMES``) on every operation that authenticates: the schemes
    are called inside ``authenticate``, not declared as dependencies, so FastAPI does not see them.
    """
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        permissions = check_every_route_guarded(app.routes)
        signed_in = {
            f"{method} {route.path}"
            for route in api_routes(app.routes)
            if signs_in(route)
            for method in route.methods
        }
        if signed_in:
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            for scheme in SECURITY_SCHEMES:
                schemes[scheme.scheme_name] = jsonable_encoder(
                    scheme.model, by_alias=True, exclude_none=True
                )
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if f"{method.upper()} {path}" in signed_in:
                    operation["security"] = [{s.scheme_name: []} for s in SECURITY_SCHEMES]
                permission = permissions.get(f"{method.upper()} {path}", "public")
                operation["x-permission"] = str(permission)
                responses = operation.setdefault("responses", {})
                extra = dict(_ALWAYS)
                if permission != "public":
                    extra |= _REFUSALS
                if "requestBody" in operation:
                    extra |= _WITH_BODY
                for status, description in extra.items():
                    responses.setdefault(status, {"description": description, **_ERROR})
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


class WebMount(Mount):
    """The web app's static files at "/", kept off API paths.

    A plain Mount at "/" matches every path, so ``OPTIONS /api/v1/auth/token`` would get the static
    files' ``405 Allow: GET, HEAD`` instead of the API's ``405 Allow: POST``, and an unknown API
    path would be looked up as a file. API prefixes are left to the API routes.
    """

    def __init__(self, app: Any, api_prefixes: tuple[str, ...]) -> None:
        super().__init__("/", app=app, name="web")
        self.api_prefixes = api_prefixes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(self.api_prefixes):
            return Match.NONE, {}
        return super().matches(scope)
