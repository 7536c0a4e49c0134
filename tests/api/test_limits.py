"""Hostile input: 413 for big bodies, 429 per caller, 422 that says what is wrong, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.conftest import Harness, make_harness
from citybrain.api.security.limits import TokenBucketLimiter


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Harness]:
    for harness in make_harness(tmp_path, rate_limit_enabled=True, max_body_bytes=2048):
        # A stopped clock: no tokens come back during the test, however slow the machine is.
        harness.security.limiter = TokenBucketLimiter(1.0, 3, clock=lambda: 0.0)
        yield harness


def test_a_body_over_the_limit_gets_413(limited: Harness) -> None:
    response = limited.client.post(
        "/api/v1/auth/refresh",
        content=b'{"refresh_token": "' + b"a" * 4000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "2048 bytes" in response.json()["detail"]


def test_a_streamed_body_over_the_limit_gets_413(limited: Harness) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    response = limited.client.post(
        "/api/v1/auth/token",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


def test_rate_limit_per_user_with_retry_after(limited: Harness) -> None:
    alice = limited.as_role("leader")
    bob = limited.as_role("leader")
    codes = [limited.client.get("/api/v1/auth/me", headers=alice).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = limited.client.get("/api/v1/auth/me", headers=alice)
    assert refused.headers["Retry-After"] == "1"
    assert "too many requests" in refused.json()["detail"]
    assert limited.client.get("/api/v1/auth/me", headers=bob).status_code == 200  # own bucket


def test_rate_limit_per_address_on_public_routes(limited: Harness) -> None:
    codes = [
        limited.client.post(
            "/api/v1/auth/token", data={"username": "x", "password": "y"}
        ).status_code
        for _ in range(4)
    ]
    assert codes[-1] == 429


def test_validation_errors_name_the_field(api: Harness) -> None:
    auditor = api.as_role("auditor")
    response = api.client.get("/api/v1/audit", params={"page_size": 501}, headers=auditor)
    assert response.status_code == 422
    body = response.json()
    assert body["message"].startswith("query.page_size: ")
    assert "500" in body["message"]
    assert body["detail"][0]["loc"] == ["query", "page_size"]


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"sort": "password_hash"}, "query.sort"),
        ({"sort": "seq;DROP TABLE audit_log"}, "query.sort"),
        ({"page": 0}, "query.page"),
        ({"page": "1e9"}, "query.page"),
        ({"actor": "../../etc/passwd"}, "query.actor"),
        ({"actor": "x' OR '1'='1"}, "query.actor"),
        ({"actor": "a\x00b"}, "query.actor"),
        ({"action": "a" * 500}, "query.action"),
        ({"subject": '"] OR 1=1 --'}, "query.subject"),
        ({"since": "yesterday"}, "query.since"),
    ],
)
def test_hostile_query_values_are_refused(
    api: Harness, params: dict[str, object], where: str
) -> None:
    response = api.client.get("/api/v1/audit", params=params, headers=api.as_role("auditor"))
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith(where)


def test_sorting_by_allowed_columns_works(api: Harness) -> None:
    auditor = api.as_role("auditor")
    for sort in ("seq", "-at", "actor,-seq"):
        response = api.client.get("/api/v1/audit", params={"sort": sort}, headers=auditor)
        assert response.status_code == 200, sort


def test_filter_values_in_other_scripts_are_accepted(api: Harness) -> None:
    response = api.client.get(
        "/api/v1/audit", params={"actor": "王 小明-01"}, headers=api.as_role("auditor")
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "url", "kwargs"),
    [
        ("POST", "/api/v1/auth/token", {"content": b"\xff\xfe\x00garbage"}),
        ("POST", "/api/v1/auth/refresh", {"content": b"{not json"}),
        ("POST", "/api/v1/auth/refresh", {"json": {"refresh_token": ["a", "b"]}}),
        ("POST", "/api/v1/auth/refresh", {"json": [1, 2, 3]}),
        ("POST", "/api/v1/unmask-grants", {"json": {"purpose": "x" * 20, "minutes": 10**30}}),
        ("POST", "/api/v1/users", {"json": {"username": "../x", "role": "clerk"}}),
        ("POST", "/api/v1/users", {"json": {"username": "ok", "role": "emperor"}}),
        ("POST", "/api/v1/users", {"json": {"username": "ok", "role": "clerk", "scope": ["x"]}}),
        ("POST", "/api/v1/users/..%2F..%2Fetc/disable", {}),
        ("GET", "/api/v1/audit?since=9999-99-99", {}),
        ("GET", "/api/v1/audit?page_size=" + "9" * 400, {}),
    ],
)
def test_garbage_never_gets_a_500(
    api: Harness, method: str, url: str, kwargs: dict[str, object]
) -> None:
    admin = api.as_role("admin")
    headers = admin | {"Content-Type": "application/json"} if "content" in kwargs else admin
    response = api.client.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]
    assert 400 <= response.status_code < 500, response.text


def test_token_bucket_refills_over_time() -> None:
    now = [0.0]
    limiter = TokenBucketLimiter(2.0, 2, clock=lambda: now[0])
    assert [limiter.hit("k") for _ in range(3)] == [0.0, 0.0, 0.5]
    now[0] = 0.5
    assert limiter.hit("k") == 0.0
