"""Entity 360 in a real browser over a tiny city taken through the real pipeline: a firm with its
credit report and reasons, a dwelling found by search, masked per role, unmasked for a purpose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from citybrain.api.credit import NOT_GRADED as NOT_GRADED_WHY
from web.conftest import assert_contrast, sign_in
from web.pages_city import FullCity, full_city  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LEADER = ("leader", "leader-demo-2024")
ADMIN = ("admin", "admin-demo-2024")
WHY_ZH, WHY_EN = NOT_GRADED_WHY["topic_not_run"]
# a graded firm's report as the API gives it once the credit topic ran (tests/api checks that)
GRADED = {
    "name": "锦城科技有限公司", "status": "存续", "legal_rep_name": "张**",
    "industry_code": "I6510", "graded": True, "score": 72, "grade": "B", "period": "2026-06",
    "reasons": [{"signal": "penalty", "points": -5, "text_zh": "受到行政处罚1次",
                 "text_en": "1 administrative penalties"}],
    "not_graded": None, "method": "守信通 credit topic credit-1",
}  # fmt: skip


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
    # the pipeline-built city has not run the credit topic: 未评级 and why, never a score
    page.wait_for_selector("#credit-not-graded")
    assert page.locator("#credit-score").inner_text() == "未评级"
    assert page.locator("#credit-not-graded").inner_text() == WHY_ZH
    assert page.locator("#credit-reasons").count() == 0
    page.wait_for_selector("#entity-record")
    assert page.locator("#entity-masked").inner_text() == "已脱敏"
    assert page.locator("#unmask").count() == 0  # a leader may read, not unmask
    assert full_city.uscc in page.locator("#entity-record").inner_text()  # a USCC is public
    assert_contrast(page)
    page.screenshot(path=str(artifacts_dir / "web-entity-firm-zh.png"), full_page=True)

    page.click("#lang-switch")
    page.wait_for_selector("#credit-score:has-text('Not graded')")
    assert page.inner_text("#credit-not-graded") == WHY_EN
    assert page.locator("#entity-masked").inner_text() == "masked"
    page.screenshot(path=str(artifacts_dir / "web-entity-firm-en.png"), full_page=True)

    # once graded, the grade shows with the month it is as of and its reasons
    page.route(
        "**/credit-report", lambda route: route.fulfill(json=GRADED | {"uscc": full_city.uscc})
    )
    page.reload()
    page.wait_for_selector("#credit-reasons li")
    assert page.inner_text("#credit-score") == "Credit score 72 (grade B)"
    assert page.inner_text("#credit-period").strip() == "(as of 2026-06)"
    assert page.inner_text("#credit-reasons") == "-5 · 1 administrative penalties"
    assert page.locator("#credit-not-graded").count() == 0
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
