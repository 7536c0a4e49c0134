"""Sign in (OAuth2 password flow), refresh, sign out, and who am I."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from citybrain.api.deps import Principal, Security, get_security, public, require
from citybrain.api.opsdb_models import ApiUser
from citybrain.api.security import accounts, audit, tokens
from citybrain.api.security.roles import ROLE_PERMISSIONS, Permission
from citybrain.core.opsdb import session

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenPair(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")
    refresh_token: str


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class Me(BaseModel):
    username: str
    role: str
    department: str | None
    scope: list[str]
    citywide: bool
    permissions: list[str]
    via: str


def _pair(security: Security, user_id: int, refresh: str) -> TokenPair:
    lifetime = timedelta(minutes=security.settings.access_token_minutes)
    access = tokens.issue_access_token(security.signing_key, user_id, security.clock(), lifetime)
    return TokenPair(
        access_token=access, expires_in=int(lifetime.total_seconds()), refresh_token=refresh
    )


@router.post(
    "/token",
    dependencies=[Depends(public)],
    responses={401: {"description": "wrong user name or password"}, 423: {"description": "locked"}},
)
def token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    security: Annotated[Security, Depends(get_security)],
) -> TokenPair:
    """Exchange a user name and password for an access token and a refresh token."""
    settings = security.settings
    now = security.clock()
    refused: accounts.LoginRefused | None = None
    with session(security.ops_engine) as db:
        try:
            user = accounts.sign_in(
                db,
                form.username,
                form.password,
                now,
                max_attempts=settings.lockout_attempts,
                lockout=timedelta(minutes=settings.lockout_minutes),
            )
        except accounts.LoginRefused as exc:
            refused = exc  # the failure count must still be committed
            outcome = "auth.locked" if exc.locked_until is not None else "auth.login_failed"
            role = ""
        else:
            refresh = tokens.issue_refresh_token(
                db, user.id, now, timedelta(days=settings.refresh_token_days)
            )
            user_id = user.id
            outcome, role = "auth.login", user.role
        audit.append(
            db,
            actor=form.username[:64],
            role=role,
            action=outcome,
            endpoint="POST /api/v1/auth/token",
            detail={"client": request.client.host if request.client else "unknown"},
            at=now,
        )
    if refused is not None:
        if refused.locked_until is not None:
            raise HTTPException(
                423, detail=f"{refused}; try again after {refused.locked_until.isoformat()}"
            )
        raise HTTPException(401, detail=str(refused), headers={"WWW-Authenticate": "Bearer"})
    return _pair(security, user_id, refresh)


@router.post(
    "/refresh", dependencies=[Depends(public)], responses={401: {"description": "refused"}}
)
def refresh(
    body: RefreshRequest, security: Annotated[Security, Depends(get_security)]
) -> TokenPair:
    """Trade a refresh token for a new pair; the old refresh token stops working (rotation)."""
    now = security.clock()
    error: tokens.TokenError | None = None
    with session(security.ops_engine) as db:
        try:
            user_id, new_refresh = tokens.rotate_refresh_token(
                db, body.refresh_token, now, timedelta(days=security.settings.refresh_token_days)
            )
            user = db.get(ApiUser, user_id)
            if user is None or user.disabled:
                raise tokens.TokenError("user disabled or removed")
        except tokens.TokenError as exc:
            error = exc  # a reuse revokes the family: commit that, then refuse
    if error is not None:
        raise HTTPException(401, detail=str(error), headers={"WWW-Authenticate": "Bearer"})
    return _pair(security, user_id, new_refresh)


@router.post(
    "/logout",
    status_code=204,
    dependencies=[Depends(public)],
    responses={401: {"description": "unknown refresh token"}},
)
def logout(body: RefreshRequest, security: Annotated[Security, Depends(get_security)]) -> None:
    """Revoke a refresh token and every token rotated from the same sign-in."""
    now = security.clock()
    with session(security.ops_engine) as db:
        try:
            user_id = tokens.revoke_refresh_token(db, body.refresh_token, now)
        except tokens.TokenError as exc:
            raise HTTPException(401, detail=str(exc)) from None
        user = db.get(ApiUser, user_id)
        audit.append(
            db,
            actor=user.username if user else str(user_id),
            role=user.role if user else "",
            action="auth.logout",
            endpoint="POST /api/v1/auth/logout",
            at=now,
        )


@router.get("/me")
def me(principal: Annotated[Principal, Depends(require(Permission.SELF))]) -> Me:
    """The signed-in user: role, department, area scope and permissions."""
    return Me(
        username=principal.username,
        role=principal.role.value,
        department=principal.department,
        scope=principal.scope.items,
        citywide=principal.scope.citywide,
        permissions=sorted(p.value for p in ROLE_PERMISSIONS[principal.role]),
        via=principal.via,
    )
