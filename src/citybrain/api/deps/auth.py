"""Who is calling and may they: authentication, rate limits, the permission check, audit.

Every route declares exactly one of

* ``Depends(require(Permission.X))`` — authenticate (bearer JWT or ``X-API-Key``), rate-limit
  per user or key, check the role's permission in ``security.roles.ROLE_PERMISSIONS``, write an
  audit row when the permission is audited (reads of personal data and all writes); or
* ``Depends(public)`` — no sign-in, rate-limited per client address.

``create_app`` refuses to start when a route declares neither (``check_every_route_guarded``).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal, TypeVar
from urllib.parse import unquote

from fastapi import Depends, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from fastapi.security.base import SecurityBase
from sqlalchemy import Engine as SqlEngine
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from citybrain.api.security import accounts, tokens
from citybrain.api.security.audit import AuditEntry, AuditUnavailable, AuditWriter
from citybrain.api.security.keys import hash_key
from citybrain.api.security.limits import TokenBucketLimiter
from citybrain.api.security.roles import AUDITED, Permission, Role, allows
from citybrain.api.security.scope import Scope
from citybrain.api.settings import ApiSettings
from citybrain.core import Workspace
from citybrain.core.opsdb import session, utcnow

PURPOSE_HEADER = "X-Purpose"
_T = TypeVar("_T", str, int)

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)
# The ways to sign in, in the order OpenAPI lists them on an operation that needs it.
SECURITY_SCHEMES: tuple[SecurityBase, ...] = (oauth2_scheme, api_key_scheme)


class PrincipalCache:
    """Callers verified in the last few seconds, so a burst of requests costs one DB lookup.

    When an entry expires, the first request to notice refreshes it from the database while the
    others go on with the entry they have (for the few milliseconds that takes): otherwise every
    request in flight would query the ops database at the same moment.
    """

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    def get(self, key: str) -> Principal | None:
        if self.ttl <= 0:
            return None
        entry = self._entries.get(key)
        if entry is None or entry[0] < self._clock():
            return None
        return entry[1]

    def stale(self, key: str) -> Principal | None:
        """An expired entry whose refresh this caller is to start (None: nothing to serve, or
        someone else is refreshing it — then ask the database as usual)."""
        entry = self._entries.get(key)
        if entry is None or self.ttl <= 0:
            return None
        with self._lock:
            if key in self._refreshing:
                return entry[1]
            self._refreshing.add(key)
        return None

    def put(self, key: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key] = (self._clock() + self.ttl, principal)
            self._refreshing.discard(key)

    def drop(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._refreshing.discard(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._refreshing.clear()


class VerifiedTokens:
    """Access tokens whose signature was checked, so a token used again costs a dict lookup.

    Only the claims are remembered; expiry is still checked against the clock on every use, and
    the user behind the token is looked up (or taken from ``PrincipalCache``) each time.
    """

    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self._claims: dict[str, tokens.AccessClaims] = {}

    def decode(self, key: bytes, token: str, now: datetime) -> tokens.AccessClaims:
        claims = self._claims.get(token)
        if claims is None:
            claims = tokens.decode_access_token(key, token, now)
            if len(self._claims) >= self.MAX_ENTRIES:
                self._claims.clear()
            self._claims[token] = claims
        elif claims.expires_at.timestamp() <= now.timestamp():
            raise tokens.TokenError("token expired")
        return claims


@dataclass
class Security:
    """App-wide security state, kept in ``app.state.security``; tests may swap the clock."""

    settings: ApiSettings
    ops_engine: SqlEngine  # the ops database (SQLAlchemy): users, keys, audit, cases, catalog
    signing_key: bytes
    limiter: TokenBucketLimiter
    audit: AuditWriter
    clock: Callable[[], datetime] = field(default=utcnow)
    principals: PrincipalCache = field(default_factory=lambda: PrincipalCache(0))
    verified: VerifiedTokens = field(default_factory=VerifiedTokens)

    def audit_now(self, entry: AuditEntry) -> int:
        """Write one audit row and wait for its commit (from a worker thread); 503 if impossible."""
        try:
            return self.audit.write(entry)
        except AuditUnavailable as exc:
            raise HTTPException(503, detail=str(exc)) from None

    def audit_read(self, entry: AuditEntry) -> None:
        """Audit a masked read as ``Require`` does: queued, or committed first when
        ``audit_wait_reads``; refused when the audit log cannot be written."""
        if not self.audit.healthy:
            raise HTTPException(503, detail="the audit log cannot be written; try again later")
        if self.settings.audit_wait_reads:
            self.audit_now(entry)
        else:
            self.audit.submit(entry)

    async def audit_async(self, entry: AuditEntry) -> int:
        """The same from the event loop: the loop serves others while the group commits."""
        try:
            return await asyncio.wrap_future(self.audit.submit(entry))
        except AuditUnavailable as exc:
            raise HTTPException(503, detail=str(exc)) from None


@dataclass(frozen=True)
class Principal:
    """Who is calling: a signed-in user (token) or a system (API key) acting as its user."""

    user_id: int
    username: str
    role: Role
    department: str | None
    scope: Scope
    via: Literal["token", "key"]
    key_prefix: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.username} (key {self.key_prefix})" if self.key_prefix else self.username


# Trivial dependencies are ``async``: FastAPI runs a plain ``def`` dependency in a worker thread,
# and that hop would cost more than the dependency itself.
async def get_workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


async def get_security(request: Request) -> Security:
    security: Security = request.app.state.security
    return security


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _rate_limit(security: Security, key: str) -> None:
    if not security.settings.rate_limit_enabled:
        return
    wait = security.limiter.hit(key)
    if wait > 0:
        raise HTTPException(
            429,
            detail="too many requests; slow down and retry after the number of seconds given",
            headers={"Retry-After": TokenBucketLimiter.retry_after(wait)},
        )


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(401, detail=message, headers={"WWW-Authenticate": "Bearer"})


async def authenticate(request: Request) -> Principal:
    """The caller, from ``X-API-Key`` or a bearer token; 401 when neither is valid.

    A caller seen in the last ``auth_cache_seconds`` is answered from memory on the event loop;
    otherwise the ops database is asked from a worker thread.
    """
    # Every dependency node costs FastAPI's solve_dependencies several microseconds per request,
    # even a cached one, so the security state comes from app.state (as get_security gives it)
    # and the two schemes are called here instead of declared as Depends; ``api.openapi`` puts
    # them in the OpenAPI document of every operation that signs in (``signs_in``).
    security: Security = request.app.state.security
    api_key = await api_key_scheme(request)
    if api_key:
        cache_key = "key:" + hash_key(api_key)
        cached = security.principals.get(cache_key)
        if cached is None:
            cached = await _lookup(security, cache_key, _principal_for_key, api_key)
        _rate_limit(security, f"key:{cached.key_prefix}")
        return cached
    bearer = await oauth2_scheme(request)
    if not bearer:
        raise _unauthorised("sign in: send a bearer token or an X-API-Key header")
    try:
        claims = security.verified.decode(security.signing_key, bearer, security.clock())
    except tokens.TokenError as exc:
        raise _unauthorised(str(exc)) from None
    cache_key = f"user:{claims.user_id}"
    principal = security.principals.get(cache_key)
    if principal is None:
        principal = await _lookup(security, cache_key, _principal_for_user, claims.user_id)
    _rate_limit(security, f"user:{principal.user_id}")
    return principal


async def _lookup(
    security: Security, cache_key: str, load: Callable[[Security, _T], Principal], arg: _T
) -> Principal:
    """Ask the ops database (in a worker thread), unless another request is already refreshing
    this caller's expired entry: then that entry serves until the refresh lands."""
    stale = security.principals.stale(cache_key)
    if stale is not None:
        return stale
    try:
        principal = await run_in_threadpool(load, security, arg)
    except BaseException:
        security.principals.drop(cache_key)  # a revoked key or disabled user is forgotten
        raise
    security.principals.put(cache_key, principal)
    return principal


