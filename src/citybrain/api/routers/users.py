"""Users and their API keys (administrators)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from citybrain.api.deps import OpsEngine, Principal, Security, get_security, require
from citybrain.api.opsdb_models import ApiUser
from citybrain.api.paging import Page, PageParams, pagination
from citybrain.api.security import accounts
from citybrain.api.security.roles import Permission, Role
from citybrain.core.errors import UserError
from citybrain.core.opsdb import session

router = APIRouter(prefix="/users", tags=["users"])

Username = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]


class UserOut(BaseModel):
    """An account as the API shows it: ``accounts.UserInfo`` without the internal id."""

    model_config = ConfigDict(from_attributes=True)

    username: str
    display_name: str
    role: Role
    department: str | None
    scope: list[str]
    disabled: bool
    locked_until: datetime | None


class UserIn(BaseModel):
    username: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
    password: str | None = Field(None, min_length=8, max_length=256)
    role: Role
    department: str | None = Field(None, max_length=255)
    scope: list[str] = Field(default_factory=list, max_length=1000)
    display_name: str = Field("", max_length=255)


class KeyIn(BaseModel):
    label: str = Field("", max_length=255)


class KeyOut(BaseModel):
    key: str = Field(description="shown this once; only its hash is kept")
    prefix: str
    username: str


_SORTABLE = {"username": ApiUser.username, "role": ApiUser.role, "created_at": ApiUser.created_at}


@router.get("")
def list_users(
    _: Annotated[Principal, Depends(require(Permission.USERS_READ))],
    ops_engine: OpsEngine,
    paging: Annotated[PageParams, Depends(pagination(tuple(_SORTABLE), "username"))],
) -> Page[UserOut]:
    with session(ops_engine) as db:
        total = db.scalar(select(func.count()).select_from(ApiUser)) or 0
        rows = db.scalars(paging.apply(select(ApiUser), _SORTABLE)).all()
        items = [UserOut.model_validate(accounts.UserInfo.of(u)) for u in rows]
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.post("", status_code=201, responses={409: {"description": "exists or invalid"}})
def create_user(
    body: UserIn,
    _: Annotated[Principal, Depends(require(Permission.USERS_WRITE))],
    ops_engine: OpsEngine,
) -> UserOut:
    try:
        with session(ops_engine) as db:
            info = accounts.create_user(
                db,
                body.username,
                role=body.role,
                password=body.password,
                department=body.department,
                scope=body.scope,
                display_name=body.display_name,
            )
    except UserError as exc:
        raise HTTPException(409, detail=str(exc)) from None
    return UserOut.model_validate(info)


@router.post("/{username}/disable", responses={404: {"description": "no such user"}})
def disable_user(
    username: Username,
    _: Annotated[Principal, Depends(require(Permission.USERS_WRITE))],
    security: Annotated[Security, Depends(get_security)],
) -> UserOut:
    try:
        with session(security.ops_engine) as db:
            info = accounts.disable_user(db, username, security.clock())
        security.principals.clear()  # a cached sign-in must not outlive the account
    except UserError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return UserOut.model_validate(info)


@router.post("/{username}/keys", status_code=201, responses={404: {"description": "no such user"}})
def create_key(
    username: Username,
    body: KeyIn,
    _: Annotated[Principal, Depends(require(Permission.USERS_WRITE))],
    ops_engine: OpsEngine,
) -> KeyOut:
    try:
        with session(ops_engine) as db:
            created = accounts.create_key(db, username, body.label)
    except UserError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return KeyOut(key=created.key, prefix=created.prefix, username=created.username)
