"""Fingerprints of what a step reads and writes, so an unchanged step is not run again.

A lake dataset (``zone/name``, or ``zone/*`` for every table of a zone) is fingerprinted by the
files it is made of — each file's path, size and modification time — never by reading its data:
a table is replaced whole when it is written (see `citybrain.core.lake`), so a table that was not
written keeps its fingerprint, and a table that was gets a new one. Listing the files of the city's
lake costs milliseconds per thousand files; reading them would cost a pass over the data.

A dataset outside the lake (``ops/cases``: rows in the ops database; ``source/x``: a department's
delivery) is not fingerprinted here: the runner stands for it with the run in which the step that
writes it last did its work. A step that reads a department's deliveries (ingest) has them
fingerprinted by its stamp when they are files (`citybrain.pipeline.deliveries`), and always runs
when they come from a database, an API or a stream.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from citybrain.core.lake import ZONES, visible_files

if TYPE_CHECKING:
    from citybrain.core.workspace import Workspace

#: datasets under the workspace folder rather than the lake (the daily report's files)
FOLDERS = {"reports": "reports"}


def in_lake(dataset: str) -> bool:
    """Whether ``dataset`` names a lake table or zone (its fingerprint comes from its files)."""
    zone = dataset.split("/", 1)[0]
    return zone in ZONES or zone in FOLDERS


def dataset_fingerprint(lake: Path, root: Path, dataset: str) -> str:
    """Sixteen hex digits that change whenever a file of ``dataset`` is added, removed or
    rewritten; ``absent`` when it has no file (never written, or removed)."""
    zone, _, name = dataset.partition("/")
    if zone in FOLDERS:  # the folder as a whole: its files are named by day, not by dataset
        folder = root / FOLDERS[zone]
    else:
        folder = lake / zone if name in ("", "*") else lake / zone / name
    files = sorted(visible_files(folder))
    if not files:
        return "absent"
    digest = hashlib.sha256()
    for path, size, mtime in files:
        digest.update(f"{path}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()[:16]


def combine(parts: Iterable[tuple[str, str]]) -> str:
    """One fingerprint of named parts (order does not matter)."""
    digest = hashlib.sha256()
    for key, value in sorted(parts):
        digest.update(f"{key}={value}\n".encode())
    return digest.hexdigest()[:16]


def config_fingerprint(workspace: Workspace) -> str:
    """The workspace's configuration as far as it decides outputs (engine, city name, resolve
    settings), and citybrain's version."""
    from citybrain import __version__

    config = workspace.config.model_dump(mode="json", exclude={"logging", "api", "map"})
    return combine([("citybrain", __version__), ("config", repr(sorted(config.items())))])
