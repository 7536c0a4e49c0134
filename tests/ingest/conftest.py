"""Fixtures for ingest tests: a fresh workspace and a way to write a contract next to its data."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from citybrain.core.workspace import Workspace
from citybrain.ingest import SourceContract, load_contract
from ingest._helpers import WATER_MAPPING, MakeContract


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.init(tmp_path / "ws")


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    return folder


@pytest.fixture
def make_contract(source_dir: Path) -> MakeContract:
    """Write ``<id>.yaml`` in the source folder and load it; ``connector`` is YAML for the key."""

    def make(
        connector: str,
        *,
        system: str = "water_billing",
        mapping: str = WATER_MAPPING,
        extra: str = "",
    ) -> SourceContract:
        text = (
            f"id: {system}\nname: 自来水营业收费系统\nowner: 市水务集团\n"
            f"connector:\n{textwrap.indent(textwrap.dedent(connector).strip(), '  ')}\n"
            f"{mapping}{textwrap.dedent(extra)}"
        )
        path = source_dir / f"{system}.yaml"
        path.write_text(text, encoding="utf-8")
        return load_contract(path)

    return make
