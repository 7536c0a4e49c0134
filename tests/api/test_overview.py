"""The overview's figures: the public headline, and per topic (findings, trend, freshness, cases,
tile values) inside the caller's area."""

from __future__ import annotations

from datetime import timedelta

from api.conftest import Harness
from api.scoped_data import findings_table, write_findings
from citybrain.cases import Case
from citybrain.core.catalog import Catalog, DatasetSpec
from citybrain.core.opsdb import session

TOPIC = "group_rental"  # installed: it contributes a tile


def _seed(api: Harness) -> None:
    rows = [
        {"subject_id": "D1", "period": "2026-01", "street_id": "S1"},
        {"subject_id": "D2", "period": "2026-02", "street_id": "S1"},
        {"subject_id": "D3", "period": "2026-02", "street_id": "S1", "level": "medium"},
        {"subject_id": "D4", "period": "2026-02", "street_id": "S2"},
    ]
    table = findings_table([r | {"topic": TOPIC, "subject_type": "dwelling"} for r in rows])
    write_findings(api.workspace, table, topic=TOPIC)
    catalog = Catalog(api.security.ops_engine)
    catalog.register_dataset(DatasetSpec(zone="topic", name=f"{TOPIC}_findings"))
    catalog.record_stats(("topic", f"{TOPIC}_findings"), rows=4, run_id="run-1",
                         recorded_at=api.clock())  # fmt: skip
    due = api.clock() - timedelta(hours=1)
    with session(api.security.ops_engine) as db:
        for subject, street, status, sla in (("D1", "S1", "dispatched", due),
                                             ("D2", "S1", "accepted", None),
                                             ("D4", "S2", "dispatched", due),
                                             ("D5", "S1", "closed", due)):  # fmt: skip
            db.add(Case(topic=TOPIC, subject_type="dwelling", subject_id=subject, period="2026-02",
                        street_id=street, status=status, sla_due_at=sla))  # fmt: skip


def _figures(api: Harness, headers: dict[str, str]) -> dict[str, object]:
    response = api.client.get("/api/v1/overview/topics", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = {t["topic"]: t for t in response.json()}[TOPIC]
    return body


def test_topic_figures_and_tile_values_city_wide(api: Harness) -> None:
    _seed(api)
    figures = _figures(api, api.as_role("leader"))
    assert figures["findings"] == 4
    assert figures["by_period"] == {"2026-01": 1, "2026-02": 3}
    assert figures["by_level"] == {"high": 3, "medium": 1}
    assert figures["latest_period"] == "2026-02"
    assert figures["last_run_at"] is not None
    assert (figures["open_cases"], figures["overdue_cases"]) == (3, 2)
    (tile,) = figures["tiles"]  # type: ignore[misc]
    assert tile["id"] == "group_rental_flagged_month"
    assert (tile["value"], tile["period"]) == (3, "2026-02")
    assert tile["unit_zh"] == "套"


def test_topic_figures_inside_the_callers_street(api: Harness) -> None:
    _seed(api)
    figures = _figures(api, api.as_role("clerk", ["street:S1"]))
    assert figures["findings"] == 3
    assert (figures["open_cases"], figures["overdue_cases"]) == (2, 1)
    assert figures["tiles"][0]["value"] == 2  # type: ignore[index]
    nowhere = _figures(api, api.as_role("clerk", ["street:S9"]))
    assert nowhere["findings"] == 0 and nowhere["tiles"][0]["value"] == 0  # type: ignore[index]


def test_topic_figures_need_findings_reading(api: Harness) -> None:
    assert api.client.get("/api/v1/overview/topics").status_code == 401
    assert (
        api.client.get("/api/v1/overview/topics", headers=api.as_role("auditor")).status_code == 403
    )
