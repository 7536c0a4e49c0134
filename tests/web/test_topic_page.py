"""A topic's page in a real browser, drawn from /api/v1/topics alone: findings with reasons (paged,
sorted, filtered by area), its map layer, the trend over runs, evaluation and contributed panels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from citybrain.topics import get_topic
from web.conftest import assert_contrast, sign_in
from web.pages_city import serve_pages_city

pytestmark = pytest.mark.browser

LEADER = ("leader", "leader-demo-2024")


@pytest.fixture(scope="module")
def topic_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_pages_city(tmp_path_factory.mktemp("topic"))


def subjects(page: Any) -> list[str]:
    return page.locator("#findings-table td[data-col='subject_id']").all_inner_texts()


def wait_total(page: Any, total: int) -> None:
    page.wait_for_selector(f"#findings-table[data-total='{total}']:not([data-loading])")
    assert len(subjects(page)) == total


def test_leader_reads_a_topic_page(open_page: Any, topic_url: str, artifacts_dir: Path) -> None:
    watched = open_page(viewport={"width": 1440, "height": 1000})
    page = sign_in(watched, topic_url, *LEADER, then="/topic")
    page.click("#topic-list a:has-text('群租房')")
    page.wait_for_selector("#findings-table tbody td[data-col='subject_id']")
    assert page.locator("#topic-title").inner_text() == "群租房"
    assert page.locator("#fig-findings .value").inner_text() == "3"
    assert page.locator("#fig-high .value").inner_text() == "1"
    # Highest score first, each finding with its reason in Chinese.
    scores = page.locator("#findings-table td[data-col='score']").all_inner_texts()
    assert scores == ["0.95", "0.70", "0.60"]
    assert (
        "月用电900度" in page.locator("#findings-table td[data-col='reasons']").first.inner_text()
    )
    assert (
        "科技园街道 / 锦城社区 / 一网格"
        in page.locator("#findings-table td[data-col='area']").first.inner_text()
    )

    page.click("#findings-table button[data-sort='score']")  # now ascending
    page.wait_for_selector("#findings-table[data-sort='score']:not([data-loading])")
    assert page.get_attribute("#findings-table th:has(button[data-sort='score'])", "aria-sort") == (
        "ascending"
    )
    assert page.locator("#findings-table td[data-col='score']").all_inner_texts() == [
        "0.60", "0.70", "0.95",
    ]  # fmt: skip
    page.select_option("#filter-level", "high")
    wait_total(page, 1)
    page.select_option("#filter-level", "")
    page.select_option("#filter-area", "community_id:C02")  # 天府社区: nothing flagged there
    wait_total(page, 0)
    page.select_option("#filter-area", "community_id:C01")
    wait_total(page, 3)

    # The trend over the two runs (5 findings, then 3) and the small map of the topic's layer.
    page.wait_for_selector("#trend-chart svg")
    assert "2" in (page.locator("#trend-chart").get_attribute("aria-label") or "")
    page.wait_for_selector("#topic-map canvas")
    assert page.locator("#topic-map").get_attribute("data-features") == "3"
    # The stored evaluation against truth, with its baseline side by side.
    page.wait_for_selector("#evaluation-table")
    evaluation = page.locator("#evaluation-table").inner_text()
    assert "electricity_threshold" in evaluation and "真值 40" in evaluation
    panels = get_topic("group_rental").page_panels()
    assert panels  # the topic contributes panels through the plugin API; each is drawn
    for panel in panels:
        assert page.locator(f"#panel-{panel.id} h2").inner_text() == panel.title_zh
        if panel.kind == "breakdown":
            page.wait_for_selector(f"#panel-{panel.id} svg")
        else:
            assert page.locator(f"#panel-{panel.id} .note").inner_text() == panel.text_zh
    page.wait_for_timeout(300)  # let the map draw
    assert_contrast(page)
    page.screenshot(path=str(artifacts_dir / "web-topic-leader-zh.png"), full_page=True)

    page.click("#lang-switch")
    page.wait_for_function("document.getElementById('topic-title')?.textContent === 'Group rental'")
    page.wait_for_selector("#findings-table tbody td[data-col='reasons']")
    reasons = page.locator("#findings-table td[data-col='reasons']").first.inner_text()
    assert "900 kWh a month" in reasons
    assert (
        page.locator("#findings-table th button[data-sort='score']")
        .inner_text()
        .startswith("Score")
    )
    page.screenshot(path=str(artifacts_dir / "web-topic-leader-en.png"), full_page=True)
    watched.assert_clean()


def test_a_topic_page_needs_topics_read(open_page: Any, topic_url: str) -> None:
    watched = open_page()
    page = sign_in(watched, topic_url, "clerk", "clerk-demo-2024", then="/desk")
    page.goto(f"{topic_url}/#/topic?name=group_rental")
    page.wait_for_selector("main p.card[role='status']")
    assert page.locator("#findings-table").count() == 0
    watched.assert_clean()
