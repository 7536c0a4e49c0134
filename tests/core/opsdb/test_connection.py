"""Connecting: SQLite pragmas, driver choice, sessions and UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from citybrain.core.opsdb import PipelineRun, connect, normalise_url, session, upgrade


def test_sqlite_gets_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    ops_engine = connect(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    try:
        with ops_engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        ops_engine.dispose()


def test_bare_postgresql_url_uses_psycopg3() -> None:
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("sqlite:///x.sqlite").drivername == "sqlite"


def test_session_commits_or_rolls_back(ops_db_url: str) -> None:
    upgrade(ops_db_url)
    ops_engine = connect(ops_db_url)
    try:
        with session(ops_engine) as db:
            db.add(PipelineRun(run_id="r1", command="run"))
        with pytest.raises(RuntimeError), session(ops_engine) as db:
            db.add(PipelineRun(run_id="r2", command="run"))
            db.flush()
            raise RuntimeError("boom")
        with session(ops_engine) as db:
            assert db.scalars(select(PipelineRun.run_id)).all() == ["r1"]
    finally:
        ops_engine.dispose()


def test_timestamps_come_back_aware_and_in_utc(ops_db_url: str) -> None:
    upgrade(ops_db_url)
    ops_engine = connect(ops_db_url)
    beijing = timezone(timedelta(hours=8))
    started = datetime(2026, 3, 1, 8, 30, tzinfo=beijing)
    try:
        with session(ops_engine) as db:
            db.add(PipelineRun(run_id="r1", command="run", started_at=started))
        with session(ops_engine) as db:
            run = db.get_one(PipelineRun, "r1")
            assert run.started_at == started
            assert run.started_at.tzinfo is UTC
            assert run.stages == []
    finally:
        ops_engine.dispose()


def test_naive_timestamps_are_refused(ops_db_url: str) -> None:
    upgrade(ops_db_url)
    ops_engine = connect(ops_db_url)
    try:
        with pytest.raises(StatementError, match="naive datetime"), session(ops_engine) as db:
            db.add(PipelineRun(run_id="r1", command="run", started_at=datetime(2026, 1, 1)))
    finally:
        ops_engine.dispose()


def test_status_check_constraint_holds(ops_db_url: str) -> None:
    upgrade(ops_db_url)
    ops_engine = connect(ops_db_url)
    try:
        with pytest.raises(IntegrityError), session(ops_engine) as db:
            db.add(PipelineRun(run_id="r1", command="run", status="exploded"))
        with ops_engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM pipeline_run")).scalar() == 0
    finally:
        ops_engine.dispose()
