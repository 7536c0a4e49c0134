"""API keys for system-to-system use: ``cbk_<prefix>_<secret>``, stored as a SHA-256 hash.

The prefix (8 hex digits) is stored in clear so a key can be identified in lists and logs without
revealing it. A key carries 256 bits of randomness, so a fast hash is enough (no argon2
needed: there is nothing to brute-force), and verification costs microseconds per request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_PATTERN = re.compile(r"^cbk_([0-9a-f]{8})_([A-Za-z0-9_\-]{43})$")


@dataclass(frozen=True)
class NewKey:
    key: str  # shown once, never stored
    prefix: str
    key_hash: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> NewKey:
    prefix = secrets.token_hex(4)
    key = f"cbk_{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(key=key, prefix=prefix, key_hash=hash_key(key))


def key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, or None for anything else (so it is never looked up)."""
    match = KEY_PATTERN.match(key)
    return match.group(1) if match else None


def key_matches(key: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), key_hash)
