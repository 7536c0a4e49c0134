"""The web app's assets; the API serves them."""

from __future__ import annotations

from pathlib import Path


def static_dir() -> Path:
    """Folder holding the built web app (index.html at its root)."""
    return Path(__file__).parent / "static"
