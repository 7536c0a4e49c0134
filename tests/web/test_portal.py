"""The public portal on a phone (390×844): a resident reports a problem with a photo and a typed
address, the street's clerk handles it on the case desk, the resident sees the answer and rates it;
the clerk enters (代办) the report of a resident who phoned, and the resident signs in with that
phone and follows it by its receipt number.
axe-core (from node_modules, never a CDN) checks every screen on the way, in both modes; the
长辈版 is checked for 18 px text and 44 px targets."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from PIL import Image

from api.scoped_data import findings_table, write_findings
from citybrain.api import create_app
from citybrain.api.security.accounts import create_user
from citybrain.api.security.phone import outbox
from citybrain.cases.opsdb_models import Case
from citybrain.core import Workspace
from citybrain.core.opsdb import connect, session
from citybrain.web import DIST
from fixtures.browser import serve_in_thread
from web.conftest import assert_contrast, seeded_workspace, sign_in

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}  # fmt: skip
CLERK = ("clerk", "clerk-demo-2024")
RESIDENT_PHONE = "13800138000"
FIRM = ("91510100MA61234567", "firm-a", "firm-demo-2024")
STEWARD = ("steward", "steward-demo-2024")  # the credit steward (role data_steward)
PENALTY = "示高监罚〔2023〕00031号"

# Every visible text at least 18 px and every control at least 44×44 px (WCAG 2.5.5 size).
ELDER_JS = """
() => {
  const small = [], tight = [];
  const shown = (el) => {
    const b = el.getBoundingClientRect();
    return b.width > 0 && b.height > 0;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !shown(el) || el.closest('.visually-hidden')) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < 18) small.push(n.textContent.trim().slice(0, 20));
  }
  for (const el of document.querySelectorAll('a, button, input, select, textarea, .check label')) {
    if (!shown(el) || el.classList.contains('skip')) continue;
    const target = el.type === 'checkbox' || el.type === 'radio' ? el.closest('.check') : el;
    const t = target.getBoundingClientRect();
    const size = `${Math.round(t.width)}x${Math.round(t.height)}`;
    if (Math.min(t.height, t.width) < 44) tight.push(`${el.tagName}#${el.id} ${size}`);
  }
  return { small, tight };
}
"""


@pytest.fixture(scope="module")
def portal_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Workspace]]:
    if not (DIST / "portal.html").is_file():
        pytest.fail("the portal is not built: run `cd frontend && npm run build`")
    workspace = seeded_workspace(tmp_path_factory.mktemp("portal"), findings=False)
    seed_firm(workspace)
    for url in serve_in_thread(create_app(workspace)):
        yield url, workspace


@pytest.fixture
def portal_url(portal_city: tuple[str, Workspace]) -> str:
    return portal_city[0]


def seed_firm(workspace: Workspace) -> None:
    """One graded firm with one penalty behind its grade, its portal account, and the credit
    steward who reviews its disputes."""
    uscc, account, password = FIRM
    reason = {"signal": "penalty", "points": -5, "observed": 1.0,
              "text_zh": "受到行政处罚1次", "text_en": "1 administrative penalty"}  # fmt: skip
    with workspace.engine() as engine:
        engine.write(pa.table({"decision_no": [PENALTY], "uscc": [uscc],
                               "violation": ["虚假宣传"], "decided_date": ["2023-05-01"]}),
                     "std", "penalty")  # fmt: skip
        engine.write(pa.table({"registration_id": ["R1"], "uscc": [uscc],
                               "name": ["示例科技有限公司"], "status": ["存续"]}),
                     "std", "enterprise_registration")  # fmt: skip
        links = pa.table({"source_table": ["enterprise_registration"], "source_key": ["R1"],
                          "golden_enterprise_id": ["G1"]})  # fmt: skip
        engine.write(links, "base", "enterprise_link")
    pushed = findings_table(
        [{"topic": "policy_push", "subject_type": "enterprise_policy",
          "subject_id": "rd_credit:G1", "period": "2026-01"}]
    )  # fmt: skip
    write_findings(workspace, pushed, topic="policy_push")
    with session(connect(workspace.ops_db_url)) as db:
        db.add(Case(topic="policy_push", subject_type="enterprise_policy",
                    subject_id="rd_credit:G1", period="2026-01", status="dispatched",
                    open_key="policy_push|enterprise_policy|rd_credit:G1"))  # fmt: skip
    with workspace.engine() as engine:
        scores = pa.table({
            "uscc": [uscc], "period": ["2026-01"], "score": [77], "grade": ["B"],
            "reasons": [[reason]], "model_version": ["credit-1"], "model_points": [82.0],
            "dishonest": [0], "penalties": [1], "tax_penalties": [0], "broken": [0], "kept": [0],
            "inactive": [0], "run_id": ["20260201T000000Z-00000001"],
        })  # fmt: skip
        engine.write(scores, "topic", "credit_scores", partition_by=["run_id"])
    with session(connect(workspace.ops_db_url)) as db:
        create_user(db, account, role="firm", password=password, department=uscc)
        create_user(db, STEWARD[0], role="data_steward", password=STEWARD[1], department="数据局")


def axe_clean(page: Any, where: str, within: str | None = None) -> None:
    """No serious or critical axe-core violation on the page as it is now (or in the part of it
    the CSS selector ``within`` picks)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        "async (within) => (await axe.run(within ? document.querySelector(within) : document,"
        " {resultTypes: ['violations']})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => `${v.id}: ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)",
        within,
    )
    assert found == [], f"{where}: {found}"


