"""Data governance in a real browser, over a tiny generated city taken through the real pipeline:
the catalog, a lineage graph, quality scores and alerts, load runs with manifests, quarantine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from web.conftest import assert_contrast, sign_in
from web.pages_city import FINDINGS, FullCity, full_city  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN = ("admin", "admin-demo-2024")
LEADER = ("leader", "leader-demo-2024")


@pytest.fixture
def governance_url(full_city: FullCity) -> str:  # noqa: F811 (the imported fixture)
    return full_city.url


def loaded(page: Any, table: str) -> None:
    page.wait_for_selector(f"#{table}[data-total]:not([data-loading])")


def test_admin_walks_catalog_lineage_loads_and_quarantine(
    open_page: Any,
    governance_url: str,
    full_city: FullCity,  # noqa: F811 (the imported fixture)
    artifacts_dir: Path,
) -> None:
    watched = open_page(viewport={"width": 1440, "height": 1000})
    page = sign_in(watched, governance_url, *ADMIN, then="/governance")
    loaded(page, "catalog-table")
    assert int(page.get_attribute("#catalog-table", "data-total") or 0) > 50  # every system × zones
    assert page.locator("nav.tabs a[aria-current='page']").inner_text() == "数据目录"
    page.select_option("#catalog-zone", "raw")
    assert full_city.raw_datasets > 20
    raw = f"#catalog-table[data-total='{full_city.raw_datasets}']:not([data-loading])"
    page.wait_for_selector(raw)
    assert set(page.locator("#catalog-table td[data-col='zone']").all_inner_texts()) == {"原始区"}
    page.click("#catalog-table button[data-sort='rows']")  # fewest records first
    page.wait_for_selector("#catalog-table[data-sort='rows']:not([data-loading])")
    page.click("#catalog-table button[data-sort='rows']")  # most records first
    page.wait_for_selector("#catalog-table[data-sort='-rows']:not([data-loading])")
    rows = page.locator("#catalog-table td[data-col='rows']").all_inner_texts()
    counts = [int(r.replace(",", "")) for r in rows]
    assert counts == sorted(counts, reverse=True) and counts[0] > 0
    page.screenshot(path=str(artifacts_dir / "web-governance-catalog-zh.png"), full_page=True)

    # A raw dataset's lineage: its source delivery upstream, drawn as a graph and listed.
    name = page.locator("#catalog-table td[data-col='name'] button").first.inner_text()
    page.locator("#catalog-table td[data-col='name'] button").first.click()
    page.wait_for_selector("#lineage-chart svg")
    edges = page.locator("#lineage-edges tbody tr").all_inner_texts()
    assert any(f"source/{name}\traw/{name}" in edge for edge in edges)
    # The topic's findings: their std input upstream.
    page.select_option("#lineage-dataset", f"topic/{FINDINGS}")
    page.wait_for_selector(f"#lineage-edges td:has-text('topic/{FINDINGS}')")
    chain = page.locator("#lineage-edges tbody tr").all_inner_texts()
    edges = {tuple(row.split("\t")[:2]) for row in chain}  # source → raw → std → topic
    into_std = {up for up, down in edges if down == "std/utility_reading"}
    assert ("std/utility_reading", f"topic/{FINDINGS}") in edges and into_std
    raw = next(up for up in into_std if up.startswith("raw/"))
    assert (raw.replace("raw/", "source/"), raw) in edges
    assert int(page.get_attribute("#lineage-chart", "data-nodes") or 0) == len(
        {node for edge in edges for node in edge}
    )
    assert_contrast(page)
    page.screenshot(path=str(artifacts_dir / "web-governance-lineage-zh.png"), full_page=True)

    # Quality: every standardised source scored, lowest first; the alerts the scores raised.
    page.click("nav.tabs a[data-tab='quality']")
    loaded(page, "quality-table")
    loaded(page, "quality-alerts")
    assert int(page.get_attribute("#quality-table", "data-total") or 0) > 10
    scores = [
        float(v) for v in page.locator("#quality-table td[data-col='score']").all_inner_texts()
    ]
    assert scores == sorted(scores) and 0 < scores[0] <= 100
    alerts = int(page.get_attribute("#quality-alerts", "data-total") or 0)  # none in the tiny city
    if alerts:
        assert page.locator("#quality-alerts td[data-col='message']").first.inner_text()
    else:
        assert page.locator("#quality-alerts td.empty").inner_text() == "暂无质量告警。"
    assert_contrast(page)
    page.screenshot(path=str(artifacts_dir / "web-governance-quality-zh.png"), full_page=True)

    # Load runs; the parcel deliveries quarantined rows with a wrong field count.
    page.click("nav.tabs a[data-tab='loads']")
    loaded(page, "loads-table")
    total = int(page.get_attribute("#loads-table", "data-total") or 0)
    assert total > 20 and page.locator("#loads-table tbody tr").count() == 20  # paged by 20
    first_page = page.locator("#loads-table td[data-col='load_id']").all_inner_texts()
    page.click("#governance-loads button[data-pager='next']")
    page.wait_for_selector("#loads-table[data-page='2']:not([data-loading])")
    second_page = page.locator("#loads-table td[data-col='load_id']").all_inner_texts()
    assert second_page and not set(first_page) & set(second_page)
    page.select_option("#loads-status", "succeeded")
    loaded(page, "loads-table")
    button = page.locator("#loads-table button[data-quarantine]").first
    load_id = button.get_attribute("data-quarantine")
    page.click(f"#loads-table button[data-manifest='{load_id}']")
    page.wait_for_selector("#manifest")
    assert page.locator("#manifest-title").evaluate("e => e === document.activeElement")
    assert "读取 = 入库 + 隔离" in page.locator("#load-detail").inner_text()
    button.click()
    loaded(page, "quarantine-table")
    reasons = page.locator("#quarantine-table td[data-col='reason']").all_inner_texts()
    assert reasons and all(reasons)
    assert_contrast(page)
    page.screenshot(path=str(artifacts_dir / "web-governance-quarantine-zh.png"), full_page=True)

    page.click("#lang-switch")
    page.wait_for_selector("nav.tabs a[aria-current='page']:has-text('Loads and quarantine')")
    loaded(page, "loads-table")
    assert page.locator("#loads-table th").first.inner_text().startswith("Load")
    watched.assert_clean()


def test_leader_reads_the_catalog_but_no_quarantined_rows(
    open_page: Any, governance_url: str
) -> None:
    watched = open_page()
    page = sign_in(watched, governance_url, *LEADER, then="/governance")
    loaded(page, "catalog-table")
    page.click("nav.tabs a[data-tab='loads']")
    loaded(page, "loads-table")
    assert page.locator("#loads-table button[data-manifest]").count() > 0
    assert page.locator("#loads-table button[data-quarantine]").count() == 0
    page.click("nav.tabs a[data-tab='quality']")  # quality goes to stewards and owners
    page.wait_for_selector("#quality-not-yours")
    watched.assert_clean()


def test_a_clerk_is_told_the_page_is_not_theirs(open_page: Any, governance_url: str) -> None:
    watched = open_page()
    page = sign_in(watched, governance_url, "clerk", "clerk-demo-2024", then="/desk")
    page.goto(f"{governance_url}/#/governance")
    page.wait_for_selector("main p.card[role='status']")
    assert "无权" in page.locator("main").inner_text()
    watched.assert_clean()
