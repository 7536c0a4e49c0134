import re
from pathlib import Path

from fastapi.testclient import TestClient

from citybrain.api import create_app
from citybrain.core import Workspace
from citybrain.core.opsdb import upgrade


def make_client(tmp_path: Path) -> TestClient:
    workspace = Workspace.init(tmp_path / "ws", name="示例高新区")
    upgrade(workspace.ops_db_url)
    return TestClient(create_app(workspace))


def test_health(tmp_path: Path) -> None:
    response = make_client(tmp_path).get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["workspace"] == "示例高新区"


def test_overview_of_an_empty_city(tmp_path: Path) -> None:
    body = make_client(tmp_path).get("/api/v1/overview").json()
    assert body == {
        "city": "示例高新区",
        "systems_connected": 0,
        "records_aggregated": 0,
        "datasets": 0,
    }


def test_web_app_is_served_at_the_root(tmp_path: Path) -> None:
    response = make_client(tmp_path).get("/")
    assert response.status_code == 200
    assert "城市数字大脑" in response.text
    # Works on an isolated network: nothing is loaded from another host.
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', response.text)
