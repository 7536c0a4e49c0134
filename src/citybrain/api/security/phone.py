"""Residents sign in on the portal with their phone: a one-time code, then a resident session.

A code is six digits, valid ``CODE_MINUTES``, good for ``MAX_ATTEMPTS`` guesses and used once.
The codes table (``phone_code``) keeps neither the phone nor the code: both are HMACs under the
service's signing key. The offline outbox below does keep each message's text, code included,
until someone deletes it, and a resident account keeps its phone as its department. A phone
gets a new code at most once every ``RESEND_SECONDS`` and ``MAX_PER_HOUR`` times an hour.

The code is "sent" by a ``CodeSender``. The default, ``OutboxSender``, sends nothing over any
network: it writes the text into the ``sms_outbox`` table (and the log, without the code), where
a clerk or a test reads it; a city plugs its SMS gateway in as ``app.state.code_sender``.

A verified phone signs in as its resident account (role ``resident``, created at the first
sign-in, named by the phone's HMAC; its department is the phone number, as a firm account's is
its USCC). The account holds ``portal.resident`` only: the reports made with that phone.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citybrain.api.opsdb_models import ApiUser, PhoneCode, SmsOutbox
from citybrain.api.security.masking import PiiKind, mask_value
from citybrain.api.security.roles import Role
from citybrain.core.opsdb import session

log = logging.getLogger(__name__)

CODE_MINUTES = 5
MAX_ATTEMPTS = 5
RESEND_SECONDS = 60
MAX_PER_HOUR = 5
#: a mainland mobile number, with or without +86 / 86 / 0086 (spaces and dashes taken off first)
PHONE_PATTERN = r"^(?:\+?86|0086)?1[3-9][0-9]{9}$"
PHONE = re.compile(PHONE_PATTERN)


class PhoneRefused(Exception):
    """A request the phone sign-in refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def normalise(phone: str) -> str:
    """The 11-digit mobile number of ``phone`` (spaces, dashes and the +86 prefix taken off);
    PhoneRefused (422) when it is not a mainland mobile number."""
    digits = re.sub(r"[\s\-]", "", phone)
    if not PHONE.match(digits):
        raise PhoneRefused("not a mainland mobile number (请输入11位手机号)", 422)
    return digits[-11:]


def masked(phone: str) -> str:
    """``138****5678``: what a page shows of a phone number (the API's one phone mask)."""
    return mask_value(phone, PiiKind.PHONE) or ""


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def phone_hash(key: bytes, phone: str) -> str:
    return _mac(key, f"resident-phone:{phone}")


def _code_hash(key: bytes, phone: str, code: str) -> str:
    return _mac(key, f"resident-code:{phone}:{code}")


class CodeSender(Protocol):
    """Delivers a sign-in code's text to a phone (an SMS gateway, or the offline outbox)."""

    def send(self, phone: str, text: str, now: datetime) -> None: ...


@dataclass(frozen=True)
class OutboxSender:
    """The offline sender: the message goes into ``sms_outbox``, nothing leaves the machine."""

    ops_engine: SqlEngine

    def send(self, phone: str, text: str, now: datetime) -> None:
        with session(self.ops_engine) as db:
            db.add(SmsOutbox(phone=phone, body=text, created_at=now))
        log.info("sign-in code for %s written to the SMS outbox (no gateway configured)",
                 masked(phone))  # fmt: skip


def outbox(ops_engine: SqlEngine, phone: str) -> list[str]:
    """The texts the offline sender wrote for ``phone``, newest first."""
    with session(ops_engine) as db:
        rows = db.scalars(
            select(SmsOutbox.body)
            .where(SmsOutbox.phone == phone)
            .order_by(SmsOutbox.id.desc())
            .limit(20)
        )
        return list(rows)


def code_text(code: str) -> str:
    return (
        f"【城市大脑】您的登录验证码为 {code}，{CODE_MINUTES} 分钟内有效，请勿告诉他人。"
        f" Your sign-in code is {code}; valid {CODE_MINUTES} minutes. Do not share it."
    )


def request_code(
    ops_engine: SqlEngine, key: bytes, phone: str, sender: CodeSender, now: datetime
) -> int:
    """Issue and send a new code for ``phone`` (normalised); returns its lifetime in seconds.
    PhoneRefused (429, with the seconds to wait) when the phone asked too recently or too often.
    """
    digest = phone_hash(key, phone)
    with session(ops_engine) as db:
        recent = db.execute(
            select(func.count(), func.max(PhoneCode.created_at)).where(
                PhoneCode.phone_hash == digest, PhoneCode.created_at > now - timedelta(hours=1)
            )
        ).one()
        count, last = int(recent[0]), recent[1]
        if last is not None and (wait := RESEND_SECONDS - (now - last).total_seconds()) > 0:
            raise PhoneRefused("a code was sent just now; wait before asking again (请稍后再试)",
                               429, retry_after=int(wait) + 1)  # fmt: skip
        if count >= MAX_PER_HOUR:
            raise PhoneRefused("too many codes for this phone; try again in an hour (请稍后再试)",
                               429, retry_after=3600)  # fmt: skip
        code = f"{secrets.randbelow(1_000_000):06d}"
        db.add(PhoneCode(phone_hash=digest, code_hash=_code_hash(key, phone, code),
                         created_at=now, expires_at=now + timedelta(minutes=CODE_MINUTES),
                         attempts=0))  # fmt: skip
    sender.send(phone, code_text(code), now)
    return CODE_MINUTES * 60


def verify_code(ops_engine: SqlEngine, key: bytes, phone: str, code: str, now: datetime) -> int:
    """Check ``code`` against the phone's latest live code; the resident account's user id
    (created at the first sign-in). PhoneRefused (401) for a wrong, used or expired code; each
    wrong guess counts, and after ``MAX_ATTEMPTS`` the code is dead."""
    digest = phone_hash(key, phone)
    with session(ops_engine) as db:
        live = db.scalars(
            select(PhoneCode)
            .where(
                PhoneCode.phone_hash == digest,
                PhoneCode.used_at.is_(None),
                PhoneCode.expires_at > now,
            )
            .order_by(PhoneCode.created_at.desc(), PhoneCode.id.desc())
            .limit(1)
        ).one_or_none()
        if live is None or live.attempts >= MAX_ATTEMPTS:
            refused = "no valid code for this phone; ask for a new one (验证码已失效，请重新获取)"
        elif not hmac.compare_digest(live.code_hash, _code_hash(key, phone, code.strip())):
            live.attempts += 1
            refused = "wrong code (验证码错误)"
        else:
            live.used_at = now
            return _resident(db, key, phone).id
    raise PhoneRefused(refused, 401)


def _resident(db: Session, key: bytes, phone: str) -> ApiUser:
    username = f"resident-{phone_hash(key, phone)[:24]}"
    user = db.scalar(select(ApiUser).where(ApiUser.username == username))
    if user is None:
        user = ApiUser(username=username, display_name=masked(phone), password_hash=None,
                       role=Role.RESIDENT.value, department=phone, scope=[])  # fmt: skip
        db.add(user)
        db.flush()
    return user


__all__ = [
    "CodeSender",
    "OutboxSender",
    "PhoneRefused",
    "code_text",
    "masked",
    "normalise",
    "outbox",
    "request_code",
    "verify_code",
]
