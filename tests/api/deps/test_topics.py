"""``KnownTopic``: a path's topic exists when it is installed or has findings in the lake (it ran
and was uninstalled since); otherwise 404. Dependencies swapped with ``dependency_overrides``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from citybrain.api.deps import KnownTopic, Lake, get_installed_topics, get_lake
from citybrain.core import Workspace
from citybrain.topics import Topic


class Installed(Topic):
    name = "installed"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    workspace = Workspace.init(tmp_path / "ws")
    (workspace.lake / "topic" / "retired_findings").mkdir(parents=True)
    app = FastAPI()

    @app.get("/topics/{topic}")
    async def probe(topic: KnownTopic) -> str:
        return topic

    app.dependency_overrides[get_installed_topics] = lambda: {"installed": Installed}
    app.dependency_overrides[get_lake] = lambda: Lake(workspace)
    with TestClient(app) as test_client:
        yield test_client


def test_an_installed_topic_and_one_that_ran_before_it_was_uninstalled(client: TestClient) -> None:
    assert client.get("/topics/installed").json() == "installed"
    assert client.get("/topics/retired").json() == "retired"


def test_an_unknown_topic_is_404_with_its_name(client: TestClient) -> None:
    response = client.get("/topics/nothing")
    assert response.status_code == 404
    assert "nothing" in response.json()["detail"]


def test_a_malformed_name_is_refused_before_any_lookup(client: TestClient) -> None:
    assert client.get("/topics/..%2Fetc").status_code in (404, 422)
    assert client.get("/topics/Upper").status_code == 422
