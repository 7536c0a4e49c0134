"""Group commit of audit rows: many callers, one chain, durable before the caller goes on."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.conftest import Harness, make_harness
from citybrain.api.opsdb_models import AuditLog
from citybrain.api.security import audit
from citybrain.api.security.audit import AuditEntry, AuditUnavailable, AuditWriter
from citybrain.core.opsdb import connect, session


def _entry(i: int) -> AuditEntry:
    return AuditEntry(
        actor=f"robot-{i % 3}", role="analyst", action="credit.read",
        endpoint=f"GET /api/v1/enterprises/E{i}/credit-report", subjects=[f"E{i}"],
        purpose="核实信用", detail={"via": "key", "n": i},
    )  # fmt: skip


def test_rows_from_many_threads_form_one_verified_chain(api_any_db: Harness) -> None:
    engine = api_any_db.security.ops_engine
    writer = AuditWriter(engine, flush_ms=5)
    seqs: list[int] = []
    lock = threading.Lock()

    def work(start: int) -> None:
        for i in range(start, start + 25):
            seq = writer.write(_entry(i))
            with session(engine) as db:  # committed by the time write() returns
                assert db.get(AuditLog, seq) is not None
            with lock:
                seqs.append(seq)

    threads = [threading.Thread(target=work, args=(k * 100,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    assert sorted(seqs) == list(range(1, 201))
    result = audit.verify_audit(engine)
    assert result.passed and result.rows_checked == 200


def test_group_commit_interleaves_with_direct_appends(api: Harness) -> None:
    engine = api.security.ops_engine
    writer = AuditWriter(engine, flush_ms=1)
    futures = [writer.submit(_entry(i)) for i in range(50)]
    with session(engine) as db:
        audit.append(db, actor="admin", role="admin", action="users.write", endpoint="POST /x")
    assert sorted(f.result(10) for f in futures) != []
    writer.close()
    with session(engine) as db:
        assert db.scalar(select(func.count()).select_from(AuditLog)) == 51
    assert audit.verify_audit(engine).passed


def test_a_failed_commit_fails_every_waiting_caller(api: Harness) -> None:
    # A database without the audit table (never migrated) refuses every insert.
    broken = connect("sqlite:///" + str(api.workspace.root / "empty.sqlite"))
    writer = AuditWriter(broken, flush_ms=1)
    with pytest.raises(AuditUnavailable, match="cannot be written"):
        writer.write(_entry(1))
    writer.close()
    with pytest.raises(AuditUnavailable, match="shut down"):
        writer.write(_entry(2))
    broken.dispose()


def test_an_audited_request_is_refused_when_the_audit_log_cannot_be_written(
    api: Harness,
) -> None:
    headers = api.as_role("analyst")
    api.security.audit.close()  # the writer is gone: audited routes must not answer
    response = api.client.get(
        "/api/v1/enterprises/91510100MA61234567/credit-report", headers=headers
    )
    assert response.status_code == 503
    assert "audit" in response.json()["detail"]
    assert api.client.get("/api/v1/catalog/datasets", headers=headers).status_code == 200


def test_a_read_answers_before_its_audit_row_commits_and_the_row_follows(
    tmp_path: Path,
) -> None:
    for harness in make_harness(tmp_path, audit_wait_reads=False, audit_flush_ms=50):
        headers = harness.as_role("analyst")
        url = "/api/v1/enterprises/91510100MA61234567/credit-report"
        assert harness.client.get(url, headers=headers).status_code == 404  # no data: still read
        engine = harness.security.ops_engine
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with session(engine) as db:
                rows = db.scalars(select(AuditLog).where(AuditLog.action == "credit.read")).all()
            if rows:
                break
            time.sleep(0.01)
        assert [r.endpoint for r in rows] == [f"GET {url}"]
        # A failing audit log refuses reads too, though they do not wait for their row.
        harness.security.audit.close()
        assert harness.client.get(url, headers=headers).status_code == 503


def test_the_writer_outlives_a_restart_of_the_app(api: Harness) -> None:
    from fastapi.testclient import TestClient

    headers = api.as_role("analyst")
    url = "/api/v1/enterprises/91510100MA61234567/credit-report"
    for _ in range(2):  # each block runs the app's start-up and shut-down once more
        with TestClient(api.app) as client:
            assert client.get(url, headers=headers).status_code == 404
    assert audit.verify_audit(api.security.ops_engine).rows_checked >= 2
