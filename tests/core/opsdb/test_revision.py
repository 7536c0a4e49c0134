"""The documented way to add a migration works: models in, migration file out."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, String, Table, inspect

from citybrain.core.opsdb import Base, connect, current_revision, migrate, upgrade
from citybrain.core.opsdb.__main__ import main


@pytest.fixture
def scratch_migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped migrations: a test may add revisions without touching the package."""
    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)
    return copy


@pytest.fixture
def extra_table() -> Iterator[Table]:
    """A table a later issue might add; removed again so other tests see the real models."""
    table = Table(
        "case_item",
        Base.metadata,
        Column("id", Integer, primary_key=True),
        Column("topic", String(64), nullable=False),
    )
    yield table
    Base.metadata.remove(table)


def test_next_revision_id_follows_the_highest() -> None:
    assert int(migrate.next_revision_id()) == int(migrate.head_revision()) + 1


def test_a_new_model_becomes_a_migration(
    scratch_migrations: Path, extra_table: Table, tmp_path: Path
) -> None:
    path = migrate.make_revision("add case items")
    assert path.parent == scratch_migrations / "versions"
    assert path.name == f"v{migrate.head_revision()}_add_case_items.py"
    assert (
        'op.create_table(\n        "case_item"' in path.read_text()
        or "case_item" in path.read_text()
    )

    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    upgrade(url)
    ops_engine = connect(url)
    try:
        assert "case_item" in inspect(ops_engine).get_table_names()
    finally:
        ops_engine.dispose()


def test_command_line_upgrade_and_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    assert main(["upgrade", url]) == 0
    assert current_revision(url) == migrate.head_revision()
    assert main(["current", url]) == 0
    assert f"database: {migrate.head_revision()}" in capsys.readouterr().out
