"""The sign-in cache: one request refreshes an expired entry while the others keep using it."""

from __future__ import annotations

from citybrain.api.deps import Principal, PrincipalCache
from citybrain.api.security.roles import Role
from citybrain.api.security.scope import Scope


def _principal(name: str) -> Principal:
    return Principal(1, name, Role.ANALYST, None, Scope.for_user(Role.ANALYST, []), "key", "ab")


def test_an_expired_entry_is_refreshed_once_and_served_meanwhile() -> None:
    now = [0.0]
    cache = PrincipalCache(5.0, clock=lambda: now[0])
    assert cache.stale("key:x") is None  # never seen: everyone asks the database
    cache.put("key:x", _principal("old"))
    assert cache.get("key:x") is not None
    now[0] = 6.0
    assert cache.get("key:x") is None
    assert cache.stale("key:x") is None  # the first to notice refreshes
    held = cache.stale("key:x")  # the others keep the old entry meanwhile
    assert held is not None and held.username == "old"
    cache.put("key:x", _principal("new"))
    assert cache.get("key:x").username == "new"  # type: ignore[union-attr]
    now[0] = 12.0
    assert cache.stale("key:x") is None
    cache.drop("key:x")  # the refresh found the key revoked
    assert cache.stale("key:x") is None and cache.get("key:x") is None


def test_a_zero_lifetime_caches_nothing() -> None:
    cache = PrincipalCache(0)
    cache.put("key:x", _principal("a"))
    assert cache.get("key:x") is None and cache.stale("key:x") is None
