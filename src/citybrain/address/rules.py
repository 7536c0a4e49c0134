"""A fingerprint of the address rules, so that cached matches are redone when the rules change.

The pipeline caches each distinct string's match per version of the address base; a new parser or
matcher (a fixed typo rule, a new way of writing a floor) must also count as a new version, or a
city would keep last month's answers. The fingerprint is the hash of this package's source.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def rules_version() -> str:
    """Sixteen hex digits that change whenever any module of `citybrain.address` changes."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
