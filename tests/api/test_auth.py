"""Sign-in, token expiry on a frozen clock, refresh rotation and reuse, logout, lockout, keys."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from api.conftest import Harness, make_harness
from citybrain.api.security import accounts, tokens
from citybrain.core.opsdb import session

PASSWORD = "correct-horse-battery"


def _login(api: Harness, username: str, password: str = PASSWORD) -> dict[str, object]:
    response = api.client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_password_sign_in_and_me(api: Harness) -> None:
    api.user(
        "clerk", password=PASSWORD, username="wang", scope=["street:S01"], department="石羊街道办"
    )
    pair = _login(api, "wang")
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 15 * 60
    me = api.client.get("/api/v1/auth/me", headers=_bearer(pair["access_token"])).json()
    assert me["username"] == "wang"
    assert me["role"] == "clerk"
    assert me["scope"] == ["street:S01"]
    assert me["citywide"] is False
    assert "cases.write" in me["permissions"]
    assert "audit.read" not in me["permissions"]


def test_wrong_password_and_unknown_user_look_the_same(api: Harness) -> None:
    api.user("analyst", password=PASSWORD, username="li")
    wrong = api.client.post("/api/v1/auth/token", data={"username": "li", "password": "nope-nope"})
    unknown = api.client.post(
        "/api/v1/auth/token", data={"username": "nobody", "password": "nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_access_token_expires_on_the_frozen_clock(api: Harness) -> None:
    api.user("leader", password=PASSWORD, username="boss")
    access = _login(api, "boss")["access_token"]
    api.clock.advance(minutes=14, seconds=59)
    assert api.client.get("/api/v1/auth/me", headers=_bearer(access)).status_code == 200
    api.clock.advance(seconds=1)
    expired = api.client.get("/api/v1/auth/me", headers=_bearer(access))
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]
    assert expired.headers["WWW-Authenticate"] == "Bearer"


def test_refresh_rotates_and_a_reused_token_revokes_the_family(api: Harness) -> None:
    api.user("analyst", password=PASSWORD, username="zhao")
    first = _login(api, "zhao")
    api.clock.advance(minutes=20)  # the access token has expired; the refresh token has not
    second = api.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    new = second.json()
    assert new["refresh_token"] != first["refresh_token"]
    assert (
        api.client.get("/api/v1/auth/me", headers=_bearer(new["access_token"])).status_code == 200
    )

    # The old refresh token was used once; presenting it again means it leaked.
    reuse = api.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert "reused" in reuse.json()["detail"]
    # …and the token rotated from it is revoked too.
    after = api.client.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert after.status_code == 401


def test_refresh_token_expires(api: Harness) -> None:
    api.user("analyst", password=PASSWORD, username="qian")
    refresh = _login(api, "qian")["refresh_token"]
    api.clock.advance(days=7, seconds=1)
    response = api.client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_logout_revokes_the_refresh_token(api: Harness) -> None:
    api.user("analyst", password=PASSWORD, username="sun")
    refresh = _login(api, "sun")["refresh_token"]
    assert (
        api.client.post("/api/v1/auth/logout", json={"refresh_token": refresh}).status_code == 204
    )
    response = api.client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


@pytest.mark.parametrize(
    "bad", ["", "x", "a" * 32 + ".", "a" * 32 + ".secret", "../../etc/passwd", "' OR 1=1 --"]
)
def test_malformed_refresh_tokens_are_refused_cleanly(api: Harness, bad: str) -> None:
    response = api.client.post("/api/v1/auth/refresh", json={"refresh_token": bad})
    assert response.status_code in (401, 422)


def test_lockout_after_repeated_failures_then_release(api: Harness) -> None:
    api.user("clerk", password=PASSWORD, username="zhou", scope=["street:S01"])
    for _ in range(5):
        bad = api.client.post(
            "/api/v1/auth/token", data={"username": "zhou", "password": "wrong-1"}
        )
        assert bad.status_code == 401
    locked = api.client.post("/api/v1/auth/token", data={"username": "zhou", "password": PASSWORD})
    assert locked.status_code == 423
    assert "locked" in locked.json()["detail"]
    api.clock.advance(minutes=15, seconds=1)
    _login(api, "zhou")


def test_a_success_resets_the_failure_count(api: Harness) -> None:
    api.user("clerk", password=PASSWORD, username="wu", scope=["street:S01"])
    for _ in range(4):
        api.client.post("/api/v1/auth/token", data={"username": "wu", "password": "wrong-1"})
    _login(api, "wu")
    for _ in range(4):
        api.client.post("/api/v1/auth/token", data={"username": "wu", "password": "wrong-1"})
    _login(api, "wu")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-jwt",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",  # alg=none
        "Bearer " + "a" * 5000,
        "Basic dXNlcjpwYXNz",
    ],
)
def test_forged_or_malformed_tokens_get_401(api: Harness, header: str) -> None:
    response = api.client.get("/api/v1/auth/me", headers={"Authorization": header})
    assert response.status_code == 401


def test_a_token_signed_with_another_key_is_refused(api: Harness) -> None:
    name = api.user("admin")
    with session(api.security.ops_engine) as db:
        user_id = accounts.get_user(db, name).id
    from datetime import timedelta

    forged = tokens.issue_access_token(b"x" * 32, user_id, api.clock(), timedelta(minutes=5))
    assert api.client.get("/api/v1/auth/me", headers=_bearer(forged)).status_code == 401


def test_api_key_authenticates_and_shows_only_its_prefix(api: Harness) -> None:
    api.user("analyst", username="etl-robot")
    admin = api.as_role("admin")
    created = api.client.post(
        "/api/v1/users/etl-robot/keys", json={"label": "nightly sync"}, headers=admin
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith(f"cbk_{created.json()['prefix']}_")
    me = api.client.get("/api/v1/auth/me", headers={"X-API-Key": key}).json()
    assert me["username"] == "etl-robot"
    assert me["via"] == "key"
    from citybrain.api.opsdb_models import ApiKey

    with session(api.security.ops_engine) as db:
        stored = db.query(ApiKey).one()
        assert key not in (stored.key_hash, stored.prefix)  # only the hash and prefix are kept

    assert api.client.get("/api/v1/auth/me", headers={"X-API-Key": key + "x"}).status_code == 401
    api.client.post("/api/v1/users/etl-robot/disable", headers=admin)
    assert api.client.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 401


def test_a_disabled_user_is_refused_at_once(api: Harness) -> None:
    api.user("leader", password=PASSWORD, username="gone")
    access = _login(api, "gone")["access_token"]
    api.client.post("/api/v1/users/gone/disable", headers=api.as_role("admin"))
    assert api.client.get("/api/v1/auth/me", headers=_bearer(access)).status_code == 401
    refused = api.client.post("/api/v1/auth/token", data={"username": "gone", "password": PASSWORD})
    assert refused.status_code == 401


def test_signing_key_is_generated_once_with_mode_0600_outside_the_zones(api: Harness) -> None:
    path = api.workspace.root / tokens.SECRETS_DIR / tokens.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (path.parent / ".gitignore").read_text() == "*\n"
    assert tokens.load_signing_key(api.workspace.root, "UNSET_VAR_X") == api.security.signing_key
    assert path.read_text() not in (api.workspace.root / "citybrain.toml").read_text()


def test_signing_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "k" * 40)
    assert tokens.load_signing_key(tmp_path, "MY_KEY") == b"k" * 40
    assert not (tmp_path / tokens.SECRETS_DIR).exists()
    monkeypatch.setenv("MY_KEY", "short")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        tokens.load_signing_key(tmp_path, "MY_KEY")
    assert os.environ["MY_KEY"] == "short"


def test_sign_ins_are_cached_briefly_and_disabling_clears_them(tmp_path: Path) -> None:
    for api in make_harness(tmp_path, auth_cache_seconds=60):
        name = api.user("analyst")
        key = api.client.post(
            f"/api/v1/users/{name}/keys", json={}, headers=api.as_role("admin")
        ).json()["key"]
        assert api.client.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 200
        # Disabled behind the API's back (another process): the cache still answers…
        from citybrain.api.opsdb_models import ApiUser

        with session(api.security.ops_engine) as db:
            db.query(ApiUser).filter_by(username=name).update({"disabled": True})
        assert api.client.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 200
        # …until it expires or the API disables someone, which clears it.
        api.client.post(f"/api/v1/users/{name}/disable", headers=api.as_role("admin"))
        assert api.client.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 401


def test_sign_ins_failures_and_lockouts_are_audited(api: Harness) -> None:
    api.user("clerk", password=PASSWORD, username="feng", scope=["street:S01"])
    _login(api, "feng")
    for _ in range(6):
        api.client.post("/api/v1/auth/token", data={"username": "feng", "password": "wrong-1"})
    rows = api.client.get(
        "/api/v1/audit", params={"actor": "feng", "sort": "seq"}, headers=api.as_role("auditor")
    ).json()["items"]
    assert [r["action"] for r in rows] == ["auth.login"] + ["auth.login_failed"] * 5 + [
        "auth.locked"
    ]
