"""Ops metrics: requests, loads, findings and cases, as JSON and as Prometheus text."""

from __future__ import annotations

from api.conftest import Harness
from api.scoped_data import seed
from citybrain.core.catalog import Catalog, LoadOutcome


def test_metrics_json_and_prometheus(api: Harness) -> None:
    seed(api.workspace, api.security.ops_engine)
    catalog = Catalog(api.security.ops_engine)
    catalog.start_load("hukou", load_id="load-1")
    catalog.finish_load("load-1", LoadOutcome(status="succeeded", rows_read=3, rows_landed=3))
    headers = api.as_role("admin")
    api.client.get("/health")
    got = api.client.get("/api/v1/metrics", headers=headers).json()
    assert got["loads"] == {"succeeded": 1} and got["rows_landed"] == 3
    assert got["findings"] == {"probe": 2}
    assert got["cases"] == {"dispatched": 2}
    assert got["requests"]["GET 2xx"] >= 1
    text = api.client.get("/api/v1/metrics", params={"format": "prometheus"}, headers=headers)
    assert text.headers["content-type"].startswith("text/plain")
    assert 'citybrain_cases{status="dispatched"} 2' in text.text
    assert 'citybrain_findings{topic="probe"} 2' in text.text
    assert (
        api.client.get("/api/v1/metrics", headers=api.as_role("clerk", ["street:S1"])).status_code
        == 403
    )
