"""The case desk in a real browser: a clerk's queue, a case worked end to end, and its history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from web.conftest import assert_contrast, sign_in, watch
from web.pages_city import serve_pages_city

pytestmark = pytest.mark.browser

CLERK = ("clerk", "clerk-demo-2024")


@pytest.fixture(scope="module")
def desk_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_pages_city(tmp_path_factory.mktemp("desk"))


def open_first(page: Any, status: str) -> None:
    """Open the first case of my queue in ``status`` (each test starts from the state it needs:
    under xdist the tests of this module may share a city or not)."""
    page.select_option("#desk-status", status)
    page.wait_for_selector("#case-queue:not([data-loading]) tbody a.case-link")
    page.locator("#case-queue tbody a.case-link").first.click()
    page.wait_for_selector(f"#case-status[data-status='{status}']")


def act(page: Any, action: str, *, comment: str = "", outcome: str | None = None) -> None:
    """Press an action's button, fill its dialog and submit; wait for the dialog to close."""
    page.click(f"#case-actions button[data-action='{action}']")
    page.wait_for_selector("#action-dialog[open]")
    if outcome:
        page.select_option("#action-outcome", outcome)
    if comment:
        page.fill("#action-comment", comment)
    assert_contrast(page)
    page.click("#action-submit")
    page.wait_for_selector("#action-dialog", state="hidden")


def test_clerk_works_a_case_from_the_queue_to_closed(
    open_page: Any, desk_url: str, artifacts_dir: Path
) -> None:
    watched = open_page(viewport={"width": 1440, "height": 900})
    page = sign_in(watched, desk_url, *CLERK, then="/desk")
    page.wait_for_selector("#case-queue tbody a.case-link")
    assert page.locator("#case-queue").get_attribute("data-total") == "3"
    assert page.locator("h2.page-title").inner_text() == "案件工作台"
    # Nearest deadline first; every dispatched case shows a running countdown.
    badges = page.locator("#case-queue td[data-col='sla_due_at'] .sla")
    assert badges.count() == 3 and all("剩余" in b for b in badges.all_inner_texts())
    assert (
        page.locator("#case-queue th[aria-sort='ascending'] button").get_attribute("data-sort")
        == "sla_due_at"
    )
    assert_contrast(page)
    page.screenshot(path=str(artifacts_dir / "web-desk-queue-zh.png"), full_page=True)

    open_first(page, "dispatched")  # the filter narrows the queue to one status
    page.go_back()
    page.wait_for_selector("#case-queue:not([data-loading]) tbody a.case-link")
    statuses = page.locator("#case-queue td[data-col='status']").all_inner_texts()
    assert statuses and set(statuses) == {"派发"}
    page.locator("#case-queue tbody a.case-link").first.click()
    page.wait_for_selector("#case-status[data-status='dispatched']")
    title = page.locator("#case-title").inner_text()
    assert "月用电900度" in page.locator("#case-evidence").inner_text()
    assert page.locator("#case-actions button").all_inner_texts() == [
        "签收", "退回", "添加备注",
    ]  # fmt: skip

    act(page, "accept")
    page.wait_for_selector("#case-status[data-status='accepted']")
    act(page, "start")
    page.wait_for_selector("#case-status[data-status='in_progress']")
    act(page, "attach", comment="已上门核查，住有九人")
    page.wait_for_selector("#case-history td:has-text('已上门核查，住有九人')")
    act(page, "close", comment="确认群租，已责令整改", outcome="confirmed")
    page.wait_for_selector("#case-status[data-status='closed']")
    assert page.locator("#case-status").inner_text() == "办结"
    facts = page.locator("#case-facts").inner_text()
    assert "属实" in facts
    history = page.locator("#case-history tbody tr").all_inner_texts()
    assert [row.split("\t")[2] for row in history] == [
        "新建", "派发", "签收", "开始处置", "添加备注", "办结",
    ]  # fmt: skip
    assert "处置中 → 办结" in history[-1]
    assert page.locator("#case-actions button[data-action='close']").count() == 0
    assert_contrast(page)
    page.screenshot(path=str(artifacts_dir / "web-case-closed-zh.png"), full_page=True)

    page.click("#lang-switch")
    page.wait_for_function("document.getElementById('case-status')?.textContent === 'Closed'")
    assert page.locator("#case-title").inner_text() == title
    assert "Confirmed" in page.locator("#case-facts").inner_text()
    page.screenshot(path=str(artifacts_dir / "web-case-closed-en.png"), full_page=True)

    page.click("text=← Back to my queue")
    page.wait_for_selector("#case-queue:not([data-loading])")
    page.select_option("#desk-status", "")
    page.wait_for_selector("#case-queue[data-total='2']:not([data-loading])")  # closed: gone
    watched.assert_clean()


