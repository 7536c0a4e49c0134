"""A tiny city standardised: counts reconcile, planted dirt is flagged, addresses match truth."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from citybrain.core.catalog import Catalog
from citybrain.core.workspace import Workspace
from citybrain.govern.standardize import (
    StandardizeResult,
    match_rates,
    standardize_workspace,
    workspace_sources,
)
from citybrain.ingest import RawZone
from govern.standardize.std_truth import dirt_keys, dwelling_score, total

pytestmark = pytest.mark.duckdb
City = tuple[Workspace, Path, StandardizeResult]


def _flags(workspace: Workspace, table: str, key: str, keys: list[str]) -> dict[str, list[str]]:
    path = workspace.lake / "std" / table / "*.parquet"
    rows = duckdb.sql(f"SELECT {key}, quality_flags FROM read_parquet('{path}')").fetchall()
    wanted = set(keys)
    found: dict[str, list[str]] = {}
    for key_, flags in rows:
        if key_ in wanted:
            found.setdefault(key_, []).extend(flags)  # a duplicated key: both rows' flags
    return found


def test_every_landed_system_has_std_rows_that_reconcile(std_city: City) -> None:
    workspace, _, result = std_city
    landed = {s.system for sources in workspace_sources(workspace).values() for s in sources}
    standardised = {s.system for t in result.tables for s in t.sources}
    assert landed == standardised and len(landed) >= 20
    assert result.reconciled, result.rows()
    for table in result.tables:
        for source in table.sources:
            landed_rows = sum(
                m.rows_landed for m in RawZone(workspace.lake, source.system).manifests()
            )
            assert source.raw_rows == landed_rows == source.std_rows + source.superseded


def test_planted_dirt_is_flagged(std_city: City) -> None:
    workspace, sim, _ = std_city
    truth = sim / "truth"
    wrong = dirt_keys(truth, "police_household", "wrong_check_digit")
    flags = _flags(workspace, "person_registration", "record_id", wrong)
    assert wrong and all("id_number:bad_check_digit" in flags[k] for k in wrong)
    dups = dirt_keys(truth, "parcel_express", "duplicate_row")
    flags = _flags(workspace, "delivery", "stat_id", dups)
    assert dups and all("record_key:duplicate" in flags[k] for k in dups)
    typos = dirt_keys(truth, "parcel_express", "phone_typo")
    phones = dict(
        duckdb.sql(
            f"SELECT stat_id, recipient_phone FROM "
            f"read_parquet('{workspace.lake}/std/delivery/*.parquet')"
        ).fetchall()
    )
    flags = _flags(workspace, "delivery", "stat_id", typos)
    # A typo that keeps eleven digits is still a well-formed number; the others must be flagged.
    for key in typos:
        if len(phones[key]) != 11:
            assert "recipient_phone:bad_phone" in flags[key]


def test_clean_rows_carry_no_flags(std_city: City) -> None:
    workspace, _, _ = std_city
    path = workspace.lake / "std" / "person_registration" / "*.parquet"
    flagged, rows = duckdb.sql(
        "SELECT count(*) FILTER (WHERE len(quality_flags) > 0), count(*) "
        f"FROM read_parquet('{path}')"
    ).fetchall()[0]
    assert rows > 0 and flagged / rows < 0.05


def test_addresses_match_the_true_dwellings(std_city: City) -> None:
    workspace, sim, _ = std_city
    contracts = {s.system: s.contract for v in workspace_sources(workspace).values() for s in v}
    with workspace.engine() as engine:
        score = total(dwelling_score(engine, sim / "truth", contracts))
        report = match_rates(engine)
    assert score.rows > 1000
    assert score.correct_rate >= 0.995, score
    assert score.wrong_rate < 0.001, score
    assert any(r.system == "water_utility" and r.match_rate > 0.99 for r in report.rates)
    unmatched = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{workspace.lake}/std/delivery/*.parquet') "
        "WHERE address_id IS NULL AND address IS NOT NULL "
        "AND NOT list_has_any(quality_flags, ['address:unmatched:unknown_estate', "
        "'address:unmatched:unknown_road_number', 'address:unmatched:no_place', "
        "'address:unmatched:conflict', 'address:unmatched:ambiguous', "
        "'address:unmatched:other_district', 'address:unmatched:low_confidence', "
        "'address:unmatched:other'])"
    ).fetchall()
    assert unmatched == [(0,)]


def test_catalog_has_std_tables_with_lineage_from_raw(std_city: City) -> None:
    workspace, _, _ = std_city
    catalog = Catalog.open(workspace.ops_db_url)
    try:
        graph = catalog.lineage(("std", "utility_reading"), depth=1)
        upstream = {(n.key.zone, n.key.name) for n in graph.nodes}
        assert ("raw", "water_utility") in upstream and ("raw", "power_grid") in upstream
        assert catalog.get_dataset(("std", "utility_reading")).name == "utility_reading"
    finally:
        catalog.close()


def test_a_second_run_matches_no_address_twice(std_city: City) -> None:
    workspace, _, first = std_city
    from citybrain.govern.standardize.addresses import CACHE

    cache = workspace.lake / "std" / CACHE / "*.parquet"
    before = duckdb.sql(f"SELECT count(*) FROM read_parquet('{cache}')").fetchall()
    again = standardize_workspace(workspace, tables=["utility_reading"])
    after = duckdb.sql(f"SELECT count(*) FROM read_parquet('{cache}')").fetchall()
    assert before == after
    assert [t.rows for t in again.tables if t.table == "utility_reading"] == [
        t.rows for t in first.tables if t.table == "utility_reading"
    ]
