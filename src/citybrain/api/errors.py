"""Error responses a client can act on: 422 names the field, the problem and the value given."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response


def describe(errors: list[Any]) -> str:
    """One line per problem: ``query.page_size: Input should be ≤ 500 (got 1000)``."""
    lines = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "request"
        got = error.get("input")
        shown = "" if got is None or isinstance(got, dict | list) else f" (got {str(got)[:80]!r})"
        lines.append(f"{where}: {error.get('msg', 'invalid')}{shown}")
    more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
    return "; ".join(lines) + more


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    # Echoing a large or binary input back helps nobody; keep the location and the message.
    for error in errors:
        error.pop("ctx", None) if not _plain(error.get("ctx")) else None
        if isinstance(error.get("input"), bytes | bytearray) or len(str(error.get("input"))) > 200:
            error["input"] = None
    return JSONResponse(
        status_code=422,
        content={"detail": jsonable_encoder(errors), "message": describe(errors)},
    )


def _plain(ctx: Any) -> bool:
    return ctx is None or all(isinstance(v, str | int | float | bool) for v in ctx.values())


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        # Starlette lists only the methods of the one route it tried; a path served by several
        # routes (GET and POST /users) must advertise all of them.
        from citybrain.api.deps import api_routes

        path = request.url.path
        allowed = sorted(
            {
                m
                for r in api_routes(request.app.routes)
                if r.path_regex.match(path)
                for m in r.methods
            }
        )
        return JSONResponse(
            {"detail": "Method Not Allowed"}, 405, headers={"Allow": ", ".join(allowed)}
        )
    return await http_exception_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
