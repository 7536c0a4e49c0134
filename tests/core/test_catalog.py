"""The catalog API, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from citybrain.core.catalog import (
    Catalog,
    ColumnInfo,
    DatasetKey,
    DatasetNotFound,
    DatasetSpec,
    LoadOutcome,
    PiiField,
    assess_freshness,
)
from citybrain.core.errors import UserError
from citybrain.core.opsdb import connect

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def catalog(migrated_ops_db_url: str, clock: Clock) -> Iterator[Catalog]:
    catalog = Catalog(connect(migrated_ops_db_url), clock=clock)
    yield catalog
    catalog.close()


def persons(**changes: object) -> DatasetSpec:
    fields: dict[str, object] = {
        "zone": "raw",
        "name": "hukou.persons",
        "path": "raw/hukou/persons",
        "system_id": "hukou",
        "owner_department": "公安分局",
        "description": "户籍人口",
        "columns": [
            ColumnInfo(name="id_number", type="string", nullable=False),
            ColumnInfo(name="name", type="string"),
        ],
        "sensitivity": "L3",
        "pii_fields": [PiiField(name="id_number", sensitivity="L4")],
        "expected_refresh": timedelta(days=1),
    }
    return DatasetSpec.model_validate({**fields, **changes})


def register(catalog: Catalog, zone: str, name: str, system_id: str | None = None) -> None:
    catalog.register_dataset(DatasetSpec(zone=zone, name=name, system_id=system_id))


def test_the_headline_does_not_count_a_dataset_whose_latest_count_is_empty(
    catalog: Catalog,
) -> None:
    register(catalog, "raw", "hukou.persons")
    register(catalog, "std", "person")
    register(catalog, "std", "vehicle_ping")
    catalog.record_stats("std/person", rows=0, recorded_at=T0)
    catalog.record_stats("std/person", rows=12, recorded_at=T0 + timedelta(days=1))
    catalog.record_stats("std/vehicle_ping", rows=40, recorded_at=T0)
    catalog.record_stats("std/vehicle_ping", rows=0, recorded_at=T0 + timedelta(days=1))
    # raw/hukou.persons was never measured: counted; std/vehicle_ping is empty now: not counted
    assert catalog.headline().datasets_by_zone == {"raw": 1, "std": 1}


def test_open_migrates_an_empty_database(ops_db_url: str) -> None:
    catalog = Catalog.open(ops_db_url)
    try:
        assert catalog.list_datasets() == []
    finally:
        catalog.close()


def test_register_round_trips_every_field(catalog: Catalog) -> None:
    spec = persons()
    dataset = catalog.register_dataset(spec)
    assert dataset.model_dump(include=set(DatasetSpec.model_fields)) == spec.model_dump()
    assert dataset.created_at == T0
    assert dataset.latest is None
    assert catalog.get_dataset("raw/hukou.persons") == dataset


def test_register_again_updates_in_place(catalog: Catalog, clock: Clock) -> None:
    first = catalog.register_dataset(persons())
    clock.now = T0 + timedelta(hours=1)
    second = catalog.register_dataset(persons(description="户籍人口（含迁出）", columns=[]))
    assert second.id == first.id
    assert second.description == "户籍人口（含迁出）"
    assert second.columns == ()
    assert (second.created_at, second.updated_at) == (T0, clock.now)
    assert len(catalog.list_datasets()) == 1


def test_update_changes_only_the_given_fields(catalog: Catalog) -> None:
    catalog.register_dataset(persons())
    updated = catalog.update_dataset(("raw", "hukou.persons"), owner_department="数据局")
    assert updated.owner_department == "数据局"
    assert updated.pii_fields == (PiiField(name="id_number", sensitivity="L4"),)
    with pytest.raises(ValueError, match="cannot change"):
        catalog.update_dataset("raw/hukou.persons", zone="std")


def test_unknown_dataset_and_zone(catalog: Catalog) -> None:
    with pytest.raises(DatasetNotFound, match="raw/nope"):
        catalog.get_dataset("raw/nope")
    with pytest.raises(ValueError, match="unknown zone"):
        catalog.register_dataset(DatasetSpec(zone="lake", name="x"))
    with pytest.raises(UserError, match="zone/name"):
        DatasetKey.parse("no-slash")


def test_list_filters_by_zone_and_system(catalog: Catalog) -> None:
    register(catalog, "raw", "hukou.persons", "hukou")
    register(catalog, "raw", "tax.payments", "tax")
    register(catalog, "std", "person")
    assert [str(d.key) for d in catalog.list_datasets()] == [
        "raw/hukou.persons",
        "raw/tax.payments",
        "std/person",
    ]
    assert [d.name for d in catalog.list_datasets(zone="raw", system_id="tax")] == ["tax.payments"]
    assert [d.name for d in catalog.list_datasets(zone="std")] == ["person"]


def test_record_counts_over_time(catalog: Catalog, clock: Clock) -> None:
    catalog.register_dataset(persons())
    for day, rows in enumerate([100, 150, 140]):
        clock.now = T0 + timedelta(days=day)
        catalog.record_stats("raw/hukou.persons", rows=rows, bytes=rows * 10, load_id=f"l{day}")
    detail = catalog.dataset_detail("raw/hukou.persons")
    assert [p.rows for p in detail.history] == [100, 150, 140]
    assert [p.recorded_at for p in detail.history] == [T0 + timedelta(days=d) for d in range(3)]
    assert detail.dataset.latest is not None
    assert (detail.dataset.latest.rows, detail.dataset.latest.load_id) == (140, "l2")
    recent = catalog.dataset_detail("raw/hukou.persons", since=T0 + timedelta(days=1))
    assert [p.rows for p in recent.history] == [150, 140]
    listed = catalog.list_datasets()[0]
    assert listed.latest == detail.dataset.latest


def test_freshness_against_expected_refresh(catalog: Catalog, clock: Clock) -> None:
    catalog.register_dataset(persons(expected_refresh=timedelta(hours=24)))
    register(catalog, "std", "person")
    assert catalog.freshness("raw/hukou.persons").status == "unknown"  # never refreshed
    catalog.record_stats("raw/hukou.persons", rows=1)
    catalog.record_stats("std/person", rows=1)
    clock.now = T0 + timedelta(hours=24)
    fresh = catalog.freshness("raw/hukou.persons")
    assert (fresh.status, fresh.age, fresh.last_refreshed_at) == ("fresh", timedelta(hours=24), T0)
    clock.now = T0 + timedelta(hours=25)
    assert catalog.freshness("raw/hukou.persons").status == "stale"
    assert catalog.freshness("std/person").status == "unknown"  # no refresh promised
    statuses = {str(d.key): d.freshness.status for d in catalog.list_datasets()}
    assert statuses == {"raw/hukou.persons": "stale", "std/person": "unknown"}


def test_assess_freshness_is_pure() -> None:
    day = timedelta(days=1)
    assert assess_freshness(None, day, T0).status == "unknown"
    assert assess_freshness(T0, None, T0 + day).age == day
    assert assess_freshness(T0, day, T0 + day).status == "fresh"
    assert assess_freshness(T0, day, T0 + day + timedelta(seconds=1)).status == "stale"


def build_chain(catalog: Catalog) -> None:
    """source → raw → std → base → topic, plus a second source feeding std and a sibling topic."""
    for key in [
        "source/hukou.persons",
        "raw/hukou.persons",
        "source/grid.persons",
        "raw/grid.persons",
        "std/person",
        "base/person",
        "topic/group_rental",
        "topic/epidemic",
    ]:
        zone, name = key.split("/")
        register(catalog, zone, name)
    catalog.add_lineage("source/hukou.persons", "raw/hukou.persons", kind="ingest", run_id="r1")
    catalog.add_lineage("source/grid.persons", "raw/grid.persons", kind="ingest", run_id="r1")
    catalog.add_lineage("raw/hukou.persons", "std/person", kind="standardize", run_id="r1")
    catalog.add_lineage("raw/grid.persons", "std/person", kind="standardize", run_id="r1")
    catalog.add_lineage("std/person", "base/person", kind="resolve", run_id="r1")
    catalog.add_lineage("base/person", "topic/group_rental", kind="topic", run_id="r1")
    catalog.add_lineage("base/person", "topic/epidemic", kind="topic", run_id="r1")


def test_lineage_graph_walks_both_ways(catalog: Catalog) -> None:
    build_chain(catalog)
    graph = catalog.lineage("base/person")
    depths = {str(n.key): n.depth for n in graph.nodes}
    assert depths == {
        "source/hukou.persons": -3,
        "source/grid.persons": -3,
        "raw/hukou.persons": -2,
        "raw/grid.persons": -2,
        "std/person": -1,
        "base/person": 0,
        "topic/group_rental": 1,
        "topic/epidemic": 1,
    }
    assert len(graph.edges) == 7
    assert {e.kind for e in graph.edges} == {"ingest", "standardize", "resolve", "topic"}


def test_lineage_excludes_siblings_and_respects_depth(catalog: Catalog) -> None:
    build_chain(catalog)
    graph = catalog.lineage("raw/hukou.persons")
    keys = {str(n.key) for n in graph.nodes}
    # Downstream of raw/hukou.persons, but the other source is a sibling, not an ancestor.
    assert "topic/epidemic" in keys
    assert "source/grid.persons" not in keys
    assert "raw/grid.persons" not in keys
    near = catalog.lineage("std/person", depth=1)
    assert {str(n.key) for n in near.nodes} == {
        "raw/hukou.persons",
        "raw/grid.persons",
        "std/person",
        "base/person",
    }
    assert len(near.edges) == 3


def test_repeated_lineage_updates_the_edge(catalog: Catalog, clock: Clock) -> None:
    register(catalog, "raw", "a")
    register(catalog, "std", "b")
    catalog.add_lineage("raw/a", "std/b", kind="standardize", run_id="r1")
    clock.now = T0 + timedelta(days=1)
    catalog.add_lineage("raw/a", "std/b", kind="standardize", run_id="r2")
    (edge,) = catalog.lineage("raw/a").edges
    assert (edge.run_id, edge.updated_at) == ("r2", clock.now)
    with pytest.raises(ValueError, match="own upstream"):
        catalog.add_lineage("raw/a", "raw/a", kind="x")


def test_load_run_start_and_finish(catalog: Catalog, clock: Clock) -> None:
    started = catalog.start_load("hukou", run_id="r1")
    assert started.status == "running"
    assert started.load_id.startswith("load-")
    clock.now = T0 + timedelta(minutes=5)
    outcome = LoadOutcome(
        status="succeeded",
        rows_read=10,
        rows_landed=8,
        rows_quarantined=2,
        quarantined_by_reason={"bad_id_number": 2},
        bytes=1234,
        checksum="sha256:ab",
        schema_hash="h1",
        watermark="2026-03-01T00:00:00",
    )
    finished = catalog.finish_load(started.load_id, outcome)
    assert finished.finished_at == clock.now
    assert finished.model_dump(include=set(LoadOutcome.model_fields)) == outcome.model_dump()
    assert catalog.get_load(started.load_id) == finished
    with pytest.raises(ValueError, match="already finished"):
        catalog.finish_load(started.load_id, outcome)


def test_a_load_recorded_after_the_fact_keeps_its_timings(catalog: Catalog) -> None:
    started, finished = T0 - timedelta(hours=2), T0 - timedelta(hours=1)
    catalog.start_load("hukou", load_id="l1", started_at=started)
    done = catalog.finish_load(
        "l1", LoadOutcome(status="failed", error_message="timeout"), finished_at=finished
    )
    assert (done.started_at, done.finished_at) == (started, finished)
    with pytest.raises(ValueError, match="already recorded"):
        catalog.start_load("hukou", load_id="l1")


def test_a_load_that_loses_rows_cannot_succeed(catalog: Catalog) -> None:
    load = catalog.start_load("hukou")
    with pytest.raises(ValueError, match="does not reconcile"):
        catalog.finish_load(
            load.load_id, LoadOutcome(status="succeeded", rows_read=10, rows_landed=9)
        )
    with pytest.raises(ValueError, match="by reason"):
        catalog.finish_load(
            load.load_id,
            LoadOutcome(status="succeeded", rows_read=10, rows_landed=9, rows_quarantined=1),
        )
    failed = catalog.finish_load(
        load.load_id, LoadOutcome(status="failed", rows_read=3, error_message="file truncated")
    )
    assert (failed.status, failed.error_message) == ("failed", "file truncated")


def test_headline_figures(catalog: Catalog, clock: Clock) -> None:
    empty = catalog.headline()
    assert (empty.systems_connected, empty.records_aggregated, empty.datasets) == (0, 0, 0)
    for system, landed, status in [
        ("hukou", 100, "succeeded"),
        ("hukou", 50, "succeeded"),
        ("tax", 30, "succeeded"),
        ("grid", 999, "failed"),
    ]:
        load = catalog.start_load(system)
        clock.now += timedelta(minutes=1)
        catalog.finish_load(
            load.load_id,
            LoadOutcome(status=status, rows_read=landed, rows_landed=landed),  # type: ignore[arg-type]
        )
    catalog.start_load("parking")  # still running: not connected yet
    register(catalog, "raw", "hukou.persons")
    register(catalog, "std", "person")
    figures = catalog.headline()
    assert figures.systems_connected == 2
    assert figures.records_aggregated == 180
    assert figures.datasets_by_zone == {"raw": 1, "std": 1}
    assert figures.last_load_at == T0 + timedelta(minutes=3)
    assert [run.source_system for run in catalog.list_loads(status="succeeded", limit=2)] == [
        "tax",
        "hukou",
    ]


def test_systems_summarise_their_loads(catalog: Catalog, clock: Clock) -> None:
    for system, status, landed in [
        ("hukou", "succeeded", 5),
        ("hukou", "failed", 0),
        ("tax", "succeeded", 3),
    ]:
        load = catalog.start_load(system)
        clock.now += timedelta(minutes=1)
        outcome = LoadOutcome(
            status=status,  # type: ignore[arg-type]
            rows_read=landed + 1,
            rows_landed=landed,
            rows_quarantined=1,
            quarantined_by_reason={"bad_date": 1},
        )
        catalog.finish_load(load.load_id, outcome)
    hukou, tax = catalog.list_systems()
    assert (hukou.system_id, hukou.loads, hukou.succeeded_loads) == ("hukou", 2, 1)
    assert (hukou.rows_landed, hukou.rows_quarantined) == (5, 1)
    assert hukou.last_load.status == "failed"
    assert hukou.last_success_at == T0 + timedelta(minutes=1)
    assert (tax.rows_landed, tax.last_load.status) == (3, "succeeded")


def test_pipeline_run(catalog: Catalog, clock: Clock) -> None:
    run = catalog.start_pipeline_run("run", run_id="r1")
    clock.now = T0 + timedelta(minutes=1)
    stages = [{"name": "ingest", "status": "succeeded", "rows": 10}]
    done = catalog.finish_pipeline_run(run.run_id, status="succeeded", stages=stages)
    assert (done.status, done.finished_at, list(done.stages)) == ("succeeded", clock.now, stages)


def test_values_are_detached_from_the_database(catalog: Catalog) -> None:
    dataset = catalog.register_dataset(persons())
    catalog.close()
    # Frozen values stay usable after the engine is gone, and cannot be changed by mistake.
    assert dataset.columns[0].name == "id_number"
    with pytest.raises(ValueError, match="frozen"):
        dataset.description = "x"  # type: ignore[misc]


def test_pipeline_steps_are_attempts_in_order(catalog: Catalog, clock: Clock) -> None:
    from citybrain.core.catalog import PipelineStepOutcome

    catalog.start_pipeline_run("run", run_id="r1", plan=["ingest", "resolve"])
    first = catalog.start_pipeline_step("r1", "ingest", position=0)
    catalog.finish_pipeline_step(
        first.id,
        PipelineStepOutcome(status="succeeded", seconds=1.5, rows_in=10, rows_out=9,
                            peak_rss_bytes=2**20, summary="9 rows landed"),
    )  # fmt: skip
    killed = catalog.start_pipeline_step("r1", "resolve", position=1)
    again = catalog.start_pipeline_step("r1", "resolve", position=1)
    assert (killed.attempt, again.attempt) == (1, 2)
    catalog.finish_pipeline_run("r1", status="failed", error_message="resolve: boom")
    (run,) = catalog.list_pipeline_runs()
    assert run.plan == ["ingest", "resolve"]  # finishing without stages keeps the plan
    assert [(s.name, s.attempt, s.status) for s in run.steps] == [
        ("ingest", 1, "succeeded"),
        ("resolve", 1, "running"),
        ("resolve", 2, "running"),
    ]
    assert (run.steps[0].rows_out, run.steps[0].peak_rss_bytes) == (9, 2**20)
    with pytest.raises(LookupError):
        catalog.start_pipeline_step("nope", "ingest", position=0)
