"""Load runs, one load's manifest, and its quarantined rows (masked, audited)."""

from __future__ import annotations

import json
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from api.conftest import START, Harness
from citybrain.core.catalog import Catalog, DatasetSpec, LoadOutcome, PiiField


@pytest.fixture
def loads_api(api: Harness) -> Harness:
    catalog = Catalog(api.security.ops_engine, clock=api.clock)
    for n, (system, status) in enumerate(
        [("hukou", "succeeded"), ("hukou", "failed"), ("tax", "succeeded")]
    ):
        load_id = f"load-{n}"
        catalog.start_load(system, load_id=load_id, started_at=START + timedelta(hours=n))
        outcome = (
            LoadOutcome(status="succeeded", rows_read=5, rows_landed=3, rows_quarantined=2,
                        quarantined_by_reason={"bad_id_number": 1, "bad_date": 1})
            if status == "succeeded"
            else LoadOutcome(status="failed", error_message="file missing")
        )  # fmt: skip
        catalog.finish_load(load_id, outcome, finished_at=START + timedelta(hours=n, minutes=5))
    catalog.register_dataset(
        DatasetSpec(zone="quarantine", name="hukou", system_id="hukou",
                    pii_fields=(PiiField(name="id_number", sensitivity="high"),
                                PiiField(name="phone", sensitivity="high")))
    )  # fmt: skip
    lake = api.workspace.lake
    raw = lake / "raw" / "hukou" / "load_id=load-0"
    raw.mkdir(parents=True)
    (raw / "_manifest.json").write_text(json.dumps({"source_file": "hukou.csv", "rows_read": 5}))
    quarantine = lake / "quarantine" / "hukou" / "load_id=load-0"
    quarantine.mkdir(parents=True)
    rows = pa.table(
        {
            "id_number": ["51010419900101123", None],
            "phone": ["13812345678", None],
            "city": ["成都", None],
            "_file": ["hukou.csv", "hukou.csv"],
            "_load_id": ["load-0", "load-0"],
            "_row": pa.array([2, 4], pa.int64()),
            "_line": pa.array([3, 5], pa.int64()),
            "_reason": ["bad_id_number", "bad_date"],
            "_raw": [None, "张三,510104199001011234,13812345678,2026-13-01"],
        }
    )
    pq.write_table(rows, quarantine / "part-00000.parquet")
    return api


def test_loads_filter_and_page(loads_api: Harness) -> None:
    headers = loads_api.as_role("data_steward")
    every = loads_api.client.get("/api/v1/loads", headers=headers).json()
    assert [load["load_id"] for load in every["items"]] == ["load-2", "load-1", "load-0"]
    hukou = loads_api.client.get(
        "/api/v1/loads", params={"source_system": "hukou", "status": "failed"}, headers=headers
    ).json()
    assert [(x["load_id"], x["error_message"]) for x in hukou["items"]] == [
        ("load-1", "file missing")
    ]
    assert (
        loads_api.client.get(
            "/api/v1/loads", params={"status": "bogus"}, headers=headers
        ).status_code
        == 422
    )


def test_load_manifest(loads_api: Harness) -> None:
    headers = loads_api.as_role("analyst")
    detail = loads_api.client.get("/api/v1/loads/load-0", headers=headers).json()
    assert detail["reconciled"] is True
    assert detail["load"]["quarantined_by_reason"] == {"bad_id_number": 1, "bad_date": 1}
    assert detail["manifest"]["source_file"] == "hukou.csv"
    assert loads_api.client.get("/api/v1/loads/load-9", headers=headers).status_code == 404


def test_quarantined_rows_are_masked_and_audited(loads_api: Harness) -> None:
    steward = loads_api.user("data_steward")
    headers = loads_api.headers(steward)
    page = loads_api.client.get("/api/v1/loads/load-0/quarantine", headers=headers).json()
    assert page["total"] == 2 and page["by_reason"] == {"bad_id_number": 1, "bad_date": 1}
    first, second = page["items"]
    assert first["values"]["id_number"] == "5101*********1123"
    assert first["values"]["phone"] == "138****5678"
    assert first["values"]["city"] == "成都"  # not personal, kept
    assert second["raw"] is not None and "510104199001011234" not in second["raw"]
    only = loads_api.client.get(
        "/api/v1/loads/load-0/quarantine", params={"reason": "bad_date"}, headers=headers
    ).json()
    assert [r["row"] for r in only["items"]] == [4]

    auditor = loads_api.as_role("auditor")
    log = loads_api.client.get(
        "/api/v1/audit", params={"action": "quarantine.read"}, headers=auditor
    ).json()
    assert log["total"] == 2 and log["items"][0]["actor"] == steward
    assert (
        loads_api.client.get(
            "/api/v1/loads/load-0/quarantine", headers=loads_api.as_role("analyst")
        ).status_code
        == 403
    )


@pytest.mark.slow
def test_loads_of_a_synthetic_city(api: Harness, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A tiny generated city, its file-delivered systems ingested by the real pipeline."""
    from citybrain.ingest import discover_sources, ingest_sources, load_contract, recorder_for
    from citybrain.ingest.simsources import write_sim_sources
    from fixtures.tinycity import tiny_city

    sim = tiny_city(tmp_path_factory, 7)  # generated once per test run, read-only
    workspace = api.workspace
    write_sim_sources(workspace.root / "sources", sim)
    files = [
        path
        for path in discover_sources(workspace)
        if load_contract(path).connector.kind in ("csv", "jsonl", "parquet", "xlsx")
    ]
    ingest_sources(workspace, files, recorder=recorder_for(workspace))

    headers = api.as_role("data_steward")
    systems = api.client.get("/api/v1/catalog/systems", headers=headers).json()
    assert len(systems) == len(files)
    headline = api.client.get("/api/v1/catalog/headline", headers=headers).json()
    assert headline["systems_connected"] == len(files) and headline["records_aggregated"] > 0
    loads = api.client.get("/api/v1/loads", params={"page_size": 500}, headers=headers).json()
    assert loads["total"] == sum(s["loads"] for s in systems) >= len(files)  # a load per file
    system = systems[0]["system_id"]
    graph = api.client.get(f"/api/v1/catalog/datasets/raw/{system}/lineage", headers=headers)
    assert f"source/{system}" in {node["id"] for node in graph.json()["nodes"]}
    for load in loads["items"]:
        detail = api.client.get(f"/api/v1/loads/{load['load_id']}", headers=headers).json()
        assert detail["reconciled"] and detail["manifest"] is not None
    dirty = [load for load in loads["items"] if load["rows_quarantined"]]
    if dirty:
        load = dirty[0]
        page = api.client.get(
            f"/api/v1/loads/{load['load_id']}/quarantine", params={"page_size": 500},
            headers=headers,
        ).json()  # fmt: skip
        assert page["total"] == load["rows_quarantined"]
        assert page["by_reason"] == load["quarantined_by_reason"]
