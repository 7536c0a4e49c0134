"""Several writers at once: parallel ingest workers share one ops database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from citybrain.core.catalog import Catalog, DatasetSpec
from citybrain.core.opsdb import CatalogDatasetStats, connect, current_revision, session, upgrade

WORKERS = 8


def test_parallel_upgrades_agree(ops_db_url: str) -> None:
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda _: upgrade(ops_db_url), range(WORKERS)))
    assert current_revision(ops_db_url) is not None


def test_parallel_writers_lose_nothing(ops_db_url: str) -> None:
    catalog = Catalog.open(ops_db_url)
    try:
        spec = DatasetSpec(zone="raw", name="hukou.persons", system_id="hukou")

        def work(worker: int) -> None:
            # Everyone registers the same dataset (a race on the unique key), then writes stats.
            catalog.register_dataset(spec)
            for i in range(10):
                catalog.record_stats(spec.key, rows=worker * 100 + i)

        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(work, range(WORKERS)))
        with session(catalog.ops_engine) as db:
            assert db.scalar(select(func.count()).select_from(CatalogDatasetStats)) == WORKERS * 10
        assert len(catalog.list_datasets()) == 1
    finally:
        catalog.close()


def test_a_second_engine_sees_committed_writes(ops_db_url: str) -> None:
    upgrade(ops_db_url)
    writer, reader = Catalog(connect(ops_db_url)), Catalog(connect(ops_db_url))
    try:
        writer.register_dataset(DatasetSpec(zone="std", name="person"))
        assert [d.name for d in reader.list_datasets()] == ["person"]
    finally:
        writer.close()
        reader.close()
