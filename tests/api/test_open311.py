"""An Open311 GeoReport v2 client round trip: services, post a request, get it back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from citybrain.api.deps import get_ops_engine, get_workspace
from citybrain.api.routers import open311
from citybrain.cases import act
from citybrain.core import Workspace
from citybrain.core.opsdb import connect, upgrade

SETTINGS = """\
routing:
  default_department: 城管局
services:
  - {service_code: street_vending, service_name: 占道经营, group: 市容, keywords: [摆摊]}
  - {service_code: noise, service_name: 噪声扰民, group: 环境}
merge: {distance_m: 50, window_hours: 24}
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    (ws.root / "cases.yaml").write_text(SETTINGS, encoding="utf-8")
    upgrade(ws.ops_db_url)
    return ws


@pytest.fixture
def client(workspace: Workspace) -> Iterator[TestClient]:
    """The router alone, handed its workspace and ops database as dependency overrides."""
    app = FastAPI()
    app.include_router(open311.router, prefix="/open311/v2")
    ops_engine = connect(workspace.ops_db_url)
    app.dependency_overrides[get_workspace] = lambda: workspace
    app.dependency_overrides[get_ops_engine] = lambda: ops_engine
    with TestClient(app) as test_client:
        yield test_client
    ops_engine.dispose()


def _post(client: TestClient, **form: str) -> dict[str, object]:
    data = {"service_code": "street_vending", "lat": "22.5400", "long": "113.9500", **form}
    response = client.post("/open311/v2/requests.json", data=data)
    assert response.status_code == 201, response.text
    (created,) = response.json()
    assert isinstance(created, dict)
    return created


def test_service_list(client: TestClient) -> None:
    services = client.get("/open311/v2/services.json").json()
    assert [s["service_code"] for s in services] == ["street_vending", "noise"]
    assert services[0] == {
        "service_code": "street_vending", "service_name": "占道经营", "description": "",
        "metadata": False, "type": "realtime", "keywords": "摆摊", "group": "市容",
    }  # fmt: skip
    assert client.get("/open311/v2/services/noise.json").json()["attributes"] == []
    assert client.get("/open311/v2/services/ufo.json").status_code == 404


def test_post_then_get_round_trip(client: TestClient) -> None:
    created = _post(client, description="天桥下有人摆摊", first_name="三", last_name="张",
                    email="z@example.cn", account_id="acct-1")  # fmt: skip
    assert created["account_id"] == "acct-1" and "已受理" in str(created["service_notice"])
    request_id = created["service_request_id"]
    (fetched,) = client.get(f"/open311/v2/requests/{request_id}.json").json()
    assert fetched["service_request_id"] == request_id
    assert fetched["status"] == "open" and fetched["service_code"] == "street_vending"
    assert fetched["service_name"] == "占道经营" and fetched["agency_responsible"] == "城管局"
    assert fetched["description"] == "天桥下有人摆摊"
    assert (fetched["lat"], fetched["long"]) == (22.54, 113.95)
    assert fetched["requested_datetime"].endswith("+08:00")
    assert (
        fetched["expected_datetime"] is not None and fetched["status_notes"] == "派发 (dispatched)"
    )


def test_nearby_reports_merge_and_all_are_answered(
    client: TestClient, workspace: Workspace
) -> None:
    first = _post(client)
    second = _post(client, lat="22.5401")  # about 11 m north
    other = _post(client, service_code="noise")
    assert first["service_request_id"] != second["service_request_id"]
    assert "合并" in str(second["service_notice"]) and "已受理" in str(other["service_notice"])
    case_id = int(str(first["service_notice"]).split()[-1].rstrip(")"))

    ops_engine = connect(workspace.ops_db_url)
    try:
        for action in ("accept", "start"):
            act(ops_engine, case_id, action, actor="城管队员")
        act(ops_engine, case_id, "close", actor="城管队员", outcome="confirmed", comment="已劝离")
    finally:
        ops_engine.dispose()
    ids = f"{first['service_request_id']},{second['service_request_id']}"
    both = client.get("/open311/v2/requests.json", params={"service_request_id": ids}).json()
    assert {r["status"] for r in both} == {"closed"}
    assert {r["status_notes"] for r in both} == {"属实 (confirmed)：已劝离"}
    still_open = client.get("/open311/v2/requests.json", params={"status": "open"}).json()
    assert [r["service_request_id"] for r in still_open] == [other["service_request_id"]]
    noise = client.get("/open311/v2/requests.json", params={"service_code": "noise"}).json()
    assert [r["service_code"] for r in noise] == ["noise"]


@pytest.mark.parametrize(
    ("form", "code", "text"),
    [
        ({"service_code": ""}, 400, "service_code is required"),
        ({"service_code": "ufo"}, 404, "unknown service_code"),
        ({"lat": "", "long": ""}, 400, "lat and long"),
        ({"lat": "95"}, 400, "lat"),
    ],
)
def test_errors_use_the_open311_format(
    client: TestClient, form: dict[str, str], code: int, text: str
) -> None:
    data = {"service_code": "street_vending", "lat": "22.54", "long": "113.95", **form}
    data = {k: v for k, v in data.items() if v != "" or k == "service_code"}
    response = client.post("/open311/v2/requests.json", data=data)
    assert response.status_code == code
    (error,) = response.json()
    assert error["code"] == code and text in error["description"]


def test_unknown_request_and_bad_filters(client: TestClient) -> None:
    assert client.get("/open311/v2/requests/999.json").status_code == 404
    assert client.get("/open311/v2/requests/abc.json").status_code == 404
    assert client.get("/open311/v2/requests.json", params={"status": "lost"}).status_code == 422
    bad_date = client.get("/open311/v2/requests.json", params={"start_date": "2026-01-01T00:00"})
    assert bad_date.status_code == 400
    since = client.get("/open311/v2/requests.json", params={"start_date": "2026-01-01T00:00:00Z"})
    assert since.status_code == 200 and since.json() == []