def _principal_for_key(security: Security, api_key: str) -> Principal:
    with session(security.ops_engine) as db:
        found = accounts.user_for_key(db, api_key)
        if found is None:
            raise _unauthorised("invalid or revoked API key")
        user, prefix = found
        return _principal(user, "key", prefix)


def _principal_for_user(security: Security, user_id: int) -> Principal:
    from citybrain.api.opsdb_models import ApiUser

    with session(security.ops_engine) as db:
        row = db.get(ApiUser, user_id)
        if row is None or row.disabled:
            raise _unauthorised("user disabled or removed")
        return _principal(row, "token", None)


def _principal(user: object, via: Literal["token", "key"], prefix: str | None) -> Principal:
    from citybrain.api.opsdb_models import ApiUser

    assert isinstance(user, ApiUser)
    role = Role(user.role)
    return Principal(
        user_id=user.id,
        username=user.username,
        role=role,
        department=user.department,
        scope=Scope.for_user(role, user.scope, user.department),
        via=via,
        key_prefix=prefix,
    )


class Require:
    """The dependency ``require(permission)`` returns; routers never build it by hand."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __repr__(self) -> str:
        return f"require({self.permission.value!r})"

    async def __call__(
        self, request: Request, principal: Annotated[Principal, Depends(authenticate)]
    ) -> Principal:
        security: Security = request.app.state.security  # as get_security, without its node
        if not allows(principal.role, self.permission):
            raise HTTPException(
                403, detail=f"role {principal.role.value} lacks permission {self.permission.value}"
            )
        if self.permission in AUDITED:
            # A write waits until its audit row is committed, before the handler acts. A masked
            # read is queued and answered at once unless ``audit_wait_reads``; its row commits
            # within ``audit_flush_ms`` (see ApiSettings). No audit log, no answer either way.
            if not security.audit.healthy:
                raise HTTPException(503, detail="the audit log cannot be written; try again later")
            entry = AuditEntry(
                actor=principal.actor,
                role=principal.role.value,
                action=self.permission.value,
                endpoint=f"{request.method} {_path(request)}"[:512],
                subjects=[str(v) for v in request.path_params.values()],
                purpose=_purpose(request),
                detail={"via": principal.via},
                at=security.clock(),
            )
            if request.method in _READS and not security.settings.audit_wait_reads:
                security.audit.submit(entry)
            else:
                await security.audit_async(entry)
        return principal


def _path(request: Request) -> str:
    """``request.url.path`` without parsing a whole URL (that took a tenth of a credit lookup):
    the scope's path with the characters Starlette's URL escapes escaped the same way."""
    path: str = request.scope["path"]
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


def _purpose(request: Request) -> str | None:
    """``X-Purpose``; UTF-8 text (Chinese) arrives percent-encoded, since headers are ASCII."""
    raw = request.headers.get(PURPOSE_HEADER)
    return unquote(raw)[:1000] if raw else None


_READS = frozenset({"GET", "HEAD"})
_REQUIRES: dict[Permission, Require] = {}


def require(permission: Permission) -> Require:
    """``Depends(require(Permission.CASES_READ))``: the one way a route states who may call it."""
    return _REQUIRES.setdefault(permission, Require(permission))


class Public:
    """Marks a route as open to anyone; it is still rate-limited per client address."""

    def __repr__(self) -> str:
        return "public"

    async def __call__(
        self, request: Request, security: Annotated[Security, Depends(get_security)]
    ) -> None:
        _rate_limit(security, f"ip:{_client_ip(request)}")


public = Public()


# --- checking that no route forgot its guard ------------------------------------------------------


def _walk(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _walk(sub)


@dataclass(frozen=True)
class ApiRouteInfo:
    """One API route as the app serves it, with router-level dependencies folded in."""

    methods: frozenset[str]
    path: str
    dependant: Dependant
    path_regex: re.Pattern[str]


def api_routes(routes: Sequence[BaseRoute]) -> list[ApiRouteInfo]:
    """Every API route of an app, including those of included routers (FastAPI nests them)."""
    found: list[ApiRouteInfo] = []
    for context in iter_route_contexts(routes):
        if not isinstance(context.original_route, APIRoute):
            continue  # FastAPI's own docs routes and the static web app
        dependant = context.dependant
        assert isinstance(dependant, Dependant)
        methods = frozenset(context.methods or ())
        found.append(ApiRouteInfo(methods, str(context.path), dependant, context.path_regex))
    return found


def route_permission(route: ApiRouteInfo) -> Permission | Literal["public"] | None:
    """The permission a route requires, ``"public"`` for an open route, None if it declares none."""
    calls = list(_walk(route.dependant))
    for call in calls:
        if isinstance(call, Require):
            return call.permission
    return "public" if any(isinstance(call, Public) for call in calls) else None


def route_permissions(route: ApiRouteInfo) -> frozenset[Permission]:
    """Every permission a route requires: a caller must hold all of them (a person's credit
    report needs both entities.read and credit.read)."""
    calls = _walk(route.dependant)
    return frozenset(call.permission for call in calls if isinstance(call, Require))


def signs_in(route: ApiRouteInfo) -> bool:
    """Whether the route authenticates its caller (``require``, or ``authenticate`` itself)."""
    return any(call is authenticate for call in _walk(route.dependant))


class UnguardedRoute(RuntimeError):
    """A route that declares neither a permission nor ``public``: a bug, caught at start-up."""


def check_every_route_guarded(
    routes: Sequence[BaseRoute],
) -> dict[str, Permission | Literal["public"]]:
    """Map ``"METHOD /path"`` to its permission; raise if any API route declares none."""
    guarded: dict[str, Permission | Literal["public"]] = {}
    missing: list[str] = []
    for route in api_routes(routes):
        permission = route_permission(route)
        for method in sorted(route.methods):
            name = f"{method} {route.path}"
            if permission is None:
                missing.append(name)
            else:
                guarded[name] = permission
    if missing:
        raise UnguardedRoute(
            "routes without Depends(require(...)) or Depends(public): " + ", ".join(missing)
        )
    return guarded
