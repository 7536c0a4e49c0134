"""Migrations build the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from citybrain.core.opsdb import connect, current_revision, downgrade, head_revision, upgrade
from citybrain.core.opsdb.migrate import alembic_config
from citybrain.core.opsdb.registry import load_models

CORE_TABLES = {
    "catalog_dataset",
    "catalog_dataset_stats",
    "catalog_lineage",
    "load_run",
    "pipeline_run",
}


def test_upgrade_from_empty_creates_the_tables(ops_db_url: str) -> None:
    assert current_revision(ops_db_url) is None
    upgrade(ops_db_url)
    assert current_revision(ops_db_url) == head_revision()
    ops_engine = connect(ops_db_url)
    try:
        assert set(inspect(ops_engine).get_table_names()) >= CORE_TABLES
    finally:
        ops_engine.dispose()


def test_upgrade_twice_is_a_no_op(ops_db_url: str) -> None:
    ops_engine = connect(ops_db_url)
    try:
        upgrade(ops_engine)
        upgrade(ops_engine)
        assert current_revision(ops_engine) == head_revision()
    finally:
        ops_engine.dispose()


def test_an_ops_database_at_the_newest_revision_is_left_without_loading_the_models(
    ops_db_url: str,
) -> None:
    """Every `citybrain run` begins with the migrate step: at head it must cost next to nothing
    (Alembic's env imports every model, the web app's among them: seconds of a nightly run)."""
    upgrade(ops_db_url)
    probe = (
        "import sys\n"
        "from citybrain.core.opsdb import upgrade\n"
        f"upgrade({ops_db_url!r})\n"
        "print('citybrain.api.app' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False"], done.stderr


def test_models_and_migrations_agree(ops_db_url: str) -> None:
    ops_engine = connect(ops_db_url)
    try:
        upgrade(ops_engine)
        with ops_engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, load_models())
        assert diff == [], f"models and migrations differ; add a migration: {diff}"
    finally:
        ops_engine.dispose()


def test_downgrade_to_base_and_up_again(ops_db_url: str) -> None:
    ops_engine = connect(ops_db_url)
    try:
        upgrade(ops_engine)
        downgrade(ops_engine, "base")
        assert not CORE_TABLES & set(inspect(ops_engine).get_table_names())
        upgrade(ops_engine)
        assert current_revision(ops_engine) == head_revision()
    finally:
        ops_engine.dispose()


def test_history_is_one_line() -> None:
    # Two branches that each added a migration leave two heads:
    # renumber one (see migrations/README.md).
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    revisions = [r.revision for r in script.walk_revisions()]
    assert len(revisions) == len(set(revisions))


def test_the_role_check_admits_system_accounts_and_nothing_unknown(ops_db_url: str) -> None:
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    now = datetime.now(UTC)
    ops_engine = connect(ops_db_url)
    insert = text(
        "INSERT INTO api_user (username, display_name, role, scope, disabled, failed_logins,"
        " created_at, updated_at) VALUES (:name, '', :role, '[]', false, 0, :now, :now)"
    )
    try:
        upgrade(ops_engine)
        with ops_engine.begin() as connection:
            connection.execute(insert, {"name": "water-system", "role": "system", "now": now})
        with pytest.raises(IntegrityError), ops_engine.begin() as connection:
            connection.execute(insert, {"name": "root", "role": "superuser", "now": now})
    finally:
        ops_engine.dispose()
