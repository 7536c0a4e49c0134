"""Process-wide CLI options set by the top-level callback and read by commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class CliState:
    debug: bool = False
    log_json: bool = False
    workspace: Path = Path()


state = CliState()
