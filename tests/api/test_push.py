"""The push route (``citybrain.api.routers.push``): answers for bodies that land nothing, and each
request its own load in the catalog. Keys, roles and a reconciled NDJSON load are in
test_push_mount.py."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.conftest import Harness, make_harness
from citybrain.api.security import accounts
from citybrain.core.catalog import Catalog
from citybrain.core.opsdb import session
from citybrain.ingest import RawZone

URL = "/api/v1/ingest/push/hotline_push"
CONTRACT = """\
id: hotline_push
name: 12345 热线推送
owner: 市政务服务中心
connector: {kind: push, batch_rows: 3}
mapping:
  columns:
    - {source: ticket, target: ticket_no, required: true}
keys: [ticket_no]
"""


def _with_contract(api: Harness) -> dict[str, str]:
    sources = api.workspace.root / "sources"
    sources.mkdir(exist_ok=True)
    (sources / "hotline_push.yaml").write_text(CONTRACT, encoding="utf-8")
    name = api.user("system", username=f"push-{secrets.token_hex(3)}")
    with session(api.security.ops_engine) as db:
        return {"X-API-Key": accounts.create_key(db, name, label="push").key}


def records(n: int, start: int = 1) -> list[dict[str, str]]:
    return [{"ticket": f"T{i:05d}"} for i in range(start, start + n)]


def test_each_request_is_its_own_load_recorded_in_the_catalog(api: Harness) -> None:
    key = _with_contract(api)
    answers = [api.client.post(URL, json=records(5, start), headers=key) for start in (1, 11)]
    assert [a.status_code for a in answers] == [200, 200], answers[-1].text
    manifests = RawZone(api.workspace.lake, "hotline_push").manifests()
    assert len(manifests) == 2 and sum(m.rows_landed for m in manifests) == 10
    catalog = Catalog.open(api.workspace.ops_db_url)
    try:
        for answer in answers:
            load = catalog.get_load(answer.json()["load_id"])
            assert (load.status, load.rows_read, load.rows_landed) == ("succeeded", 5, 5)
    finally:
        catalog.close()


def test_a_broken_json_array_is_400_and_lands_nothing(api: Harness) -> None:
    key = _with_contract(api)
    response = api.client.post(
        URL,
        content=b'[{"ticket": "T1"}, {"ticket": ',
        headers={**key, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "not a valid JSON array" in response.json()["detail"]
    assert RawZone(api.workspace.lake, "hotline_push").partitions() == []


@pytest.fixture
def small_api(tmp_path: Path) -> Iterator[Harness]:
    yield from make_harness(tmp_path, max_body_bytes=4096)


def test_a_body_over_the_limit_is_413_and_lands_nothing(small_api: Harness) -> None:
    key = _with_contract(small_api)
    response = small_api.client.post(URL, json=records(400), headers=key)
    assert response.status_code == 413
    assert RawZone(small_api.workspace.lake, "hotline_push").partitions() == []
