"""The SQL connector against SQLite and the real PostgreSQL: full, incremental, query, errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from citybrain.core.workspace import Workspace
from citybrain.ingest import Manifest, RawZone, SourceContract
from citybrain.ingest.streams import load_sql
from ingest._helpers import MakeContract

START = datetime(2024, 3, 1, 8, 0, 0)
READINGS = sa.Table(
    "meter_readings",
    sa.MetaData(),
    sa.Column("reading_id", sa.Integer, primary_key=True),
    sa.Column("account_no", sa.String(20)),
    sa.Column("volume_m3", sa.Numeric(10, 2)),
    sa.Column("updated_at", sa.DateTime),
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'billing.sqlite'}"
    url: sa.URL = request.getfixturevalue("fresh_postgres_url")
    return url.render_as_string(hide_password=False)


def add_rows(url: str, start: int, n: int) -> None:
    source_engine = sa.create_engine(url)
    with source_engine.begin() as connection:
        READINGS.create(connection, checkfirst=True)
        connection.execute(
            READINGS.insert(),
            [
                {
                    "reading_id": i,
                    "account_no": f"A{i:06d}",
                    "volume_m3": i % 50 + 0.25,
                    "updated_at": START + timedelta(minutes=i),
                }
                for i in range(start, start + n)
            ],
        )
    source_engine.dispose()


def landed(manifest: Manifest) -> list[int]:
    assert manifest.raw_path is not None
    return sorted(pq.read_table(manifest.raw_path).column("reading_id").to_pylist())


SqlContract = Callable[..., SourceContract]


@pytest.fixture
def sql_contract(make_contract: MakeContract, db_url: str) -> SqlContract:
    def make(*, what: str = "table: meter_readings", extra: str = "") -> SourceContract:
        return make_contract(
            f"kind: sql\nurl: '{db_url}'\n{what}\nbatch_rows: 7",
            system="meter_db",
            mapping="",
            extra=extra,
        )

    return make


INCREMENTAL = "refresh: {mode: incremental, watermark: updated_at}\n"


def test_full_load_streams_typed_batches(
    workspace: Workspace, db_url: str, sql_contract: SqlContract
) -> None:
    add_rows(db_url, 1, 30)
    manifest = load_sql(workspace.lake, sql_contract())
    assert manifest.status == "completed", manifest.message
    assert (manifest.rows_read, manifest.rows_landed, manifest.rows_quarantined) == (30, 30, 0)
    assert manifest.chunks == 5  # 30 rows in batches of 7
    assert landed(manifest) == list(range(1, 31))
    table = pq.read_table(manifest.raw_path or "")
    assert str(table.schema.field("reading_id").type) == "int64"
    assert str(table.schema.field("updated_at").type).startswith("timestamp")
    assert "meter_readings" in manifest.source_file


def test_incremental_lands_only_new_rows(
    workspace: Workspace, db_url: str, sql_contract: SqlContract
) -> None:
    contract = sql_contract(extra=INCREMENTAL)
    add_rows(db_url, 1, 20)
    first = load_sql(workspace.lake, contract)
    assert first.status == "completed", first.message
    assert landed(first) == list(range(1, 21))
    assert first.watermark == str(START + timedelta(minutes=20))

    add_rows(db_url, 21, 9)
    second = load_sql(workspace.lake, contract)
    assert second.status == "completed", second.message
    assert landed(second) == list(range(21, 30))

    again = load_sql(workspace.lake, contract)
    assert again.status == "skipped" and again.load_id == second.load_id
    assert len(RawZone(workspace.lake, "meter_db").partitions()) == 2


def test_query_with_incremental_watermark(
    workspace: Workspace, db_url: str, sql_contract: SqlContract
) -> None:
    add_rows(db_url, 1, 12)
    contract = sql_contract(
        what="query: SELECT reading_id, updated_at FROM meter_readings WHERE reading_id % 2 = 0",
        extra=INCREMENTAL,
    )
    first = load_sql(workspace.lake, contract)
    assert first.status == "completed", first.message
    assert landed(first) == [2, 4, 6, 8, 10, 12]
    add_rows(db_url, 13, 4)
    second = load_sql(workspace.lake, contract)
    assert landed(second) == [14, 16]


def test_password_comes_from_the_environment(
    workspace: Workspace, make_contract: MakeContract, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract = make_contract(
        "kind: sql\nurl: 'sqlite:///x.sqlite'\ntable: t\npassword_env: METER_DB_PASSWORD",
        system="meter_db",
        mapping="",
    )
    monkeypatch.delenv("METER_DB_PASSWORD", raising=False)
    manifest = load_sql(workspace.lake, contract)
    assert manifest.status == "failed"
    assert manifest.message is not None and "METER_DB_PASSWORD is not set" in manifest.message


@pytest.mark.postgres
def test_postgres_password_env_is_used(
    workspace: Workspace,
    make_contract: MakeContract,
    fresh_postgres_url: sa.URL,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = fresh_postgres_url.render_as_string(hide_password=False)
    add_rows(url, 1, 3)
    monkeypatch.setenv("METER_DB_PASSWORD", "s3cret")  # the test server trusts loopback
    contract = make_contract(
        f"kind: sql\nurl: '{url}'\ntable: meter_readings\npassword_env: METER_DB_PASSWORD",
        system="meter_db",
        mapping="",
    )
    manifest = load_sql(workspace.lake, contract)
    assert manifest.status == "completed", manifest.message
    assert "s3cret" not in manifest.source_file and "s3cret" not in contract.model_dump_json()


def test_unknown_table_fails_naming_the_source(
    workspace: Workspace, db_url: str, sql_contract: SqlContract
) -> None:
    add_rows(db_url, 1, 3)
    manifest = load_sql(workspace.lake, sql_contract(what="table: no_such_table"))
    assert manifest.status == "failed"
    assert manifest.message is not None
    assert manifest.message.startswith("source meter_db: cannot read ")
    assert "no_such_table" in manifest.message
    assert RawZone(workspace.lake, "meter_db").partitions() == []


@pytest.mark.parametrize(
    "url",
    ["not a url", "nosuchdialect://host/db", "postgresql+psycopg://nobody@127.0.0.1:1/none"],
)
def test_bad_url_fails_naming_the_source(
    workspace: Workspace, make_contract: MakeContract, url: str
) -> None:
    contract = make_contract(f"kind: sql\nurl: '{url}'\ntable: t", system="meter_db", mapping="")
    manifest = load_sql(workspace.lake, contract)
    assert manifest.status == "failed"
    assert manifest.message is not None and manifest.message.startswith("source meter_db: ")
    assert "\n" not in manifest.message


def test_ingest_runs_sql_sources_and_catalogues_them(
    workspace: Workspace, db_url: str, sql_contract: SqlContract
) -> None:
    from citybrain.ingest import ingest_sources, recorder_for

    contract = sql_contract(extra=INCREMENTAL)
    add_rows(db_url, 1, 10)
    recorder = recorder_for(workspace)
    first = ingest_sources(workspace, [contract], recorder=recorder)
    assert first.ok, first.rows()
    assert (first.results[0].loads, first.results[0].rows_landed) == (1, 10)
    again = ingest_sources(workspace, [contract], recorder=recorder)  # nothing new
    assert again.ok, again.rows()
    assert (again.results[0].loads, again.results[0].skipped) == (0, 1)


def test_an_unchanged_full_snapshot_is_not_landed_again(
    workspace: Workspace, db_url: str, sql_contract: SqlContract
) -> None:
    contract = sql_contract(what="query: SELECT * FROM meter_readings ORDER BY reading_id")
    add_rows(db_url, 1, 10)
    first = load_sql(workspace.lake, contract)
    again = load_sql(workspace.lake, contract)
    assert again.status == "skipped" and again.load_id == first.load_id
    add_rows(db_url, 11, 1)
    changed = load_sql(workspace.lake, contract)
    assert changed.status == "completed" and landed(changed) == list(range(1, 12))
