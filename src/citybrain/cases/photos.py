"""Photos from the site (现场照片), stored by content: the file's SHA-256 is its name.

The same photo uploaded twice is stored once. Only JPEG, PNG and WebP are taken, recognised by
their first bytes (not by the name or the declared type), and at most ``MAX_BYTES``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from citybrain.core.errors import UserError

MAX_BYTES = 10 * 1024 * 1024
FOLDER = Path("files") / "case-photos"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# media type → file suffix
_KINDS: dict[str, str] = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


class PhotoRefused(UserError):
    """A file that is not a photo we take, or too large."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message, hint="send a JPEG, PNG or WebP photo of at most 10 MB")
        self.status = status


@dataclass(frozen=True)
class StoredPhoto:
    sha256: str
    media_type: str
    size: int
    path: Path


def sniff(data: bytes) -> str | None:
    """The media type of a JPEG, PNG or WebP by its first bytes; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def store_photo(root: Path, data: bytes, name: str = "photo") -> StoredPhoto:
    """Check and store one photo under ``root`` (the workspace); the same bytes land once."""
    if len(data) > MAX_BYTES:
        raise PhotoRefused(f"{name}: {len(data)} bytes is over the {MAX_BYTES} byte limit", 413)
    if not data:
        raise PhotoRefused(f"{name}: the file is empty", 422)
    media_type = sniff(data)
    if media_type is None:
        raise PhotoRefused(f"{name}: not a JPEG, PNG or WebP image", 415)
    sha = hashlib.sha256(data).hexdigest()
    path = root / FOLDER / sha[:2] / f"{sha}{_KINDS[media_type]}"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a reader never sees half a photo.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        Path(tmp).replace(path)
    return StoredPhoto(sha, media_type, len(data), path)


def find_photo(root: Path, sha: str) -> StoredPhoto | None:
    """The stored photo with this SHA-256, or None."""
    if not SHA256.match(sha):
        return None
    for media_type, suffix in _KINDS.items():
        path = root / FOLDER / sha[:2] / f"{sha}{suffix}"
        if path.is_file():
            return StoredPhoto(sha, media_type, path.stat().st_size, path)
    return None
