"""Users and API keys: create, list, disable, sign in with lockout. Used by the API and the CLI."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from citybrain.api.opsdb_models import ApiKey, ApiUser
from citybrain.api.security import keys, passwords
from citybrain.api.security.roles import Role
from citybrain.api.security.scope import parse_scope
from citybrain.core.errors import UserError

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    display_name: str
    role: Role
    department: str | None
    scope: list[str]
    disabled: bool
    locked_until: datetime | None

    @classmethod
    def of(cls, user: ApiUser) -> UserInfo:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=Role(user.role),
            department=user.department,
            scope=list(user.scope),
            disabled=user.disabled,
            locked_until=user.locked_until,
        )


def check_username(username: str) -> str:
    if not USERNAME.match(username):
        raise UserError(
            f"user name {username!r} is not allowed",
            hint="use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return username


def create_user(
    db: Session,
    username: str,
    *,
    role: Role | str,
    password: str | None,
    department: str | None = None,
    scope: list[str] | str | None = None,
    display_name: str = "",
) -> UserInfo:
    """Create a user; ``password=None`` makes a system user that signs in with API keys only."""
    check_username(username)
    try:
        role = Role(role)
    except ValueError:
        raise UserError(
            f"unknown role {role!r}", hint=f"roles are {', '.join(r.value for r in Role)}"
        ) from None
    try:
        items = parse_scope(scope)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if password is not None:
        try:
            passwords.check_password_strength(password)
        except passwords.WeakPassword as exc:
            raise UserError(str(exc)) from None
    if db.scalar(select(ApiUser.id).where(ApiUser.username == username)) is not None:
        raise UserError(f"user {username!r} already exists")
    user = ApiUser(
        username=username,
        display_name=display_name,
        password_hash=passwords.hash_password(password) if password is not None else None,
        role=role.value,
        department=department,
        scope=items,
        disabled=False,
        failed_logins=0,
    )
    db.add(user)
    try:
        db.flush()
    except IntegrityError:
        raise UserError(f"user {username!r} already exists") from None
    return UserInfo.of(user)


def get_user(db: Session, username: str) -> ApiUser:
    user = db.scalar(select(ApiUser).where(ApiUser.username == username))
    if user is None:
        raise UserError(f"no user named {username!r}", hint="see `citybrain user list`")
    return user


def list_users(db: Session) -> list[UserInfo]:
    return [UserInfo.of(u) for u in db.scalars(select(ApiUser).order_by(ApiUser.username))]


def disable_user(db: Session, username: str, now: datetime) -> UserInfo:
    from citybrain.api.security.tokens import revoke_all_for_user

    user = get_user(db, username)
    user.disabled = True
    for key in db.scalars(select(ApiKey).where(ApiKey.user_id == user.id)):
        key.revoked_at = key.revoked_at or now
    revoke_all_for_user(db, user.id, now)
    return UserInfo.of(user)


@dataclass(frozen=True)
class CreatedKey:
    key: str
    prefix: str
    username: str


def create_key(db: Session, username: str, label: str = "") -> CreatedKey:
    user = get_user(db, username)
    if user.disabled:
        raise UserError(f"user {username!r} is disabled")
    new = keys.generate_key()
    db.add(ApiKey(user_id=user.id, prefix=new.prefix, key_hash=new.key_hash, label=label))
    db.flush()
    return CreatedKey(key=new.key, prefix=new.prefix, username=username)


def user_for_key(db: Session, key: str) -> tuple[ApiUser, str] | None:
    prefix = keys.key_prefix(key)
    if prefix is None:
        return None
    found = db.execute(
        select(ApiKey, ApiUser)
        .join(ApiUser, ApiUser.id == ApiKey.user_id)
        .where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
    ).first()
    if found is None or not keys.key_matches(key, found[0].key_hash) or found[1].disabled:
        return None
    return found[1], prefix


class LoginRefused(Exception):
    def __init__(self, message: str, *, locked_until: datetime | None = None) -> None:
        super().__init__(message)
        self.locked_until = locked_until


def sign_in(
    db: Session,
    username: str,
    password: str,
    now: datetime,
    *,
    max_attempts: int,
    lockout: timedelta,
) -> ApiUser:
    """Check a password; count failures and lock the account for ``lockout`` after too many.

    Raises ``LoginRefused`` with the same message for an unknown user and a wrong password.
    """
    user = db.scalar(select(ApiUser).where(ApiUser.username == username))
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise LoginRefused("account locked after repeated failures", locked_until=user.locked_until)
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        if user is not None and not user.disabled:
            user.failed_logins += 1
            if user.failed_logins >= max_attempts:
                user.failed_logins = 0
                user.locked_until = now + lockout
        raise LoginRefused("wrong user name or password")
    user.failed_logins = 0
    user.locked_until = None
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    department: str | None
    scope: list[str]


def create_demo_users(
    db: Session, *, street: str = "S01", grid: str | None = None, department: str | None = None
) -> list[DemoLogin]:
    """Demo accounts with known passwords for ``make demo``; existing ones are left as they are.

    ``department`` is the demo clerk's street office (default ``<street>街道办``).

    Never use these on a real deployment: the passwords are printed and published.
    """
    office = department or f"{street}街道办"
    logins = [
        DemoLogin("admin", "admin-demo-2024", "admin", "数据局", []),
        DemoLogin("clerk", "clerk-demo-2024", "clerk", office, [f"street:{street}"]),
        DemoLogin("leader", "leader-demo-2024", "leader", "区委办", []),
        DemoLogin("auditor", "auditor-demo-2024", "auditor", "审计局", []),
    ]
    if grid is not None:
        logins[1] = DemoLogin(
            "clerk",
            "clerk-demo-2024",
            "clerk",
            office,
            [f"street:{street}", f"grid:{grid}"],
        )
    for login in logins:
        if db.scalar(select(ApiUser.id).where(ApiUser.username == login.username)) is None:
            create_user(
                db,
                login.username,
                role=login.role,
                password=login.password,
                department=login.department,
                scope=login.scope,
            )
    return logins
