"""The push endpoint: a department system POSTs its records, each request is one reconciled load."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from citybrain.core.workspace import Workspace
from citybrain.ingest import RawZone
from citybrain.ingest.connectors.push import create_push_router

TOKEN = "t0ken-for-tests"
CONTRACT = """\
id: hotline_push
name: 12345 热线推送
owner: 市政务服务中心
connector: {kind: push, token_env: HOTLINE_PUSH_TOKEN, batch_rows: 3}
mapping:
  columns:
    - {source: ticket, target: ticket_no, required: true}
    - {source: received, target: received_at, type: timestamp}
keys: [ticket_no]
"""


@pytest.fixture
def client(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    sources = workspace.root / "sources"
    sources.mkdir(exist_ok=True)
    (sources / "hotline_push.yaml").write_text(CONTRACT, encoding="utf-8")
    monkeypatch.setenv("HOTLINE_PUSH_TOKEN", TOKEN)
    app = FastAPI()
    app.include_router(create_push_router(workspace, max_bytes=4096))
    return TestClient(app)


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def records(n: int, start: int = 1) -> list[dict[str, str]]:
    return [
        {"ticket": f"T{i:05d}", "received": "2024-05-01 09:00:00"} for i in range(start, start + n)
    ]


def test_json_array_lands_as_one_load(client: TestClient, workspace: Workspace) -> None:
    response = client.post("/ingest/push/hotline_push", json=records(7), headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed"
    assert (body["rows_read"], body["rows_landed"], body["rows_quarantined"]) == (7, 7, 0)
    (partition,) = RawZone(workspace.lake, "hotline_push").partitions()
    assert partition.name == f"load_id={body['load_id']}"
    assert pq.read_table(partition).column("ticket_no").to_pylist() == [
        f"T{i:05d}" for i in range(1, 8)
    ]


def test_ndjson_with_bad_lines_reconciles(client: TestClient, workspace: Workspace) -> None:
    lines = [json.dumps(r) for r in records(4)]
    lines.insert(2, "{broken")
    lines.append('{"received": "2024-05-01 10:00:00"}')  # no ticket: a required key
    lines.append("[1]")
    body = ("\n".join(lines) + "\n").encode()
    response = client.post(
        "/ingest/push/hotline_push",
        content=body,
        headers={**AUTH, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    counts = response.json()
    assert (counts["rows_read"], counts["rows_landed"], counts["rows_quarantined"]) == (7, 4, 3)
    reasons = counts["quarantined_by_reason"]
    assert sum(reasons.values()) == 3
    assert reasons["not_an_object"] == 1 and reasons["missing_key:ticket"] == 1
    (manifest,) = RawZone(workspace.lake, "hotline_push").manifests()
    assert manifest.quarantine_path is not None
    lines_seen = pq.read_table(manifest.quarantine_path).column("_line").to_pylist()
    assert sorted(x for x in lines_seen if x is not None) == [3, 6, 7]


def test_each_request_is_its_own_load(client: TestClient, workspace: Workspace) -> None:
    for start in (1, 11):
        assert client.post(
            "/ingest/push/hotline_push", json=records(5, start), headers=AUTH
        ).is_success
    manifests = RawZone(workspace.lake, "hotline_push").manifests()
    assert len(manifests) == 2 and sum(m.rows_landed for m in manifests) == 10


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}"])
def test_wrong_token_is_401(client: TestClient, workspace: Workspace, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.post("/ingest/push/hotline_push", json=records(1), headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert RawZone(workspace.lake, "hotline_push").partitions() == []


def test_unset_token_refuses_everything(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOTLINE_PUSH_TOKEN")
    response = client.post("/ingest/push/hotline_push", json=records(1), headers=AUTH)
    assert response.status_code == 401 and "no token configured" in response.json()["detail"]


def test_unknown_system_is_404(client: TestClient) -> None:
    response = client.post("/ingest/push/no_such_system", json=records(1), headers=AUTH)
    assert response.status_code == 404


def test_body_over_the_limit_is_413(client: TestClient, workspace: Workspace) -> None:
    response = client.post("/ingest/push/hotline_push", json=records(200), headers=AUTH)
    assert response.status_code == 413
    assert RawZone(workspace.lake, "hotline_push").partitions() == []


def test_broken_json_array_is_400(client: TestClient, workspace: Workspace) -> None:
    response = client.post(
        "/ingest/push/hotline_push",
        content=b'[{"ticket": "T1"}, {"ticket": ',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "not a valid JSON array" in response.json()["detail"]
    assert RawZone(workspace.lake, "hotline_push").partitions() == []


def test_the_catalog_records_each_pushed_load(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from citybrain.core.catalog import Catalog
    from citybrain.ingest import recorder_for

    sources = workspace.root / "sources"
    sources.mkdir(exist_ok=True)
    (sources / "hotline_push.yaml").write_text(CONTRACT, encoding="utf-8")
    monkeypatch.setenv("HOTLINE_PUSH_TOKEN", TOKEN)
    app = FastAPI()
    app.include_router(create_push_router(workspace, recorder=recorder_for(workspace)))
    response = TestClient(app).post("/ingest/push/hotline_push", json=records(6), headers=AUTH)
    assert response.status_code == 200, response.text
    load = Catalog.open(workspace.ops_db_url).get_load(response.json()["load_id"])
    assert (load.status, load.rows_read, load.rows_landed) == ("succeeded", 6, 6)
