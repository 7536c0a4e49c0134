"""Access tokens (short-lived JWTs, HS256) and refresh tokens (opaque, rotated, revocable).

The signing key comes from the environment variable named by ``ApiSettings.signing_key_env``; when
it is unset a random key is generated once per workspace into
``<workspace>/.secrets/api_signing.key`` with mode 0600 (that folder also holds a
``.gitignore`` of ``*``). It is never written to ``citybrain.toml`` and never lies inside a zone.

Expiry is checked against the caller's clock (``now``), not the wall clock inside PyJWT, so tests
can freeze time and a server can be handed one clock for everything.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from citybrain.api.opsdb_models import RefreshToken

ALGORITHM = "HS256"
SECRETS_DIR = ".secrets"
KEY_FILE = "api_signing.key"
MIN_KEY_BYTES = 32


class TokenError(Exception):
    """A token that is malformed, forged, expired or revoked; the message says which."""


def load_signing_key(workspace_root: Path, env_var: str) -> bytes:
    """The JWT signing key: from ``env_var`` if set, else the workspace's generated key file."""
    from_env = os.environ.get(env_var)
    if from_env:
        if len(from_env.encode()) < MIN_KEY_BYTES:
            raise ValueError(f"{env_var} must hold at least {MIN_KEY_BYTES} bytes")
        return from_env.encode()
    folder = workspace_root / SECRETS_DIR
    path = folder / KEY_FILE
    if not path.exists():
        folder.mkdir(mode=0o700, exist_ok=True)
        (folder / ".gitignore").write_text("*\n", encoding="utf-8")
        # O_EXCL: two processes starting at once cannot both write a key; the loser reads it.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip().encode()


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    issued_at: datetime
    expires_at: datetime
    token_id: str


def issue_access_token(key: bytes, user_id: int, now: datetime, lifetime: timedelta) -> str:
    claims = {
        "sub": str(user_id),
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def decode_access_token(key: bytes, token: str, now: datetime) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "require": ["sub", "exp", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise TokenError(f"invalid token: {exc}") from None
    if claims.get("typ") != "access":
        raise TokenError("not an access token")
    try:
        user_id = int(claims["sub"])
        exp = int(claims["exp"])
        iat = int(claims["iat"])
    except (TypeError, ValueError):
        raise TokenError("invalid token claims") from None
    if exp <= now.timestamp():
        raise TokenError("token expired")
    tz = now.tzinfo
    return AccessClaims(
        user_id=user_id,
        issued_at=datetime.fromtimestamp(iat, tz),
        expires_at=datetime.fromtimestamp(exp, tz),
        token_id=str(claims.get("jti", "")),
    )


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_refresh_token(
    db: Session, user_id: int, now: datetime, lifetime: timedelta, family: str | None = None
) -> str:
    """A new refresh token ``<id>.<secret>``; only the secret's hash is stored."""
    token_id = uuid.uuid4().hex
    secret = secrets.token_urlsafe(32)
    db.add(
        RefreshToken(
            id=token_id,
            family=family or token_id,
            user_id=user_id,
            token_hash=_hash(secret),
            issued_at=now,
            expires_at=now + lifetime,
        )
    )
    return f"{token_id}.{secret}"


def _find(db: Session, token: str) -> RefreshToken:
    token_id, _, secret = token.partition(".")
    if len(token_id) != 32 or not secret or len(token) > 200:
        raise TokenError("malformed refresh token")
    row = db.get(RefreshToken, token_id)
    if row is None or not hmac.compare_digest(row.token_hash, _hash(secret)):
        raise TokenError("unknown refresh token")
    return row


def revoke_family(db: Session, family: str, now: datetime) -> None:
    db.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def rotate_refresh_token(
    db: Session, token: str, now: datetime, lifetime: timedelta
) -> tuple[int, str]:
    """Use a refresh token once: returns (user id, the next token of its family).

    A token presented a second time means two parties hold it; the whole family is revoked, so
    the thief and the owner both have to sign in again.
    """
    row = _find(db, token)
    if row.revoked_at is not None:
        raise TokenError("refresh token revoked")
    if row.used_at is not None:
        revoke_family(db, row.family, now)
        raise TokenError("refresh token reused; all tokens of this sign-in are revoked")
    if row.expires_at <= now:
        raise TokenError("refresh token expired")
    row.used_at = now
    return row.user_id, issue_refresh_token(db, row.user_id, now, lifetime, family=row.family)


def revoke_refresh_token(db: Session, token: str, now: datetime) -> int:
    """Log out: revoke the token's whole family; returns the user id."""
    row = _find(db, token)
    revoke_family(db, row.family, now)
    return row.user_id


def revoke_all_for_user(db: Session, user_id: int, now: datetime) -> None:
    families = db.scalars(select(RefreshToken.family).where(RefreshToken.user_id == user_id))
    for family in set(families):
        revoke_family(db, family, now)