def both_modes(page: Any, where: str) -> None:
    """axe-clean in the mode the page is in and in the other one (长辈版: also 18 px text and
    44 px targets); the page is left in the mode it was in."""
    for _ in range(2):
        elder = page.get_attribute("#elder-toggle", "aria-pressed") == "true"
        if elder:
            sizes = page.evaluate(ELDER_JS)
            assert sizes == {"small": [], "tight": []}, f"{where}, 长辈版: {sizes}"
        axe_clean(page, f"{where}, 长辈版" if elder else where)
        page.click("#elder-toggle")


def photo_with_location() -> bytes:
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (30.0, 30.0, 36.0), 3: "E", 4: (104.0, 0.0, 36.0)}
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "gray").save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_a_resident_reports_the_clerk_answers_and_the_resident_rates(
    browser: Any, portal_city: tuple[str, Workspace], artifacts_dir: Path
) -> None:
    portal_url, workspace = portal_city
    resident = browser.new_context(**PHONE)
    page = resident.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed {r.url}"))
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(r.url.split("/")[2]))

    page.goto(f"{portal_url}/portal/")
    page.wait_for_selector("main[data-ready='1'] #go-report")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    both_modes(page, "home")
    page.click("#lang-toggle")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.locator("#go-report strong").inner_text() == "Report a problem"
    page.click("#lang-toggle")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")

    # Report: the typed address is read, placed on the register and shown back for confirmation.
    page.click("#go-report")
    page.wait_for_selector("#report-category option[value='road_damage']", state="attached")
    page.select_option("#report-category", "road_damage")
    page.fill("#report-text", "人行道上有一个大坑")
    page.fill("#report-address", "高新区天府大道1号锦城小区3栋")
    page.click("#address-check")
    found = page.wait_for_selector("#address-found", timeout=60_000)  # a loaded machine
    assert "天府大道1号锦城小区3栋" in found.inner_text() and "锦城社区" in page.inner_text(
        "#address-result"
    )
    page.check("#address-confirm")
    page.fill("#report-phone", "138 0013 8000")
    page.set_input_files(
        "#report-photo",
        files=[{"name": "hole.jpg", "mimeType": "image/jpeg", "buffer": photo_with_location()}],
    )
    both_modes(page, "report form")
    assert_contrast(page)
    page.screenshot(path=str(artifacts_dir / "web-portal-report-zh.png"), full_page=True)
    page.click("#report-submit")
    receipt = page.wait_for_selector("#receipt-number").inner_text().strip()
    both_modes(page, "receipt")

    # The clerk of the street handles it on the desk (the case is placed in the clerk's street).
    clerk = browser.new_context(viewport={"width": 1280, "height": 900})
    desk = sign_in(_watched(clerk.new_page()), portal_url, *CLERK, then="/desk")
    desk.wait_for_selector("#case-queue:not([data-loading])")
    desk.uncheck("#desk-mine")  # routed to the city's operations centre: every case of my street
    desk.wait_for_selector("#case-queue:not([data-loading]) tbody a.case-link")
    desk.locator("#case-queue tbody a.case-link", has_text="道路破损").first.click()
    desk.wait_for_selector("#case-status[data-status='dispatched']")
    assert "人行道上有一个大坑" in desk.inner_text("main")
    for action, outcome, comment in (
        ("accept", None, ""), ("start", None, ""), ("close", "confirmed", "已修补路面"),
    ):  # fmt: skip
        desk.click(f"#case-actions button[data-action='{action}']")
        desk.wait_for_selector("#action-dialog[open]")
        if outcome:
            desk.select_option("#action-outcome", outcome)
        if comment:
            desk.fill("#action-comment", comment)
        desk.click("#action-submit")
        desk.wait_for_selector("#action-dialog", state="hidden")
    desk.wait_for_selector("#case-status[data-status='closed']")
    # 代办: a resident phones in a problem; the clerk enters it on the desk and reads out the
    # receipt number.
    desk.goto(f"{portal_url}/#/desk")
    desk.click("#assisted-open")
    desk.wait_for_selector("#assisted-category option[value='road_damage']", state="attached")
    desk.select_option("#assisted-category", "road_damage")
    desk.fill("#assisted-text", "来电：小区门口路灯不亮")
    desk.fill("#assisted-address", "天府大道1号锦城小区3栋")
    desk.click("#assisted-check")
    assert "锦城小区3栋" in desk.wait_for_selector("#assisted-found", timeout=60_000).inner_text()
    desk.fill("#assisted-phone", RESIDENT_PHONE)
    desk.click("#assisted-submit")
    phoned = desk.wait_for_selector("#assisted-receipt-number").inner_text().strip()
    assert phoned != receipt
    clerk.close()

    # The resident, in the 长辈版, follows by receipt number, reads the answer and rates it.
    page.click("#elder-toggle")
    assert page.get_attribute("#elder-toggle", "aria-pressed") == "true"
    page.click("a.button[href^='#/follow']")
    page.wait_for_selector("#follow-card[data-status='closed']")
    assert page.input_value("#follow-receipt") == receipt
    assert "已修补路面" in page.inner_text("#follow-answer")
    assert page.inner_text("#follow-department").strip() not in ("", "—")
    both_modes(page, "answer")
    assert_contrast(page)
    page.screenshot(path=str(artifacts_dir / "web-portal-answer-elder-zh.png"), full_page=True)
    page.keyboard.press("Tab")  # the rating is reachable and chosen by keyboard
    page.focus("#rate-4")
    page.keyboard.press("Space")
    assert page.is_checked("#rate-4")
    page.click("#rate-submit")
    page.wait_for_selector("#follow-rated")
    assert "满意" in page.inner_text("#follow-rated")
    assert page.locator("#rate-form").count() == 0  # rated once
    both_modes(page, "rated")
    # Near my home: free parking, the air and community notices for a typed address (no data in
    # this city yet).
    page.goto(f"{portal_url}/portal/#/near")
    page.fill("#near-address", "天府大道1号锦城小区3栋")
    page.click("#near-submit")
    assert "天府大道1号锦城小区3栋" in page.wait_for_selector("#near-place").inner_text()
    page.wait_for_selector("#air-title")
    assert "锦城社区" in page.wait_for_selector("#notices-title").inner_text()
    both_modes(page, "near my home")

    # Signed in with the phone: both reports made with it — the one the clerk entered among
    # them — and from there the phoned-in one followed by its receipt number.
    page.goto(f"{portal_url}/portal/#/mine")
    page.fill("#phone-number", RESIDENT_PHONE)
    page.click("#phone-send")
    page.wait_for_selector("#phone-sent")
    both_modes(page, "phone sign-in")
    code = outbox(connect(workspace.ops_db_url), RESIDENT_PHONE)[0].split("验证码为 ")[1][:6]
    page.fill("#phone-code", code)
    page.click("#phone-verify")
    page.wait_for_selector("#mine-reports")
    assert "138****8000" in page.inner_text("#mine-heading")
    shown = page.eval_on_selector_all(
        "#mine-reports li[data-receipt]", "els => els.map(e => e.dataset.receipt)"
    )
    assert sorted(shown) == sorted([receipt, phoned])
    both_modes(page, "my reports")
    page.locator(f"li[data-receipt='{phoned}'] a.target-link").click()
    page.wait_for_selector("#follow-card[data-status='dispatched']")
    assert "路灯不亮" in page.inner_text("#follow-card")
    assert hosts == {portal_url.split("/")[2]}  # nothing from another host
    assert errors == []
    resident.close()


