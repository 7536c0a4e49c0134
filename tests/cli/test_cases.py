"""``citybrain cases list / show / route`` against a real workspace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cases.conftest import findings
from citybrain.cases import act, open_cases
from citybrain.cases.routing import fill_department
from citybrain.cli.cases import cases_app
from citybrain.cli.state import state
from citybrain.cli.ui import console
from citybrain.core import Workspace
from citybrain.core.opsdb import connect, upgrade
from citybrain.topics import get_topic

RULES = """\
routing:
  default_department: 城市运行管理中心
  rules:
    - name: street-s1
      topics: [group_rental]
      streets: [S1]
      departments: [科技园街道办]
"""


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setattr(console, "width", 240)  # one table row per line, whatever the terminal
    ws = Workspace.init(tmp_path / "ws")
    (ws.root / "cases.yaml").write_text(RULES, encoding="utf-8")
    upgrade(ws.ops_db_url)
    before = state.workspace
    state.workspace = ws.root
    yield ws
    state.workspace = before


def _run(*args: str) -> str:
    result = CliRunner().invoke(cases_app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_list_and_show(workspace: Workspace) -> None:
    ops_engine = connect(workspace.ops_db_url)
    try:
        table = findings([{"subject_id": "D1"}, {"subject_id": "D2", "street_id": "S2"}])
        first, _second = open_cases(ops_engine, table).opened
        act(ops_engine, first, "accept", actor="clerk-wang", comment="收到")
    finally:
        ops_engine.dispose()
    listing = _run("list")
    assert "签收 (accepted)" in listing and "派发 (dispatched)" in listing
    rows = json.loads(_run("list", "--status", "accepted", "--json"))
    assert [r["subject_id"] for r in rows] == ["D1"]
    assert json.loads(_run("list", "--topic", "credit", "--json")) == []
    shown = _run("show", str(first))
    assert "clerk-wang" in shown and "收到" in shown and "月用电900度" in shown
    detail = json.loads(_run("show", str(first), "--json"))
    assert [e["action"] for e in detail["events"]] == ["create", "dispatch", "accept"]


def test_unknown_status_is_a_user_error(workspace: Workspace) -> None:
    result = CliRunner().invoke(cases_app, ["list", "--status", "lost"])
    assert result.exit_code != 0 and "unknown status 'lost'" in str(result.exception)


def test_route_dry_run_writes_nothing(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "findings.parquet"
    pq.write_table(
        findings(
            [
                {"subject_id": "D1"},
                {"subject_id": "D2", "street_id": "S2"},
                {"subject_id": "D3", "score": 0.1, "level": "low"},
            ]
        ),
        path,
    )
    rows = json.loads(_run("route", "--dry-run", str(path), "--json"))
    # Outside every rule, the installed topic's own department hint comes before the default.
    # The hint names the street office; this workspace has no register, so the id stands in.
    hint = get_topic("group_rental").department_hint
    office = fill_department(hint, {"street": "S2"}, {}) if hint else None
    fallback = (office, "hint") if office else ("城市运行管理中心", "default")
    assert [(r["subject_id"], r["department"], r["matched_on"]) for r in rows] == [
        ("D1", "科技园街道办", "street"),
        ("D2", *fallback),
    ]
    assert "street-s1" in _run("route", "--dry-run", str(path))
    assert json.loads(_run("list", "--json")) == []
    assert "2 case(s) opened" in _run("route", str(path))
    assert len(json.loads(_run("list", "--json"))) == 2
