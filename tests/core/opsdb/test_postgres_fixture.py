"""The tests' PostgreSQL is real, on loopback, and the installed version (fixtures/postgres.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import URL, create_engine, text

from fixtures import postgres


@pytest.mark.postgres
def test_server_is_real_and_on_loopback_only(postgres_url: URL) -> None:
    bin_dir = postgres.find_pg_bin()
    assert bin_dir is not None
    ops_engine = create_engine(postgres_url)
    try:
        with ops_engine.connect() as connection:
            version = connection.execute(text("SHOW server_version_num")).scalar_one()
            listen = connection.execute(text("SHOW listen_addresses")).scalar_one()
    finally:
        ops_engine.dispose()
    assert int(version) // 10000 == int(bin_dir.parent.name)
    assert listen == "127.0.0.1"


def test_missing_binaries_are_reported_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "PG_ROOT", tmp_path)
    assert postgres.find_pg_bin() is None
    assert "run `make test`" in postgres.MISSING
    assert "\n" not in postgres.MISSING
