"""Signed department webhooks, retried with backoff against a real local receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import Engine as SqlEngine

from citybrain.cases.desk import act, escalate_overdue
from citybrain.cases.opening import open_cases
from citybrain.cases.routing import RoutingRules
from citybrain.cases.settings import CaseSettings
from citybrain.cases.webhooks import (
    SIGNATURE_HEADER,
    deliver_pending,
    list_deliveries,
    register_webhook,
    sign,
    verify,
)

from .conftest import FrozenClock, findings

SECRET = "s3cret-街道"
SETTINGS = CaseSettings(routing=RoutingRules(default_department="街道办", supervisor="督办中心"))


@dataclass
class Receiver:
    """An HTTP endpoint on 127.0.0.1 that fails its first ``failures`` calls with a 503."""

    failures: int = 0
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.calls.append((dict(self.headers.items()), body))
            ok = len(state.calls) > state.failures
            self.send_response(200 if ok else 503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


def test_signature_round_trip() -> None:
    body = b'{"a": 1}'
    assert sign(body, "k").startswith("sha256=") and verify(body, "k", sign(body, "k"))
    assert not verify(body + b" ", "k", sign(body, "k"))


def test_dispatch_is_delivered_after_retries(
    ops_engine: SqlEngine, receiver: Receiver, clock: FrozenClock
) -> None:
    register_webhook(ops_engine, "街道办", receiver.url, SECRET)
    receiver.failures = 2
    table = findings([{"subject_id": "D1"}])
    case_id = open_cases(ops_engine, table, settings=SETTINGS, clock=clock).opened[0]
    waits: list[float] = []
    reports = deliver_pending(ops_engine, backoff_seconds=0.5, sleep=waits.append, clock=clock)
    assert [(r.status, r.attempts) for r in reports] == [("delivered", 3)]
    assert waits == [0.5, 1.0]  # exponential backoff between the attempts
    assert len(receiver.calls) == 3
    headers, body = receiver.calls[-1]
    assert verify(body, SECRET, headers[SIGNATURE_HEADER])
    payload = json.loads(body)
    assert payload["event"] == "case.dispatched" and payload["case"]["id"] == case_id
    assert payload["case"]["status"] == "dispatched" and payload["case"]["status_zh"] == "派发"
    (delivery,) = list_deliveries(ops_engine, case_id=case_id)
    assert delivery.status == "delivered" and delivery.attempts == 3
    assert [a["status_code"] for a in delivery.attempt_log] == [503, 503, 200]
    assert deliver_pending(ops_engine, sleep=waits.append) == []  # nothing left to send


def test_giving_up_after_max_attempts_is_logged(ops_engine: SqlEngine, receiver: Receiver) -> None:
    register_webhook(ops_engine, "街道办", receiver.url, SECRET)
    receiver.failures = 99
    open_cases(ops_engine, findings([{"subject_id": "D1"}]), settings=SETTINGS)
    reports = deliver_pending(ops_engine, max_attempts=3, backoff_seconds=0, sleep=lambda s: None)
    assert [(r.status, r.attempts) for r in reports] == [("failed", 3)]
    (delivery,) = list_deliveries(ops_engine)
    assert (
        delivery.status == "failed"
        and [a["error"] for a in delivery.attempt_log] == ["HTTP 503"] * 3
    )


def test_without_waiting_the_retry_is_scheduled(
    ops_engine: SqlEngine, receiver: Receiver, clock: FrozenClock
) -> None:
    register_webhook(ops_engine, "街道办", receiver.url, SECRET)
    receiver.failures = 1
    open_cases(ops_engine, findings([{"subject_id": "D1"}]), settings=SETTINGS, clock=clock)
    first = deliver_pending(ops_engine, wait=False, backoff_seconds=60, clock=clock)
    assert [(r.status, r.attempts) for r in first] == [("pending", 1)]
    assert deliver_pending(ops_engine, wait=False, clock=clock) == []  # not due yet
    clock.advance(seconds=61)
    assert [r.status for r in deliver_pending(ops_engine, wait=False, clock=clock)] == ["delivered"]


def test_an_unreachable_receiver_is_an_attempt_not_a_crash(ops_engine: SqlEngine) -> None:
    register_webhook(ops_engine, "街道办", "http://127.0.0.1:9/nothing-listens", SECRET)
    open_cases(ops_engine, findings([{"subject_id": "D1"}]), settings=SETTINGS)
    reports = deliver_pending(ops_engine, max_attempts=2, backoff_seconds=0, sleep=lambda s: None)
    assert [(r.status, r.attempts) for r in reports] == [("failed", 2)]
    assert "ConnectError" in (list_deliveries(ops_engine)[0].attempt_log[0]["error"] or "")


def test_escalation_notifies_the_supervisor(
    ops_engine: SqlEngine, receiver: Receiver, clock: FrozenClock
) -> None:
    register_webhook(ops_engine, "督办中心", receiver.url, SECRET)
    case_id = open_cases(
        ops_engine, findings([{"subject_id": "D1"}]), settings=SETTINGS, clock=clock
    ).opened[0]
    act(ops_engine, case_id, "accept", actor="clerk", clock=clock)
    clock.advance(days=7)
    assert escalate_overdue(ops_engine, settings=SETTINGS, clock=clock) == [case_id]
    assert [r.status for r in deliver_pending(ops_engine, clock=clock)] == ["delivered"]
    assert json.loads(receiver.calls[0][1])["event"] == "case.escalated"
