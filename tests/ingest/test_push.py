"""One pushed body (a JSON array or NDJSON) lands as one reconciled load; the HTTP route that
receives it is the API's (tests/api/test_push.py)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from citybrain.core.errors import UserError
from citybrain.core.workspace import Workspace
from citybrain.ingest import RawZone
from citybrain.ingest.check import check_contract
from citybrain.ingest.contract import SourceContract
from citybrain.ingest.streams import push_load

CONTRACT = """\
id: hotline_push
name: 12345 热线推送
owner: 市政务服务中心
connector: {kind: push, batch_rows: 3}
mapping:
  columns:
    - {source: ticket, target: ticket_no, required: true}
    - {source: received, target: received_at, type: timestamp}
keys: [ticket_no]
"""


@pytest.fixture
def contract(workspace: Workspace) -> SourceContract:
    path = workspace.root / "sources" / "hotline_push.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(CONTRACT, encoding="utf-8")
    found = check_contract(path).contract
    assert found is not None
    return found


def records(n: int, start: int = 1) -> list[dict[str, str]]:
    return [
        {"ticket": f"T{i:05d}", "received": "2024-05-01 09:00:00"} for i in range(start, start + n)
    ]


def test_json_array_lands_as_one_load(workspace: Workspace, contract: SourceContract) -> None:
    manifest = push_load(workspace.lake, contract, json.dumps(records(7)).encode())
    assert manifest.status == "completed" and manifest.reconciled
    assert (manifest.rows_read, manifest.rows_landed, manifest.rows_quarantined) == (7, 7, 0)
    (partition,) = RawZone(workspace.lake, "hotline_push").partitions()
    assert partition.name == f"load_id={manifest.load_id}"
    assert pq.read_table(partition).column("ticket_no").to_pylist() == [
        f"T{i:05d}" for i in range(1, 8)
    ]


def test_ndjson_with_bad_lines_reconciles(workspace: Workspace, contract: SourceContract) -> None:
    lines = [json.dumps(r) for r in records(4)]
    lines.insert(2, "{broken")
    lines.append('{"received": "2024-05-01 10:00:00"}')  # no ticket: a required key
    lines.append("[1]")
    manifest = push_load(workspace.lake, contract, ("\n".join(lines) + "\n").encode())
    assert (manifest.rows_read, manifest.rows_landed, manifest.rows_quarantined) == (7, 4, 3)
    reasons = manifest.quarantined_by_reason
    assert sum(reasons.values()) == 3
    assert reasons["not_an_object"] == 1 and reasons["missing_key:ticket"] == 1
    assert manifest.quarantine_path is not None
    lines_seen = pq.read_table(manifest.quarantine_path).column("_line").to_pylist()
    assert sorted(x for x in lines_seen if x is not None) == [3, 6, 7]


def test_each_body_is_its_own_load(workspace: Workspace, contract: SourceContract) -> None:
    for start in (1, 11):
        push_load(workspace.lake, contract, json.dumps(records(5, start)).encode())
    manifests = RawZone(workspace.lake, "hotline_push").manifests()
    assert len(manifests) == 2 and sum(m.rows_landed for m in manifests) == 10


def test_broken_json_array_lands_nothing(workspace: Workspace, contract: SourceContract) -> None:
    with pytest.raises(UserError, match="not a valid JSON array"):
        push_load(workspace.lake, contract, b'[{"ticket": "T1"}, {"ticket": ')
    assert RawZone(workspace.lake, "hotline_push").partitions() == []
