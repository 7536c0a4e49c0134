"""Lake layout, zones and atomic writes, independent of any engine.

A table is a folder ``<lake>/<zone>/<name>/`` of Parquet parts, possibly hive-partitioned, plus a
``_citybrain.json`` sidecar with the column types (engines skip files starting with ``_``).

A write goes to a hidden sibling ``.<name>.<pid>-<hex>.tmp`` first. Once the data is complete a
``.commit`` marker is written, then the folder is renamed into place (replace) or its parts are
renamed in (append). Every step of applying a commit is idempotent, so a writer killed at any point
leaves either nothing visible or a commit that the next write of that table finishes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from citybrain.core.errors import UserError

ZONES = ("raw", "quarantine", "std", "base", "topic")
"""The lake's zones, in the order data flows through them."""
SIDECAR = "_citybrain.json"
WriteMode = Literal["replace", "append"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_PENDING = re.compile(
    r"^\.(?P<name>[a-z0-9_]+)\.(?P<pid>\d+)-(?P<hex>[0-9a-f]+)\.(tmp|commit|old)$"
)
# Writes in flight in this process; recovery must not touch them (another thread may own one).
_active: set[str] = set()
_active_lock = threading.Lock()


def check_zone(zone: str) -> None:
    if zone not in ZONES:
        raise UserError(f"unknown lake zone {zone!r}", hint=f"zones are {', '.join(ZONES)}")


def check_location(zone: str, name: str) -> None:
    check_zone(zone)
    if not _NAME.match(name):
        raise UserError(
            f"bad table name {name!r} in zone {zone}",
            hint="use lower-case letters, digits and '_', not starting with '_'",
        )


@dataclass(frozen=True)
class PendingWrite:
    """One write in progress: where its data goes before it becomes visible."""

    table_dir: Path
    token: str

    def _sibling(self, suffix: str) -> Path:
        return self.table_dir.with_name(f".{self.table_dir.name}.{self.token}.{suffix}")

    @property
    def tmp(self) -> Path:
        return self._sibling("tmp")

    @property
    def marker(self) -> Path:
        return self._sibling("commit")

    @property
    def old(self) -> Path:
        return self._sibling("old")


def begin_write(table_dir: Path) -> PendingWrite:
    """Finish or clean up leftovers of earlier killed writes, then reserve a temp location."""
    recover(table_dir)
    table_dir.parent.mkdir(parents=True, exist_ok=True)
    pending = PendingWrite(table_dir, f"{os.getpid()}-{uuid.uuid4().hex[:12]}")
    with _active_lock:
        _active.add(pending.token)
    return pending


def commit(pending: PendingWrite, mode: WriteMode) -> None:
    """Make a fully written temp folder visible, atomically for readers of the table."""
    tmp_marker = pending.marker.with_suffix(".partial")
    tmp_marker.write_text(json.dumps({"mode": mode}), encoding="utf-8")
    tmp_marker.replace(pending.marker)  # the marker itself appears whole or not at all
    try:
        _apply(pending, mode)
    except BaseException:
        # Committed data must not be thrown away: leave it for the next reader or writer to finish.
        with _active_lock:
            _active.discard(pending.token)
        raise
    _finish(pending)


def abort(pending: PendingWrite) -> None:
    shutil.rmtree(pending.tmp, ignore_errors=True)
    _finish(pending)


def _finish(pending: PendingWrite) -> None:
    pending.marker.unlink(missing_ok=True)
    shutil.rmtree(pending.old, ignore_errors=True)
    with _active_lock:
        _active.discard(pending.token)


def _apply(pending: PendingWrite, mode: WriteMode) -> None:
    if not pending.tmp.exists():
        return  # already applied before a crash
    target = pending.table_dir
    if mode == "replace" or not target.exists():
        if target.exists():
            target.rename(pending.old)
        pending.tmp.rename(target)
        return
    _move_into(pending.tmp, target)
    shutil.rmtree(pending.tmp)


def _move_into(source: Path, target: Path) -> None:
    # A new partition folder is renamed whole; parts joining an existing folder have unique names.
    for entry in sorted(source.iterdir()):
        dest = target / entry.name
        if entry.is_dir() and dest.is_dir():
            _move_into(entry, dest)
        else:
            entry.replace(dest)


def recover(table_dir: Path) -> None:
    """Roll forward committed leftovers and delete uncommitted ones of dead writers."""
    if not table_dir.parent.is_dir():
        return
    tokens: set[str] = set()
    for entry in table_dir.parent.iterdir():
        match = _PENDING.match(entry.name)
        if match and match["name"] == table_dir.name:
            tokens.add(f"{match['pid']}-{match['hex']}")
    for token in sorted(tokens):
        if token in _active or _alive(int(token.split("-")[0])):
            continue
        pending = PendingWrite(table_dir, token)
        if pending.marker.exists():
            mode = json.loads(pending.marker.read_text(encoding="utf-8"))["mode"]
            _apply(pending, mode)
        shutil.rmtree(pending.tmp, ignore_errors=True)
        _finish(pending)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # not in _active, so a killed write of an earlier engine in this process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_tables(zone_dir: Path) -> list[str]:
    if not zone_dir.is_dir():
        return []
    return sorted(p.name for p in zone_dir.iterdir() if p.is_dir() and _NAME.match(p.name))


def visible_files(folder: Path) -> Iterator[tuple[str, int, int]]:
    """Every visible file under ``folder``: path relative to it, size, mtime (ns), from the file
    system alone. Hidden ones (a write in progress, ``.name.pid-hex.tmp``) are not part of any
    table yet; a folder that does not exist has none."""
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                stat = entry.stat(follow_symlinks=False)
                yield os.path.relpath(entry.path, folder), stat.st_size, stat.st_mtime_ns


def parquet_parts(table_dir: Path) -> dict[str, tuple[int, int]]:
    """A table's Parquet parts: path relative to ``table_dir`` → (size, mtime in ns)."""
    return {
        path: (size, mtime)
        for path, size, mtime in visible_files(table_dir)
        if path.endswith(".parquet")
    }


def appended_parts(
    before: Mapping[str, tuple[int, int]], now: Mapping[str, tuple[int, int]]
) -> list[str] | None:
    """The parts ``now`` has beyond ``before`` (sorted), when every part of ``before`` is still
    there unchanged and parts were added: rows were appended, since a part is written once under
    a new name and a rewrite replaces every part. ``None`` otherwise."""
    if len(now) <= len(before) or any(now.get(path) != part for path, part in before.items()):
        return None
    return sorted(set(now) - set(before))


def has_parquet(table_dir: Path) -> bool:
    return next(table_dir.rglob("*.parquet"), None) is not None


def write_sidecar(table_dir: Path, columns: dict[str, str], partition_by: list[str]) -> None:
    text = json.dumps({"columns": columns, "partition_by": partition_by}, ensure_ascii=False)
    (table_dir / SIDECAR).write_text(text, encoding="utf-8")


def read_sidecar(table_dir: Path) -> tuple[dict[str, str], list[str]] | None:
    path = table_dir / SIDECAR
    if not path.is_file():
        return None  # a table put in the lake by hand: trust the Parquet types
    data = json.loads(path.read_text(encoding="utf-8"))
    return dict(data["columns"]), list(data["partition_by"])
