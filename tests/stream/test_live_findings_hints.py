"""The first live alert reads only its own topic's department hint (tests
``stream/findings.py``): loading every installed topic (scikit-learn, SciPy) held the first alert
back by seconds."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from sqlalchemy import Engine as OpsEngine

from citybrain.core.workspace import Workspace
from citybrain.stream.findings import LiveFindings
from citybrain.topics.builtin.muck_trucks.topic import DEPARTMENT


def test_hints_of_the_alerts_topics_only(tmp_path: Path) -> None:
    live = LiveFindings(cast(Workspace, tmp_path), cast(OpsEngine, None))
    assert live._hints(["muck_trucks"]) == {"muck_trucks": DEPARTMENT}
    assert live._hints(["muck_trucks"]) == {"muck_trucks": DEPARTMENT}  # read once
    given = LiveFindings(cast(Workspace, tmp_path), cast(OpsEngine, None), hints={"x": "y"})
    assert given._hints(["muck_trucks"]) == {"x": "y"}
