"""Quality routes: stored scores per source, a source's detail and history, open alerts; the data
steward sees every source, a department clerk only its own, other roles none."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.conftest import Harness
from citybrain.govern.quality import (
    Alert,
    QualityReport,
    SourceQuality,
    record,
)

CONTRACTS = Path(__file__).parents[2] / "src/citybrain/ingest/contracts/sim"
WATER, MARKET = "市自来水公司", "区市场监督管理局"


def _report(water_score: float, alert: bool) -> QualityReport:
    sources = [
        SourceQuality("water_utility", "utility_reading", WATER, 1000,
                      dimensions={"completeness": 0.9, "validity": 0.8}, score=water_score),
        SourceQuality("market_registry", "enterprise_registration", MARKET, 50,
                      dimensions={"completeness": 1.0}, score=99.0),
    ]  # fmt: skip
    alerts = (
        [Alert("water_utility", WATER, "critical", "validity:meter_id", 0.8, 0.95,
               "水表编号有效率80%，低于95%", "meter_id valid in 80%, below 95%")]
        if alert else []
    )  # fmt: skip
    return QualityReport(sources=sources, alerts=alerts)


@pytest.fixture
def quality_api(api: Harness) -> Harness:
    sources = api.workspace.root / "sources"
    sources.mkdir(exist_ok=True)
    for name in ("water_utility", "market_registry"):
        shutil.copy(CONTRACTS / f"{name}.yaml", sources / f"{name}.yaml")
    engine = api.security.ops_engine
    record(engine, _report(70.0, alert=True), at=datetime(2026, 2, 1, tzinfo=UTC))
    record(engine, _report(82.5, alert=True), at=datetime(2026, 3, 1, tzinfo=UTC))
    return api


def test_the_steward_sees_every_source_with_its_latest_score(quality_api: Harness) -> None:
    headers = quality_api.as_role("data_steward")
    page = quality_api.client.get("/api/v1/quality/sources", headers=headers).json()
    assert page["total"] == 2
    water = next(s for s in page["items"] if s["source"] == "water_utility")
    assert (water["score"], water["owner"], water["scores"]["validity"]) == (82.5, WATER, 0.8)
    ordered = quality_api.client.get(
        "/api/v1/quality/sources", params={"sort": "-score"}, headers=headers
    ).json()
    assert [s["source"] for s in ordered["items"]] == ["market_registry", "water_utility"]

    detail = quality_api.client.get("/api/v1/quality/sources/water_utility", headers=headers)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert [p["score"] for p in body["history"]] == [70.0, 82.5]  # trend across runs
    assert body["fields"] == [] and body["trend"] == []  # nothing landed in this lake

    alerts = quality_api.client.get("/api/v1/quality/alerts", headers=headers).json()
    assert alerts["total"] == 1  # the February alert is no longer open
    (alert,) = alerts["items"]
    assert (alert["source"], alert["severity"]) == ("water_utility", "critical")
    assert alert["message_zh"] and alert["message_en"]
    assert alert["raised_at"].startswith("2026-03-01")


def test_a_stream_never_scored_still_shows_its_loss_alert_until_reassessed(
    quality_api: Harness,
) -> None:
    """A stream with no standard table has no score; its loss alert is open all the same."""
    loss = Alert("air_stream", "区生态环境局", "critical", "stream_loss", 450.0, 0.0,
                 "数据流缺失：应收未收 450 条", "450 readings expected, not received")  # fmt: skip
    engine = quality_api.security.ops_engine
    record(engine, QualityReport(sources=[], alerts=[loss]), at=datetime(2026, 3, 2, tzinfo=UTC))
    headers = quality_api.as_role("data_steward")
    alerts = quality_api.client.get("/api/v1/quality/alerts", headers=headers).json()
    assert sorted(a["source"] for a in alerts["items"]) == ["air_stream", "water_utility"]

    # A later assessment of the water source without its alert closes only the water alert.
    record(engine, _report(90.0, alert=False), at=datetime(2026, 3, 3, tzinfo=UTC))
    alerts = quality_api.client.get("/api/v1/quality/alerts", headers=headers).json()
    assert [a["source"] for a in alerts["items"]] == ["air_stream"]


def test_a_department_clerk_sees_only_its_own_sources(quality_api: Harness) -> None:
    name = quality_api.user("clerk", department=WATER, scope=["street:S1"])
    headers = quality_api.headers(name)
    page = quality_api.client.get("/api/v1/quality/sources", headers=headers).json()
    assert [s["source"] for s in page["items"]] == ["water_utility"]
    assert quality_api.client.get("/api/v1/quality/alerts", headers=headers).json()["total"] == 1
    other = quality_api.client.get("/api/v1/quality/sources/market_registry", headers=headers)
    assert other.status_code == 404

    elsewhere = quality_api.headers(quality_api.user("clerk", department="城管局"))
    assert quality_api.client.get("/api/v1/quality/sources", headers=elsewhere).json()["total"] == 0
    assert quality_api.client.get("/api/v1/quality/alerts", headers=elsewhere).json()["items"] == []


@pytest.mark.parametrize("role", ["analyst", "leader", "auditor", "public"])
def test_other_roles_do_not_see_quality(quality_api: Harness, role: str) -> None:
    response = quality_api.client.get("/api/v1/quality/sources", headers=quality_api.as_role(role))
    assert response.status_code == 403


def test_unknown_and_malformed_sources(quality_api: Harness) -> None:
    headers = quality_api.as_role("admin")
    assert (
        quality_api.client.get(
            "/api/v1/quality/sources/no_such_source", headers=headers
        ).status_code
        == 404
    )
    assert quality_api.client.get(
        "/api/v1/quality/sources/..%2Fetc", headers=headers
    ).status_code in (404, 422)
    bad_sort = quality_api.client.get(
        "/api/v1/quality/alerts", params={"sort": "message_zh"}, headers=headers
    )
    assert bad_sort.status_code == 422 and "sortable" in bad_sort.text
