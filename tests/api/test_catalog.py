"""Catalog routes: datasets (filter, sort, page), detail with counts over time, lineage, systems."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.conftest import START, Harness
from citybrain.core.catalog import Catalog, DatasetSpec, LoadOutcome, PiiField


@pytest.fixture
def catalog_api(api: Harness) -> Harness:
    catalog = Catalog(api.security.ops_engine, clock=api.clock)
    for zone, name, system in (
        ("source", "hukou", "hukou"),
        ("raw", "hukou", "hukou"),
        ("std", "person_registration", None),
        ("raw", "tax", "tax"),
    ):
        catalog.register_dataset(
            DatasetSpec(
                zone=zone,
                name=name,
                system_id=system,
                owner_department="公安局",
                pii_fields=(PiiField(name="id_number", sensitivity="high"),),
                expected_refresh=timedelta(days=1),
            )
        )
    for day, rows in enumerate((100, 150, 220)):
        catalog.record_stats("raw/hukou", rows=rows, recorded_at=START + timedelta(days=day))
    catalog.record_stats("raw/tax", rows=5, recorded_at=START)
    catalog.add_lineage("source/hukou", "raw/hukou", kind="ingest")
    catalog.add_lineage("raw/hukou", "std/person_registration", kind="standardize")
    catalog.start_load("hukou", load_id="load-1", started_at=START)
    catalog.finish_load(
        "load-1", LoadOutcome(status="succeeded", rows_read=12, rows_landed=10,
                              rows_quarantined=2, quarantined_by_reason={"bad_id": 2}),
        finished_at=START,
    )  # fmt: skip
    return api


def test_datasets_filter_sort_and_page(catalog_api: Harness) -> None:
    headers = catalog_api.as_role("data_steward")
    got = catalog_api.client.get("/api/v1/catalog/datasets", headers=headers).json()
    assert got["total"] == 4
    assert [d["zone"] for d in got["items"]] == ["raw", "raw", "source", "std"]

    raw = catalog_api.client.get(
        "/api/v1/catalog/datasets", params={"zone": "raw", "sort": "-rows"}, headers=headers
    ).json()
    assert [(d["name"], d["latest"]["rows"]) for d in raw["items"]] == [("hukou", 220), ("tax", 5)]

    paged = catalog_api.client.get(
        "/api/v1/catalog/datasets", params={"system_id": "hukou", "page_size": 1, "page": 2},
        headers=headers,
    ).json()  # fmt: skip
    assert (paged["total"], len(paged["items"])) == (2, 1)

    bad = catalog_api.client.get(
        "/api/v1/catalog/datasets", params={"sort": "password"}, headers=headers
    )
    assert bad.status_code == 422 and "sortable" in bad.json()["message"]
    assert (
        catalog_api.client.get(
            "/api/v1/catalog/datasets", params={"zone": "../etc"}, headers=headers
        ).status_code
        == 422
    )


def test_dataset_detail_has_counts_over_time(catalog_api: Harness) -> None:
    headers = catalog_api.as_role("analyst")
    detail = catalog_api.client.get("/api/v1/catalog/datasets/raw/hukou", headers=headers).json()
    assert [p["rows"] for p in detail["history"]] == [100, 150, 220]
    assert detail["dataset"]["pii_fields"] == [{"name": "id_number", "sensitivity": "high"}]
    since = catalog_api.client.get(
        "/api/v1/catalog/datasets/raw/hukou",
        params={"since": (START + timedelta(days=1)).isoformat()}, headers=headers,
    ).json()  # fmt: skip
    assert [p["rows"] for p in since["history"]] == [150, 220]
    missing = catalog_api.client.get("/api/v1/catalog/datasets/raw/nothing", headers=headers)
    assert missing.status_code == 404


def test_lineage_is_nodes_and_edges(catalog_api: Harness) -> None:
    headers = catalog_api.as_role("admin")
    graph = catalog_api.client.get(
        "/api/v1/catalog/datasets/raw/hukou/lineage", headers=headers
    ).json()
    assert graph["root"] == "raw/hukou"
    assert {n["id"]: n["depth"] for n in graph["nodes"]} == {
        "source/hukou": -1, "raw/hukou": 0, "std/person_registration": 1,
    }  # fmt: skip
    assert {(e["source"], e["target"], e["kind"]) for e in graph["edges"]} == {
        ("source/hukou", "raw/hukou", "ingest"),
        ("raw/hukou", "std/person_registration", "standardize"),
    }


def test_systems_and_headline(catalog_api: Harness) -> None:
    headers = catalog_api.as_role("leader")
    systems = catalog_api.client.get("/api/v1/catalog/systems", headers=headers).json()
    assert [(s["system_id"], s["rows_landed"]) for s in systems] == [("hukou", 10)]
    headline = catalog_api.client.get("/api/v1/catalog/headline", headers=headers).json()
    assert headline["systems_connected"] == 1 and headline["records_aggregated"] == 10
    assert headline["datasets_by_zone"] == {"raw": 2, "source": 1, "std": 1}


def test_clerks_do_not_read_the_catalog(catalog_api: Harness) -> None:
    response = catalog_api.client.get(
        "/api/v1/catalog/datasets", headers=catalog_api.as_role("clerk", ["street:S1"])
    )
    assert response.status_code == 403
