"""Fixtures for ingest tests: a fresh workspace and a way to write a contract next to its data."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from citybrain.core.workspace import Workspace
from citybrain.ingest import SourceContract, load_contract

WATER_MAPPING = """\
mapping:
  columns:
    - {source: 户号, target: account_no}
    - {source: 户主姓名, target: holder_name}
    - {source: 收费日期, target: charge_date, type: date, formats: ['%Y/%m/%d']}
    - {source: 用水量, target: volume_m3, type: float64}
    - {source: 状态, target: status, codes: {'1': active, '0': closed}}
keys: [account_no]
pii: [{column: holder_name, kind: name, sensitivity: high}]
"""
WATER_HEADER = ["户号", "户主姓名", "收费日期", "用水量", "状态"]


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.init(tmp_path / "ws")


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    return folder


MakeContract = Callable[..., SourceContract]


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


def water_rows(n: int, start: int = 1) -> list[list[str]]:
    return [
        [f"A{i:06d}", f"住户{i}", f"2024/{i % 12 + 1:02d}/{i % 28 + 1:02d}", f"{i % 50}.5", str(i % 2)]
        for i in range(start, start + n)
    ]


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8", sep: str = ",",
              header: list[str] | None = WATER_HEADER, title: str | None = None) -> Path:  # fmt: skip
    lines = [title] if title else []
    if header:
        lines.append(sep.join(header))
    lines.extend(sep.join(r) for r in rows)
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path
