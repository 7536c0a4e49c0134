"""The audit log: rows for personal-data reads and writes, the hash chain, tamper detection,
the PostgreSQL trigger, the auditor's endpoint and the CLI."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from api.conftest import Harness
from citybrain.api.security import audit
from citybrain.cli.audit import audit_app
from citybrain.cli.state import state
from citybrain.core.opsdb import session


def _append(engine: Engine, n: int, actor: str = "wang") -> None:
    for i in range(n):
        with session(engine) as db:
            audit.append(
                db,
                actor=actor,
                role="clerk",
                action="entities.read",
                endpoint=f"GET /api/v1/persons/P{i}",
                subjects=[f"P{i}"],
                purpose="核实线索",
                detail={"via": "token", "n": i},
            )


def test_an_untouched_chain_verifies(api_any_db: Harness) -> None:
    engine = api_any_db.security.ops_engine
    assert audit.verify_audit(engine).passed  # empty
    _append(engine, 5)
    result = audit.verify_audit(engine)
    assert result.passed
    assert result.rows_checked == 5


def test_changing_one_row_is_detected_and_named(api_any_db: Harness) -> None:
    engine = api_any_db.security.ops_engine
    _append(engine, 5)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Only the table owner can lift the trigger; an attacker who can is still caught.
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        connection.execute(text("UPDATE audit_log SET purpose = 'nothing to see' WHERE seq = 3"))
    result = audit.verify_audit(engine)
    assert not result.passed
    assert result.first_broken_seq == 3
    assert "row 3" in result.message


def test_deleting_a_row_is_detected(api_any_db: Harness) -> None:
    engine = api_any_db.security.ops_engine
    _append(engine, 4)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        connection.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    result = audit.verify_audit(engine)
    assert (result.passed, result.first_broken_seq) == (False, 2)


def test_rewriting_a_row_with_a_fresh_hash_breaks_the_next_link(api: Harness) -> None:
    engine = api.security.ops_engine
    _append(engine, 3)
    with session(engine) as db:
        row = db.get(audit.AuditLog, 2)
        assert row is not None
        row.actor = "someone-else"
        row.row_hash = audit.row_hash_of(row)  # a careful forger recomputes this row's hash…
    result = audit.verify_audit(engine)
    assert result.first_broken_seq == 3  # …but row 3 still points at the old one


@pytest.mark.postgres
def test_postgres_trigger_refuses_update_delete_truncate(api_any_db: Harness) -> None:
    engine = api_any_db.security.ops_engine
    if engine.dialect.name != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    _append(engine, 2)
    for statement in (
        "UPDATE audit_log SET actor = 'x' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 1",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert audit.verify_audit(engine).rows_checked == 2


def test_concurrent_appends_keep_one_chain(api_any_db: Harness) -> None:
    engine = api_any_db.security.ops_engine
    threads = [threading.Thread(target=_append, args=(engine, 10, f"user{t}")) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = audit.verify_audit(engine)
    assert result.passed, result.message
    assert result.rows_checked == 40


def test_writes_and_personal_reads_are_audited_with_purpose(api: Harness) -> None:
    admin = api.as_role("admin")
    api.client.post(
        "/api/v1/users",
        json={"username": "new-clerk", "role": "clerk", "scope": ["street:S01"]},
        headers=admin | {"X-Purpose": quote("onboarding 石羊街道")},
    )
    api.client.get("/api/v1/users", headers=admin)  # not personal data: no row
    rows = api.client.get("/api/v1/audit", headers=api.as_role("auditor")).json()["items"]
    assert [(r["action"], r["endpoint"], r["purpose"]) for r in rows] == [
        ("audit.read", "GET /api/v1/audit", None),
        ("users.write", "POST /api/v1/users", "onboarding 石羊街道"),
    ]
    assert rows[1]["actor"].startswith("admin")


def test_auditor_reads_filters_and_verifies(api: Harness) -> None:
    _append(api.security.ops_engine, 3, actor="wang")
    _append(api.security.ops_engine, 2, actor="li")
    auditor = api.as_role("auditor")
    page = api.client.get(
        "/api/v1/audit", params={"actor": "li", "sort": "seq", "page_size": 1}, headers=auditor
    ).json()
    assert page["total"] == 2
    assert [r["subjects"] for r in page["items"]] == [["P0"]]
    by_subject = api.client.get("/api/v1/audit", params={"subject": "P2"}, headers=auditor).json()
    assert [r["actor"] for r in by_subject["items"]] == ["wang"]
    verified = api.client.get("/api/v1/audit/verify", headers=auditor).json()
    assert verified["passed"] is True
    assert api.client.get("/api/v1/audit", headers=api.as_role("admin")).status_code == 403


@pytest.mark.parametrize("value", ["0.0", "1700000000", "-1", "2e9"])
def test_a_time_filter_is_iso_8601_not_a_bare_number(api: Harness, value: str) -> None:
    """Pydantic alone would read a number as Unix seconds, which the schema does not promise."""
    auditor = api.as_role("auditor")
    answer = api.client.get("/api/v1/audit", params={"until": value}, headers=auditor)
    assert answer.status_code == 422 and "ISO 8601" in answer.text
    ok = api.client.get(
        "/api/v1/audit", params={"until": "2026-03-01T08:00:00+08:00"}, headers=auditor
    )
    assert ok.status_code == 200


def test_cli_verify_and_tail(api: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state, "workspace", Path(api.workspace.root))
    _append(api.security.ops_engine, 3)
    runner = CliRunner()
    ok = runner.invoke(audit_app, ["verify"])
    assert ok.exit_code == 0, ok.output
    assert "3 rows" in ok.output
    tail = runner.invoke(audit_app, ["tail", "-n", "2", "--json"])
    assert tail.exit_code == 0
    assert [line.count('"seq"') for line in tail.output.strip().splitlines()] == [1, 1]

    with api.security.ops_engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET subjects = '[\"P9\"]' WHERE seq = 2"))
    broken = runner.invoke(audit_app, ["verify"])
    assert broken.exit_code == 1
    assert "row 2" in broken.output
