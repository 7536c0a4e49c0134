"""The push endpoint mounted in the API: a department system's account pushes by X-API-Key.

The account has the ``system`` role: it may push and read nothing (admins and data stewards may
push too)."""

from __future__ import annotations

import json
import secrets

import pyarrow.parquet as pq
import pytest

from api.conftest import Harness
from citybrain.api.security import accounts
from citybrain.core.catalog import Catalog
from citybrain.core.opsdb import session
from citybrain.ingest import RawZone

URL = "/api/v1/ingest/push/hotline_push"
CONTRACT = """\
id: hotline_push
name: 12345 热线推送
owner: 市政务服务中心
connector: {kind: push}
mapping:
  columns:
    - {source: ticket, target: ticket_no, required: true}
    - {source: received, target: received_at, type: timestamp, formats: ['%Y-%m-%d %H:%M:%S']}
keys: [ticket_no]
"""


def _key(api: Harness, role: str) -> dict[str, str]:
    name = api.user(role, username=f"push-{role}-{secrets.token_hex(3)}")
    with session(api.security.ops_engine) as db:
        created = accounts.create_key(db, name, label="push")
    return {"X-API-Key": created.key}


@pytest.fixture
def push_api(api: Harness) -> Harness:
    sources = api.workspace.root / "sources"
    sources.mkdir(exist_ok=True)
    (sources / "hotline_push.yaml").write_text(CONTRACT, encoding="utf-8")
    return api


def test_a_system_key_pushes_rows_that_land_reconciled_with_bad_rows_quarantined(
    push_api: Harness,
) -> None:
    lines = [
        json.dumps({"ticket": "T1", "received": "2024-05-01 09:00:00"}),
        json.dumps({"ticket": "T2", "received": "2024-05-01 09:05:00"}),
        "{broken",
        json.dumps({"ticket": "T3", "received": "2024-13-40 09:00:00"}),
        json.dumps({"received": "2024-05-01 10:00:00"}),
        json.dumps({"ticket": "T4", "received": "2024-05-01 10:30:00"}),
    ]
    response = push_api.client.post(
        URL,
        content=("\n".join(lines) + "\n").encode(),
        headers={**_key(push_api, "system"), "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rows_read"], body["rows_landed"], body["rows_quarantined"]) == (6, 3, 3)
    assert body["quarantined_by_reason"] == {
        "bad_json:Expecting property name enclosed in double quotes": 1,
        "bad_timestamp:received": 1,
        "missing_key:ticket": 1,
    }

    zone = RawZone(push_api.workspace.lake, "hotline_push")
    (manifest,) = zone.manifests()
    assert manifest.load_id == body["load_id"] and manifest.status == "completed"
    assert manifest.reconciled and manifest.rows_read == 6
    landed = pq.read_table(zone.raw / f"load_id={manifest.load_id}")
    assert landed.column("ticket_no").to_pylist() == ["T1", "T2", "T4"]
    assert manifest.quarantine_path is not None
    bad = pq.read_table(manifest.quarantine_path).sort_by("_row")
    assert bad.column("_row").to_pylist() == [3, 4, 5]
    assert bad.column("_line").to_pylist() == [3, 4, 5]
    assert bad.column("_raw").to_pylist()[0] == "{broken"

    catalog = Catalog.open(push_api.workspace.ops_db_url)
    try:
        assert catalog.get_load(body["load_id"]).rows_landed == 3
    finally:
        catalog.close()


def test_without_a_key_or_with_a_role_that_may_not_push_nothing_lands(push_api: Harness) -> None:
    rows = [{"ticket": "T1", "received": "2024-05-01 09:00:00"}]
    assert push_api.client.post(URL, json=rows).status_code == 401
    wrong = {"X-API-Key": "cbk_nope"}
    assert push_api.client.post(URL, json=rows, headers=wrong).status_code == 401
    refused = push_api.client.post(URL, json=rows, headers=_key(push_api, "analyst"))
    assert refused.status_code == 403 and "ingest.push" in refused.json()["detail"]
    assert RawZone(push_api.workspace.lake, "hotline_push").manifests() == []
    # A system account sends; it reads nothing personal or operational.
    system = _key(push_api, "system")
    for url in ("/api/v1/cases", "/api/v1/catalog/datasets", "/api/v1/entities/search?q=张"):
        assert push_api.client.get(url, headers=system).status_code == 403, url


def test_an_unknown_system_is_404(push_api: Harness) -> None:
    response = push_api.client.post(
        "/api/v1/ingest/push/nope", json=[], headers=_key(push_api, "data_steward")
    )
    assert response.status_code == 404
