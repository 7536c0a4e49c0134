"""The small connection file of a system served over HTTP, MQTT or a database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from citybrain.sim.formats.batches import aside

ConnectionKind = Literal["http", "mqtt", "sqlite"]

CONNECTION_FILE = "connection.json"


def write_connection_file(system_dir: Path, kind: ConnectionKind, **options: Any) -> Path:
    """Write `<system_dir>/connection.json` describing a system that is not delivered as files.

    Conventions shared with `sim.serve` and `sim.mqtt`: kind "http" systems keep their rows in
    `<system_dir>/data/*.parquet` (served by `citybrain sim serve`); kind "mqtt" likewise (published
    by `sim.mqtt.replay`); kind "sqlite" names its database with a path relative to `system_dir`.
    Keys are sorted so the file is byte-stable.
    """
    path = system_dir / CONNECTION_FILE
    body = json.dumps({"kind": kind, **options}, ensure_ascii=False, sort_keys=True, indent=2)
    with aside(path) as tmp:
        tmp.write_text(body + "\n", encoding="utf-8")
    return path


def read_connection_file(system_dir: Path) -> dict[str, Any] | None:
    """The parsed `connection.json` of a system folder, or None when it has none."""
    path = system_dir / CONNECTION_FILE
    if not path.is_file():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
