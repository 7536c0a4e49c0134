"""The economy topics in a real browser: an enterprise warning and a policy push on their topic
pages with their reasons in Chinese, and the warning on the overview, the map and the case desk —
all from the topics' own declarations, no page code of theirs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from citybrain.api import create_app
from citybrain.api.security.accounts import create_demo_users
from citybrain.cases import CaseSettings, open_cases
from citybrain.core import Workspace
from citybrain.core.catalog import Catalog, DatasetSpec
from citybrain.core.opsdb import connect, session, upgrade
from citybrain.topics.findings import FINDINGS_SCHEMA
from citybrain.topics.runner import findings_table_name
from fixtures.browser import serve_in_thread
from web.conftest import CITY, seed_register, sign_in

pytestmark = pytest.mark.browser


def _reason(signal: str, contribution: float, zh: str, en: str) -> dict[str, Any]:
    return {"signal": signal, "observed": 2.0, "expected": 3.0, "contribution": contribution,
            "text_zh": zh, "text_en": en}  # fmt: skip


def _findings(
    workspace: Workspace, topic: str, subject_type: str, rows: list[dict[str, Any]]
) -> pa.Table:
    full = [
        {"topic": topic, "subject_type": subject_type, "period": "2026-02", "lon": 104.01,
         "lat": 30.515, "grid_id": "G01", "community_id": "C01", "street_id": "S01",
         "model_version": f"{topic}-1", **row}
        for row in rows
    ]  # fmt: skip
    findings = pa.Table.from_pylist(full, schema=FINDINGS_SCHEMA)
    table = findings.append_column("run_id", pa.array(["run-1"] * len(full), pa.string()))
    with workspace.engine() as engine:
        engine.write(table, "topic", findings_table_name(topic), partition_by=["run_id"])
    Catalog(connect(workspace.ops_db_url)).register_dataset(
        DatasetSpec(zone="topic", name=findings_table_name(topic), owner_department="数据局")
    )
    return findings


@pytest.fixture(scope="module")
def economy_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workspace = Workspace.init(tmp_path_factory.mktemp("economy") / "ws", name=CITY)
    upgrade(workspace.ops_db_url)
    with session(connect(workspace.ops_db_url)) as db:
        create_demo_users(db, street="S01")
    seed_register(workspace)
    arrears = _reason(
        "ss_arrears",
        1.6,
        "近3个月中有2个月社保欠缴（有参保职工但未申报缴费基数）",
        "social-security contributions in arrears in 2 of the last 3 months",
    )
    late = _reason(
        "late_filings",
        0.5,
        "近3个月中有1个月逾期申报纳税（次月15日后）",
        "tax filed late (after the 15th of the next month) in 1 of the last 3 months",
    )
    warnings = _findings(workspace, "enterprise_warning", "enterprise", [
        {"subject_id": "E001", "score": 0.72, "level": "medium", "reasons": [arrears, late]},
    ])  # fmt: skip
    open_cases(connect(workspace.ops_db_url), warnings, settings=CaseSettings(), hints={})
    push = _reason(
        "policy",
        1.0,
        "符合「稳岗补贴」条件，建议区人社局会同企业服务中心主动联系",
        "qualifies for the employment-stabilisation subsidy",
    )
    kept = _reason(
        "insured_ratio_6m",
        0.0,
        "参保人数为6个月前的1.05倍（政策要求≥1）",
        "insured staff against 6 months before 1.05 × (the policy asks ≥ 1)",
    )
    _findings(workspace, "policy_push", "enterprise_policy", [
        {"subject_id": "employment_stabilisation:E002", "score": 0.7, "level": "medium",
         "reasons": [push, kept]},
    ])  # fmt: skip
    yield from serve_in_thread(create_app(workspace))


def test_economy_topic_pages_show_a_warning_and_a_push_with_reasons(
    open_page: Any, economy_url: str
) -> None:
    watched = open_page(viewport={"width": 1440, "height": 1000})
    page = sign_in(watched, economy_url, "leader", "leader-demo-2024", then="/topic")
    page.goto(f"{economy_url}/#/topic?name=enterprise_warning")
    page.wait_for_selector("#findings-table tbody td[data-col='reasons']")
    assert page.locator("#topic-title").inner_text() == "企业运行预警"
    reasons = page.locator("#findings-table td[data-col='reasons']").first.inner_text()
    assert "社保欠缴" in reasons and "逾期申报" in reasons
    page.goto(f"{economy_url}/#/topic?name=policy_push")
    page.wait_for_function("document.getElementById('topic-title')?.textContent === '政策主动推送'")
    page.wait_for_selector("#findings-table tbody td[data-col='reasons']")
    reasons = page.locator("#findings-table td[data-col='reasons']").first.inner_text()
    assert "符合「稳岗补贴」条件" in reasons
    watched.assert_clean()


def test_the_warning_is_on_the_overview_the_map_and_the_case_desk(
    open_page: Any, economy_url: str
) -> None:
    watched = open_page(viewport={"width": 1440, "height": 1000})
    page = sign_in(watched, economy_url, "leader", "leader-demo-2024")
    tile = page.locator("#tile-enterprise_warning_month")
    tile.wait_for()
    assert tile.locator(".label").inner_text() == "本月预警企业"
    page.click("#nav a[data-path='/map']")
    page.wait_for_selector("main[data-ready='1'] #map canvas")
    labels = page.locator(".layer-list label").all_inner_texts()
    assert "企业运行预警" in [label.split("\n")[0] for label in labels]
    page.goto(f"{economy_url}/#/desk")
    page.wait_for_selector("#desk-mine")
    page.uncheck("#desk-mine")  # the case is the street office's, not in the leader's own queue
    page.wait_for_selector("#case-queue:not([data-loading]) tbody a.case-link")
    page.locator("#case-queue tbody a.case-link").first.click()
    page.wait_for_selector("#case-evidence")
    evidence = page.locator("#case-evidence").inner_text()
    assert "社保欠缴" in evidence and "逾期申报" in evidence
    watched.assert_clean()
