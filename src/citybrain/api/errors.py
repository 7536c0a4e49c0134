"""Error responses a client can act on: 422 names the field, the problem and the value given."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