def test_a_return_needs_a_reason_and_a_stale_version_is_refused(
    open_page: Any, desk_url: str
) -> None:
    watched = open_page()
    page = sign_in(watched, desk_url, *CLERK, then="/desk")
    open_first(page, "dispatched")
    page.click("#case-actions button[data-action='return']")
    page.click("#action-submit")  # no reason given: the browser keeps the dialog open
    assert page.locator("#action-dialog[open]").count() == 1
    assert page.evaluate("document.activeElement.id") == "action-comment"
    page.click("#action-cancel")

    # Someone else accepts the case meanwhile: acting on the old version is refused, not lost.
    case_id = page.evaluate("new URLSearchParams(location.hash.split('?')[1]).get('id')")
    page.click("#case-actions button[data-action='accept']")  # the form is open while …
    act_elsewhere(page, desk_url, int(case_id))  # … the case is accepted in another tab
    page.click("#action-submit")
    page.wait_for_function("document.getElementById('action-error').textContent !== ''")
    assert "已被他人更新" in page.locator("#action-error").inner_text()
    page.click("#action-cancel")  # closing the refused form shows the case as it is now
    page.wait_for_selector("#case-status[data-status='accepted']")
    assert len(watched.failed) == 1 and watched.failed[0].startswith("409 ")  # the refusal only
    assert watched.errors == [e for e in watched.errors if "409" in e]


def act_elsewhere(page: Any, base_url: str, case_id: int) -> None:
    """The same clerk, in another tab of the same browser, accepts the case first."""
    then = f"/case%3Fid%3D{case_id}"  # encoded: the login page's next= holds a query of its own
    other = sign_in(watch(page.context.new_page()), base_url, *CLERK, then=then)
    other.wait_for_selector("#case-status[data-status='dispatched']")
    other.click("#case-actions button[data-action='accept']")
    other.click("#action-submit")
    other.wait_for_selector("#case-status[data-status='accepted']")
    other.close()


def test_keyboard_only_request_an_extension(open_page: Any, desk_url: str) -> None:
    """Tab to a case, open it with Enter, and ask for more time without touching the mouse."""
    watched = open_page()
    page = sign_in(watched, desk_url, *CLERK, then="/desk")
    page.wait_for_selector("#case-queue tbody a.case-link")
    page.select_option("#desk-status", "dispatched")
    page.wait_for_selector("#case-queue:not([data-loading]) tbody a.case-link")
    tab_to(page, "#case-queue a.case-link")
    page.keyboard.press("Enter")
    page.wait_for_selector("#case-status[data-status='dispatched']")
    tab_to(page, "#case-actions button[data-action='accept']")
    page.keyboard.press("Enter")
    page.wait_for_selector("#action-dialog[open]")
    tab_to(page, "#action-submit")
    page.keyboard.press("Enter")
    page.wait_for_selector("#case-status[data-status='accepted']")
    tab_to(page, "#case-actions button[data-action='request_extension']")
    page.keyboard.press("Enter")
    page.wait_for_selector("#action-dialog[open]")
    assert page.evaluate("document.activeElement.id") == "action-hours"
    page.keyboard.press("Control+a")
    page.keyboard.type("16")
    page.keyboard.press("Tab")
    page.keyboard.type("需要等房主出差回来")
    page.keyboard.press("Enter")  # in the textarea: a new line, not a submit
    tab_to(page, "#action-submit")
    page.keyboard.press("Enter")
    page.wait_for_selector("#case-history td:has-text('需要等房主出差回来')")
    assert "16 小时" in page.locator("#case-facts").inner_text()
    assert page.locator("#case-history tbody tr").last.inner_text().split("\t")[2] == "申请延期"
    watched.assert_clean()


def tab_to(page: Any, selector: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"{selector} is not reachable with the Tab key")