def test_a_firm_sees_its_grade_disputes_a_record_and_sees_the_repaired_grade(
    browser: Any, portal_city: tuple[str, Workspace], artifacts_dir: Path
) -> None:
    portal_url, _ = portal_city
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{portal_url}/portal/#/firm")
    page.wait_for_selector("#firm-form")
    both_modes(page, "firm sign-in")
    uscc, account, password = FIRM
    page.fill("#firm-uscc", uscc)  # checked against the account by the server (API tests)
    page.fill("#firm-account", account)
    page.fill("#firm-password", password)
    page.click("#firm-submit")
    assert page.wait_for_selector("#firm-grade").inner_text() == "信用等级 B"
    assert "受到行政处罚1次" in page.inner_text("#firm-reasons")
    record = page.locator(f"li[data-record='{PENALTY}']")
    record.locator("button.dispute-open").click()
    record.locator("textarea").fill("处罚决定已被复议撤销")
    both_modes(page, "firm, dispute form")
    record.locator("form button[type=submit]").click()
    # A pushed policy answered, a commitment its grade allows, and a request to the city.
    page.locator("p.answers[data-policy='rd_credit'] button[data-answer='apply']").click()
    page.wait_for_selector("#firm-policies .found")
    # A commitment its grade allows, and a request to the city with its receipt number.
    page.locator("li[data-commitment='compliance'] button").click()
    assert "守法经营承诺" in page.wait_for_selector("#firm-signed").inner_text()
    page.fill("#firm-request-text", "厂区门口道路积水")
    page.click("#firm-request-submit")
    assert "厂区门口道路积水" in page.wait_for_selector("#firm-requests").inner_text()
    page.wait_for_selector(".dispute-state")
    assert page.inner_text(".dispute-state") == "修复申请审核中"

    # The credit steward upholds it on the 信用修复审核 page: the firm sees the new grade.
    steward_context = browser.new_context()
    steward = _watched(steward_context.new_page())
    queue = sign_in(steward, portal_url, *STEWARD, then="/credit-review")
    item = queue.locator(f"li.dispute:has-text('{PENALTY}')")
    assert "处罚决定已被复议撤销" in item.inner_text()  # the firm's words
    assert "示例科技有限公司" in item.inner_text() and "信用等级 B（77 分）" in item.inner_text()
    # The page itself (the main app's shell has its own: its language switch's label is not
    # its visible text, label-content-name-mismatch).
    axe_clean(queue, "credit repair review", within="main")
    item.locator("textarea").fill("处罚决定已被复议撤销，予以修复")
    queue.screenshot(path=str(artifacts_dir / "web-credit-review-zh.png"), full_page=True)
    item.locator("button[data-decision='uphold']").click()
    assert "B (77) → A (82)" in queue.wait_for_selector("#review-told:has-text('→')").inner_text()
    queue.wait_for_selector("#dispute-queue[data-count='0']")
    steward.assert_clean()
    steward_context.close()
    page.wait_for_timeout(1_200)  # the credit index looks at the lake once a second
    page.reload()
    assert page.wait_for_selector("#firm-grade").inner_text() == "信用等级 A"
    assert page.locator("#firm-history tbody tr").count() == 2
    assert "信用修复" in page.inner_text("#firm-history")
    both_modes(page, "firm")
    page.screenshot(path=str(artifacts_dir / "web-portal-firm-zh.png"), full_page=True)
    assert errors == []
    context.close()


def _watched(page: Any) -> Any:
    from web.conftest import watch

    return watch(page)
