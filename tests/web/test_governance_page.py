"""Data governance in a real browser, over a tiny generated city's file deliveries ingested by the
real pipeline: the catalog, a lineage graph, quality, load runs with manifests, quarantined rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from web.conftest import assert_contrast, sign_in
from web.pages_city import FINDINGS, serve_pages_city

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN = ("admin", "admin-demo-2024")
LEADER = ("leader", "leader-demo-2024")


@pytest.fixture(scope="module")
def governance_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_pages_city(tmp_path_factory.mktemp("governance"), ingest=True)


def loaded(page: Any, table: str) -> None:
    page.wait_for_selector(f"#{table}[data-total]:not([data-loading])")


def test_admin_walks_catalog_lineage_loads_and_quarantine(
    open_page: Any, governance_url: str, artifacts_dir: Path
) -> None:
    watched = open_page(viewport={"width": 1440, "height": 1000})
    page = sign_in(watched, governance_url, *ADMIN, then="/governance")
    loaded(page, "catalog-table")
    assert int(page.get_attribute("#catalog-table", "data-total") or 0) > 50  # 28 systems × zones
    assert page.locator("nav.tabs a[aria-current='page']").inner_text() == "数据目录"
    page.select_option("#catalog-zone", "raw")
    page.wait_for_selector("#catalog-table[data-total='28']:not([data-loading])")
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
    chain = page.locator("#lineage-edges").inner_text()
    assert "source/power_grid\traw/power_grid" in chain  # source → raw → std → topic
    assert "raw/power_grid\tstd/utility_reading" in chain
    assert "std/utility_reading\ttopic/" in chain
    assert page.get_attribute("#lineage-chart", "data-nodes") == "4"
    assert_contrast(page)
    page.screenshot(path=str(artifacts_dir / "web-governance-lineage-zh.png"), full_page=True)

    page.click("nav.tabs a[data-tab='quality']")
    page.wait_for_selector("#governance-quality")
    quality = page.locator("#governance-quality").inner_text()
    assert "暂不可用" in quality or page.locator("#quality-table").count() == 1
    assert_contrast(page)

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
    watched.assert_clean()


def test_a_clerk_is_told_the_page_is_not_theirs(open_page: Any, governance_url: str) -> None:
    watched = open_page()
    page = sign_in(watched, governance_url, "clerk", "clerk-demo-2024", then="/desk")
    page.goto(f"{governance_url}/#/governance")
    page.wait_for_selector("main p.card[role='status']")
    assert "无权" in page.locator("main").inner_text()
    watched.assert_clean()
