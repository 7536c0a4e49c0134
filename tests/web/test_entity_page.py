"""Entity 360 in a real browser over a tiny city taken through the real pipeline: a firm with its
credit report and reasons, a dwelling found by search, masked per role, unmasked for a purpose."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from web.conftest import assert_contrast, sign_in
from web.pages_city import FullCity, full_city  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LEADER = ("leader", "leader-demo-2024")
ADMIN = ("admin", "admin-demo-2024")


def test_leader_opens_a_firm_by_its_credit_code(
    open_page: Any,
    full_city: FullCity,  # noqa: F811 (the imported fixture)
    artifacts_dir: Path,
) -> None:
    watched = open_page(viewport={"width": 1280, "height": 900})
    page = sign_in(watched, full_city.url, *LEADER, then="/entity")
    page.wait_for_selector("#entity-search")
    assert page.locator("label[for='entity-q']").inner_text() == "名称或编号"
    page.fill("#entity-q", full_city.uscc)
    page.keyboard.press("Enter")  # a credit code opens the firm itself
    page.wait_for_selector("#credit-score")
    assert re.fullmatch(r"信用分 \d{1,3}（[ABCD] 级）", page.locator("#credit-score").inner_text())
    assert page.locator("#credit-reasons li, #entity-credit .empty").count() >= 1
    page.wait_for_selector("#entity-record")
    assert page.locator("#entity-masked").inner_text() == "已脱敏"
    assert page.locator("#unmask").count() == 0  # a leader may read, not unmask
    assert full_city.uscc in page.locator("#entity-record").inner_text()  # a USCC is public
    assert_contrast(page)
    page.screenshot(path=str(artifacts_dir / "web-entity-firm-zh.png"), full_page=True)

    page.click("#lang-switch")
    page.wait_for_selector("#credit-score:has-text('Credit score')")
    assert re.fullmatch(r"Credit score \d{1,3} \(grade [ABCD]\)", page.inner_text("#credit-score"))
    assert page.locator("#entity-masked").inner_text() == "masked"
    page.screenshot(path=str(artifacts_dir / "web-entity-firm-en.png"), full_page=True)
    watched.assert_clean()


def test_admin_finds_a_dwelling_and_unmasks_it_for_a_purpose(
    open_page: Any,
    full_city: FullCity,  # noqa: F811 (the imported fixture)
    artifacts_dir: Path,
) -> None:
    watched = open_page(viewport={"width": 1280, "height": 900})
    page = sign_in(watched, full_city.url, *ADMIN, then="/entity")
    page.wait_for_selector("#entity-search")
    page.select_option("#entity-kind", "dwelling")
    page.fill("#entity-q", full_city.estate)
    page.click("#entity-search")
    page.wait_for_selector("#entity-results a")
    page.locator("#entity-results a").first.click()
    page.wait_for_selector("#entity-record")
    assert page.locator("#entity-masked").inner_text() == "已脱敏"
    masked = page.locator("#entity-record").inner_text()
    assert full_city.estate in masked

    page.click("#unmask")
    page.wait_for_selector("#unmask-dialog[open]")
    page.fill("#unmask-purpose", "核查举报")  # too short: refused in the form, nothing sent
    page.click("#unmask-submit")
    assert page.locator("#unmask-dialog[open]").count() == 1
    page.fill("#unmask-purpose", "核查群租房举报，需要联系房主上门")
    assert_contrast(page)
    page.click("#unmask-submit")
    page.wait_for_selector("#entity-masked:has-text('明文')")
    clear = page.locator("#entity-record").inner_text()
    assert clear != masked
    assert "核查群租房举报" in page.locator("#entity-profile").inner_text()
    page.screenshot(path=str(artifacts_dir / "web-entity-dwelling-unmasked-zh.png"), full_page=True)
    watched.assert_clean()
