"""The web app's assets; the API serves them.

``frontend/`` (a Vite app) builds into ``dist/`` here; ``scripts/install-npm-deps.sh`` runs the
build. Without a build, a small static placeholder page is served instead.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
DIST = HERE / "dist"
PLACEHOLDER = HERE / "static"


def static_dir(dist: Path = DIST) -> Path:
    """Folder holding the web app (index.html at its root): the build in ``dist``, else the
    placeholder."""
    if (dist / "index.html").is_file():
        return dist
    return PLACEHOLDER
