"""Telling departments about their cases: one signed webhook per department, retried, logged.

Transitions only queue a delivery (in the same transaction, so a rolled-back action sends
nothing); :func:`deliver_pending` sends the queue outside any transaction, with exponential
backoff, and logs every attempt on the delivery row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select
from sqlalchemy.orm import Session

from citybrain.cases.opsdb_models import Case, DepartmentWebhook, WebhookDelivery
from citybrain.cases.views import case_summary
from citybrain.core.opsdb import session, utcnow

SIGNATURE_HEADER = "X-Citybrain-Signature"
EVENT_HEADER = "X-Citybrain-Event"
DELIVERY_HEADER = "X-Citybrain-Delivery"


def sign(body: bytes, secret: str) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact body bytes with the department's secret."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(body: bytes, secret: str, signature: str) -> bool:
    """What a receiving department runs: a constant-time comparison of the signature."""
    return hmac.compare_digest(sign(body, secret), signature)


def encode_payload(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")


def register_webhook(ops_engine: SqlEngine, department: str, url: str, secret: str) -> None:
    """Set (or replace) the webhook of a department."""
    with session(ops_engine) as db:
        hook = db.scalars(
            select(DepartmentWebhook).where(DepartmentWebhook.department == department)
        ).one_or_none()
        if hook is None:
            db.add(DepartmentWebhook(department=department, url=url, secret=secret))
        else:
            hook.url, hook.secret, hook.active = url, secret, True


def enqueue_notification(
    db: Session, case: Case, event: str, department: str | None, now: datetime
) -> WebhookDelivery | None:
    """Queue a delivery to ``department`` if it has an active webhook."""
    if not department:
        return None
    hook = db.scalars(
        select(DepartmentWebhook).where(
            DepartmentWebhook.department == department, DepartmentWebhook.active.is_(True)
        )
    ).one_or_none()
    if hook is None:
        return None
    delivery = WebhookDelivery(
        department=department,
        case_id=case.id,
        event=event,
        url=hook.url,
        payload={"event": event, "at": now.isoformat(), "case": case_summary(case)},
        status="pending",
        next_attempt_at=now,
        created_at=now,
    )
    db.add(delivery)
    return delivery


@dataclass(frozen=True)
class DeliveryReport:
    delivery_id: int
    department: str
    status: str  # delivered | failed | pending (will be retried later)
    attempts: int


@dataclass(frozen=True)
class _Pending:
    id: int
    department: str
    url: str
    event: str
    payload: dict[str, Any]
    attempts: int
    secret: str


def _due(ops_engine: SqlEngine, now: datetime) -> list[_Pending]:
    with session(ops_engine) as db:
        rows = db.execute(
            select(WebhookDelivery, DepartmentWebhook.secret)
            .join(DepartmentWebhook, DepartmentWebhook.department == WebhookDelivery.department)
            .where(WebhookDelivery.status == "pending")
            .where(
                (WebhookDelivery.next_attempt_at.is_(None))
                | (WebhookDelivery.next_attempt_at <= now)
            )
            .order_by(WebhookDelivery.id)
        ).all()
        return [
            _Pending(d.id, d.department, d.url, d.event, dict(d.payload), d.attempts, secret)
            for d, secret in rows
        ]


def _post(client: httpx.Client, item: _Pending) -> tuple[int | None, str | None, int]:
    body = encode_payload(item.payload)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: sign(body, item.secret),
        EVENT_HEADER: item.event,
        DELIVERY_HEADER: str(item.id),
    }
    started = time.perf_counter()
    try:
        response = client.post(item.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}", int((time.perf_counter() - started) * 1000)
    ms = int((time.perf_counter() - started) * 1000)
    if 200 <= response.status_code < 300:
        return response.status_code, None, ms
    return response.status_code, f"HTTP {response.status_code}", ms


def _record(
    ops_engine: SqlEngine,
    delivery_id: int,
    *,
    now: datetime,
    status_code: int | None,
    error: str | None,
    ms: int,
    status: str,
    next_attempt_at: datetime | None,
) -> int:
    with session(ops_engine) as db:
        delivery = db.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        delivery.attempts += 1
        entry = {"at": now.isoformat(), "status_code": status_code, "error": error, "ms": ms}
        delivery.attempt_log = [*delivery.attempt_log, entry]
        delivery.status = status
        delivery.next_attempt_at = next_attempt_at
        if status == "delivered":
            delivery.delivered_at = now
        return delivery.attempts


def deliver_pending(
    ops_engine: SqlEngine,
    *,
    client: httpx.Client | None = None,
    max_attempts: int = 5,
    backoff_seconds: float = 1.0,
    wait: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = utcnow,
    timeout: float = 10.0,
) -> list[DeliveryReport]:
    """Send every due delivery; retry failures after ``backoff_seconds`` × 2ⁿ.

    With ``wait`` the retries happen now (sleeping in between); without it each delivery gets one
    attempt and the next is scheduled, for a periodic job to pick up.
    """
    own_client = client is None
    http = client or httpx.Client(timeout=timeout)
    reports: list[DeliveryReport] = []
    try:
        for item in _due(ops_engine, clock()):
            attempts = item.attempts
            while True:
                status_code, error, ms = _post(http, item)
                now = clock()
                tried = attempts + 1
                delay = backoff_seconds * 2 ** (tried - 1)
                if error is None:
                    status, next_at = "delivered", None
                elif tried >= max_attempts:
                    status, next_at = "failed", None
                else:
                    status, next_at = "pending", now + timedelta(seconds=delay)
                attempts = _record(
                    ops_engine, item.id, now=now, status_code=status_code, error=error, ms=ms,
                    status=status, next_attempt_at=next_at,
                )  # fmt: skip
                if status != "pending" or not wait:
                    reports.append(DeliveryReport(item.id, item.department, status, attempts))
                    break
                sleep(delay)
    finally:
        if own_client:
            http.close()
    return reports


def list_deliveries(ops_engine: SqlEngine, *, case_id: int | None = None) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if case_id is not None:
        query = query.where(WebhookDelivery.case_id == case_id)
    with session(ops_engine) as db:
        return list(db.scalars(query))
