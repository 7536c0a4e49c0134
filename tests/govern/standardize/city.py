"""A tiny synthetic city, generated and ingested into a fresh workspace (tests only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from citybrain.core.workspace import Workspace
from citybrain.ingest import discover_sources, ingest_sources, recorder_for
from citybrain.ingest.simsources import write_sim_sources


def ingested_city(root: Path, seed: int = 7) -> tuple[Workspace, Path]:
    """A tiny city in ``root/sim`` and a workspace with every source that loads loaded."""
    generate = pytest.importorskip("citybrain.sim.generate").generate
    sim = root / "sim"
    generate("tiny", seed, sim)
    workspace = Workspace.init(root / "ws")
    write_sim_sources(workspace.root / "sources", sim)
    ingest_sources(workspace, discover_sources(workspace), recorder=recorder_for(workspace))
    return workspace, sim
