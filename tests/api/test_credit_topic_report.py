"""The credit report shows the 守信通 credit topic's grade once the topic has run."""

from __future__ import annotations

import numpy as np

from api.conftest import Harness
from citybrain.core.catalog import Catalog
from citybrain.topics import get_topic
from citybrain.topics.runner import run_topic
from topics.builtin.credit_city import fill_credit_city


def test_report_shows_the_topic_grade_and_reasons(api: Harness) -> None:
    city = fill_credit_city(api.workspace, n=300)
    headers = api.as_role("public")
    listed = city.uscc[int(np.flatnonzero(city.dishonest)[0])]
    before = api.client.get(f"/api/v1/enterprises/{listed}/credit-report", headers=headers)
    assert before.status_code == 200, before.text
    assert (before.json()["grade"], before.json()["not_graded"]["code"]) == (None, "topic_not_run")

    catalog = Catalog.open(api.workspace.ops_db_url)
    with api.workspace.engine() as engine:
        run_topic(get_topic("credit"), api.workspace, engine, catalog)
    catalog.close()

    report = api.client.get(f"/api/v1/enterprises/{listed}/credit-report", headers=headers).json()
    assert report["method"].startswith("守信通 credit topic credit-1")
    assert report["graded"] is True and report["not_graded"] is None
    assert report["grade"] == "D" and report["score"] <= 40
    assert report["period"] == "2025-12"
    signals = [r["signal"] for r in report["reasons"]]
    assert "dishonest_judgment" in signals
    assert all(r["text_zh"] and r["text_en"] for r in report["reasons"])
    assert report["legal_rep_name"] == "张**"
    grades = {
        api.client.get(f"/api/v1/enterprises/{u}/credit-report", headers=headers).json()["grade"]
        for u in city.uscc[:40]
    }
    assert len(grades) >= 2  # not one grade for everyone
