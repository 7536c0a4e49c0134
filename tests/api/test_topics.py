"""Topic routes: installed topics with titles, readiness, map layers and overview tiles."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
import pytest

from api.conftest import Harness
from citybrain.api.deps import get_installed_topics
from citybrain.core.catalog import Catalog, ColumnInfo, DatasetSpec
from citybrain.topics import FINDINGS_SCHEMA, InputSpec, MapLayer, OverviewTile, Topic, TopicContext


class Crowding(Topic):
    name = "crowding"
    title_zh = "群租房"
    title_en = "Group rental"
    subject_type = "dwelling"
    inputs: ClassVar[tuple[InputSpec, ...]] = (
        InputSpec(table="utility_reading", columns=("kwh", "period")),
        InputSpec(table="delivery"),
    )

    def run(self, ctx: TopicContext) -> pa.Table:
        return FINDINGS_SCHEMA.empty_table()

    def map_layers(self) -> list[MapLayer]:
        return [MapLayer(id="crowding-flats", title_zh="疑似群租", title_en="Suspected", kind="h3")]

    def overview_tiles(self) -> list[OverviewTile]:
        return [OverviewTile(id="crowding-open", title_zh="在办群租", title_en="Open cases")]


@pytest.fixture
def topics_api(api: Harness) -> Harness:
    api.app.dependency_overrides[get_installed_topics] = lambda: {"crowding": Crowding}
    Catalog(api.security.ops_engine).register_dataset(
        DatasetSpec(zone="std", name="utility_reading", columns=(ColumnInfo(name="kwh", type="d"),))
    )
    return api


def test_topics_list_readiness_layers_and_tiles(topics_api: Harness) -> None:
    got = topics_api.client.get("/api/v1/topics", headers=topics_api.as_role("leader")).json()
    (topic,) = got
    assert (topic["title_zh"], topic["title_en"]) == ("群租房", "Group rental")
    assert topic["readiness"]["ready"] is False
    assert topic["readiness"]["missing_tables"] == ["std.delivery"]
    assert topic["readiness"]["missing_columns"] == {"std.utility_reading": ["period"]}
    assert topic["map_layers"][0]["kind"] == "h3"
    assert topic["overview_tiles"][0]["id"] == "crowding-open"
    assert topic["has_findings"] is False


def test_one_topic_and_an_unknown_one(topics_api: Harness) -> None:
    headers = topics_api.as_role("analyst")
    assert topics_api.client.get("/api/v1/topics/crowding", headers=headers).status_code == 200
    assert topics_api.client.get("/api/v1/topics/nothing", headers=headers).status_code == 404
    assert topics_api.client.get("/api/v1/topics/Bad-Name", headers=headers).status_code == 422
    clerk = topics_api.as_role("clerk", ["street:S1"])
    assert topics_api.client.get("/api/v1/topics", headers=clerk).status_code == 403


def test_the_latest_evaluation_is_served_once_stored(topics_api: Harness) -> None:
    from citybrain.topics import Evaluation
    from citybrain.topics.evaluation_store import save_evaluation

    headers = topics_api.as_role("leader")
    url = "/api/v1/topics/crowding/evaluation"
    missing = topics_api.client.get(url, headers=headers)
    assert missing.status_code == 200 and missing.json() is None  # not evaluated yet
    baseline = {"threshold": {"precision": 0.5, "recall": 0.6, "f1": 0.55}}
    stored = Evaluation(
        topic="crowding", precision=0.91, recall=0.8, f1=0.85, support=40, baselines=baseline
    )
    save_evaluation(topics_api.workspace, stored, model_version="m1", run_id="r1")
    got = topics_api.client.get(url, headers=headers).json()
    assert (got["precision"], got["baselines"]["threshold"]["f1"]) == (0.91, 0.55)
    assert got["extra"]["model_version"] == "m1"
    assert (
        topics_api.client.get("/api/v1/topics/nothing/evaluation", headers=headers).status_code
        == 404
    )
    assert topics_api.client.get(url, headers=topics_api.as_role("public")).status_code == 403
