"""A case a clerk can act on, in a real browser: the address and areas in words, the evidence as
charts, earlier cases at the same place, and the on-site result that becomes the topic's label."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pypdfium2 as pdfium
import pytest

from citybrain.api import create_app
from citybrain.api.security.accounts import create_demo_users
from citybrain.cases import Action, CaseSettings, Outcome, act, open_cases
from citybrain.core import Workspace
from citybrain.core.catalog import Catalog, DatasetSpec
from citybrain.core.opsdb import connect, session, upgrade
from citybrain.topics.findings import FINDINGS_SCHEMA
from citybrain.topics.runner import findings_table_name
from fixtures.browser import serve_in_thread
from web.conftest import CITY, assert_contrast, seed_register, sign_in

pytestmark = pytest.mark.browser

CLERK = ("clerk", "clerk-demo-2024")
LEADER = ("leader", "leader-demo-2024")
OFFICE = "S01街道办"
FINDINGS = findings_table_name("group_rental")
FLAT = "天府大道1号锦城小区3栋2单元502室"
BUILDING = "天府大道1号锦城小区3栋"  # what a clerk without an unmask grant sees
AREAS = "科技园街道 / 锦城社区 / 一网格"
MONTHS = ["2025-11", "2025-12", "2026-01", "2026-02"]


@dataclass(frozen=True)
class CaseCity:
    url: str
    case_id: int  # the open group-rental case of dwelling F1
    earlier_id: int  # a closed case of the same dwelling


def _png() -> bytes:
    """A real 4 × 4 PNG (the browser must decode it)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xc0\x41\x0c" * 4 for _ in range(4))
    header = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )  # fmt: skip


def _reason(signal: str, observed: float, expected: float, zh: str) -> dict[str, object]:
    return {"signal": signal, "observed": observed, "expected": expected, "contribution": 0.3,
            "text_zh": zh, "text_en": signal}  # fmt: skip


def _findings(run_id: str, months: list[str]) -> pa.Table:
    rows = [
        {
            "topic": "group_rental", "subject_type": "dwelling", "subject_id": "F1",
            "period": month, "score": 0.7 + i / 20, "level": "high", "lon": 104.01,
            "lat": 30.51, "grid_id": "G01", "community_id": "C01", "street_id": "S01",
            "model_version": "group_rental-1",
            "reasons": [
                _reason("water_per_person", 8.0 + i, 3.0, f"人均月用水{8 + i}吨，同楼同面积约3吨"),
                _reason("deliveries", 60 + 10 * i, 18, f"外卖快递{60 + 10 * i}件，同类约18件"),
                _reason("permit_churn", 2 + i, 0.3, f"近12个月居住证办理或注销{2 + i}次"),
            ],
        }
        for i, month in enumerate(months)
    ]  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=FINDINGS_SCHEMA)
    return table.append_column("run_id", pa.array([run_id] * len(rows), pa.string()))


def _seed(workspace: Workspace) -> CaseCity:
    seed_register(workspace)
    # F1 the case's flat; F2-F4 the other flats of its building, whose median it is shown beside.
    flats = ["F1", "F2", "F3", "F4"]
    flat = pa.table(
        {
            "address_id": flats, "level": ["dwelling"] * 4,
            "full_address": [FLAT, *(f"{BUILDING}1单元10{i}室" for i in (1, 2, 3))],
            "estate_name": ["锦城小区"] * 4, "building_no": ["3"] * 4, "grid_code": ["G01"] * 4,
            "lon": [104.01] * 4, "lat": [30.51] * 4,
        }
    )  # fmt: skip
    water = {"F1": 31.0, "F2": 6.0, "F3": 7.0, "F4": 9.0}  # tonnes a month
    readings = pa.Table.from_pylist([
        {"address_id": f, "address_level": "dwelling", "utility": u, "period": m, "usage": v}
        for f, w in water.items() for m in MONTHS
        for u, v in (("water", w), ("electricity", w * 20), ("gas", w / 2))
    ])  # fmt: skip
    deliveries = pa.table({"address_id": flats, "address_level": ["dwelling"] * 4,
                           "period": ["2026-02"] * 4, "items": [90, 10, 12, 14]})  # fmt: skip
    permits = pa.table({"id_number": ["P1", "P2"], "address_id": ["F1", "F1"],
                        "issued_date": [date(2025, 12, 3), date(2026, 1, 7)],
                        "cancelled_date": [date(2026, 2, 2), None]})  # fmt: skip
    first, latest = _findings("run-1", MONTHS[:1]), _findings("run-2", MONTHS)
    with workspace.engine() as engine:
        engine.write(flat, "std", "standard_address", mode="append")
        engine.write(readings, "std", "utility_reading")
        engine.write(deliveries, "std", "delivery")
        engine.write(permits, "std", "residence_permit")
        golden = pa.table({"golden_dwelling_id": ["DF1"], "address_id": ["F1"]})
        engine.write(golden, "base", "dwelling")
        for run in (first, latest):
            engine.write(run, "topic", FINDINGS, partition_by=["run_id"], mode="append")
    ops = connect(workspace.ops_db_url)
    catalog = Catalog(ops)  # as a topic run leaves it, so the topic page has its trend
    catalog.register_dataset(DatasetSpec(zone="topic", name=FINDINGS, sensitivity="personal"))
    for run_id, rows in (("run-1", 1), ("run-2", len(MONTHS))):
        catalog.record_stats(("topic", FINDINGS), rows=rows, run_id=run_id)
    settings = CaseSettings()
    hints = {"group_rental": OFFICE}
    [earlier] = open_cases(
        ops, first.drop_columns(["run_id"]), settings=settings, hints=hints
    ).opened
    for action in (Action.accept, Action.start):
        act(ops, earlier, action, actor="clerk", settings=settings)
    act(ops, earlier, Action.close, actor="clerk", outcome=Outcome.rejected, settings=settings,
        comment="去年核查：不属实")  # fmt: skip
    newest = latest.slice(len(MONTHS) - 1).drop_columns(["run_id"])
    [case] = open_cases(ops, newest, settings=settings, hints=hints).opened
    ops.dispose()
    return CaseCity("", case, earlier)


@pytest.fixture(scope="module")
def case_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaseCity]:
    workspace = Workspace.init(tmp_path_factory.mktemp("case") / "ws", name=CITY)
    upgrade(workspace.ops_db_url)
    with session(connect(workspace.ops_db_url)) as db:
        create_demo_users(db, street="S01")
    seeded = _seed(workspace)
    for url in serve_in_thread(create_app(workspace)):
        yield CaseCity(url, seeded.case_id, seeded.earlier_id)


def _act(page: Any, action: str) -> None:
    page.click(f"#case-actions button[data-action='{action}']")
    page.wait_for_selector("#action-dialog[open]")
    page.click("#action-submit")
    page.wait_for_selector("#action-dialog", state="hidden")


def test_clerk_reads_the_case_in_words_and_records_confirmed(
    open_page: Any, case_city: CaseCity, artifacts_dir: Path
) -> None:
    watched = open_page(viewport={"width": 1440, "height": 1000})
    page = sign_in(watched, case_city.url, *CLERK, then="/desk")
    # The desk: each case by its address, areas and topic in words (codes only beside them).
    page.wait_for_selector("#case-queue tbody a.case-link")
    row = page.locator(f"#case-queue tbody tr:has(a[href='#/case?id={case_city.case_id}'])")
    text = row.inner_text()
    assert BUILDING in text and "科技园街道" in text and "群租房" in text
    assert FLAT not in page.content()  # the room stays masked for a clerk
    page.screenshot(path=str(artifacts_dir / "case-desk-1440.png"), full_page=True)

    page.goto(f"{case_city.url}/#/case?id={case_city.case_id}")
    page.wait_for_selector("main[data-ready='1'] #case-place")
    assert page.locator("#case-place .case-address").inner_text() == BUILDING
    assert page.locator("#case-place .case-areas").inner_text() == AREAS
    assert "群租房" in page.locator("#case-facts").inner_text()
    assert page.locator("#case-360").get_attribute("href") == "#/entity?kind=dwelling&id=DF1"
    # The evidence as charts: one per signal, four months each, drawn (SVG paths present).
    charts = page.locator("#evidence-charts .evidence-chart")
    assert sorted(charts.evaluate_all("els => els.map(e => e.dataset.signal)")) == [
        "deliveries", "permit_churn", "water_per_person",
    ]  # fmt: skip
    page.wait_for_function(
        "() => [...document.querySelectorAll('#evidence-charts .evidence-chart')]"
        ".every(e => e.querySelectorAll('svg path').length > 2)"
    )
    water = page.locator("#evidence-chart-water_per_person").inner_html()
    assert all(month in water for month in MONTHS)
    # The flat's raw months beside the other flats of its building, and its permits, as charts.
    dwelling = page.locator("#dwelling-charts .dwelling-chart")
    assert dwelling.evaluate_all("els => els.map(e => e.dataset.key)") == [
        "water", "electricity", "gas", "deliveries", "permits",
    ]  # fmt: skip
    assert "锦城小区3栋其他3户" in page.locator("#dwelling-peers").inner_text()
    raw = page.locator("#dwelling-charts figure:has(#dwelling-chart-water) table").inner_text()
    assert "31" in raw and "7" in raw  # F1's tonnes and the median of F2-F4
    page.wait_for_function(
        "() => [...document.querySelectorAll('#dwelling-charts .dwelling-chart')]"
        ".every(e => e.querySelectorAll('svg path').length > 2)"
    )
    # The on-site check sheet: a PDF whose text carries the address as the clerk may see it.
    with page.expect_download() as download:
        page.click("#check-sheet")
    sheet = pdfium.PdfDocument(download.value.path())
    text = "".join(
        "".join(sheet[i].get_textpage().get_text_range().split()) for i in range(len(sheet))
    )
    assert BUILDING in text and FLAT not in text and "现场核查单" in text
    assert "人均月用水11吨" in text  # the evidence in brief (the latest month's reasons)
    earlier = page.locator("#case-earlier li")
    assert earlier.count() == 1 and "不属实" in earlier.inner_text()
    assert earlier.locator("a").get_attribute("href") == f"#/case?id={case_city.earlier_id}"
    assert page.locator("#case-title").inner_text().startswith(f"#{case_city.case_id} {BUILDING}：")
    assert_contrast(page)
    page.wait_for_timeout(1500)  # the charts' entry animation
    page.screenshot(path=str(artifacts_dir / "case-page-1440.png"), full_page=True)

    # On site: take the case on, start, and record 属实 with a note.
    assert page.locator("#onsite-later").count() == 1
    _act(page, "accept")
    _act(page, "start")
    page.check("#onsite-confirmed")
    page.fill("#onsite-note", "屋内隔成6间，上下铺12张")
    page.set_input_files(
        "#onsite-photos-input",
        files=[{"name": "门口.png", "mimeType": "image/png", "buffer": _png()}],
    )
    page.click("#onsite-submit")
    page.wait_for_selector("#onsite-recorded")
    assert "属实" in page.locator("#onsite-recorded").inner_text()
    # The photo went to the server by content and shows back from it.
    page.wait_for_function(
        "() => { const i = document.querySelector('#onsite-photos img');"
        " return i && i.complete && i.naturalWidth === 4; }"
    )
    assert page.locator("#onsite-photos img").get_attribute("alt") == "门口.png"
    assert page.locator("#case-status").get_attribute("data-status") == "closed"
    history = page.locator("#case-history").inner_text()
    assert "专题发现：群租房（group_rental）" in history  # the topic by its name, key beside
    assert "现场核查：属实。屋内隔成6间，上下铺12张" in history
    page.screenshot(path=str(artifacts_dir / "case-page-recorded-1440.png"), full_page=True)

    watched.assert_clean()

    # The outcome is now a label the topic learns from (a clerk has no topic pages: the leader).
    watched = open_page(viewport={"width": 1440, "height": 1000})
    page = sign_in(watched, case_city.url, *LEADER)
    page.goto(f"{case_city.url}/#/topic?name=group_rental")
    page.wait_for_selector("main[data-ready='1'] #labels-table")
    labels = page.locator("#labels-table tr[data-label='1']")
    assert labels.count() == 1
    assert BUILDING in labels.inner_text() and "2026-02" in labels.inner_text()
    assert "属实" in labels.inner_text()
    # No stray "null" under the topic's title.
    assert "null" not in page.locator("main").inner_text()
    page.locator("#topic-labels").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "topic-labels-1440.png"), full_page=True)
    watched.assert_clean()


# Elements whose text runs over more than one line (a word broken across lines in the menu).
BROKEN = """
(selector) => [...document.querySelectorAll(selector)].filter((el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const boxes = [...range.getClientRects()].filter((r) => r.width > 0);
  const lines = new Set(boxes.map((r) => Math.round(r.bottom)));
  return lines.size > 1;
}).map((el) => el.textContent)
"""
MENU = "#nav li:not([hidden]) a, header.shell .tool, #user-name"


def test_on_a_phone_and_at_1920_every_page_with_the_menu_whole(
    open_page: Any, case_city: CaseCity, artifacts_dir: Path
) -> None:
    """At 390×844 the signed-in user lands on the case named in next= (its query kept), the header
    folds into a menu whose words are whole; then every page the admin's menu offers, and the case,
    at 390×844 and at 1920×1080: each gets ready, the case and map fit the phone's width, and a
    screenshot of each goes to test-artifacts."""
    watched = open_page(viewport={"width": 390, "height": 844})
    page = sign_in(watched, case_city.url, "admin", "admin-demo-2024",
                   then=f"/case?id={case_city.case_id}")  # fmt: skip
    page.wait_for_selector("main[data-ready='1'] #case-place")
    assert page.locator("#case-title").inner_text().startswith(f"#{case_city.case_id} {BUILDING}")
    no_scroll = "() => document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(no_scroll)
    # The header is one row: the title and a menu button; the navigation is folded away.
    assert page.locator("header.shell").bounding_box()["height"] < 70
    assert not page.locator("#nav").is_visible()
    assert page.locator("#check-sheet").is_visible()
    page.click("#menu-toggle")
    assert page.locator("#menu-toggle").get_attribute("aria-expanded") == "true"
    assert page.locator("#nav a[data-path='/desk']").is_visible()
    assert page.locator("#user-name").is_visible()
    assert page.evaluate(BROKEN, MENU) == []  # 一屏会商, 一张图: no word broken across lines
    assert page.evaluate(no_scroll)
    page.screenshot(path=str(artifacts_dir / "web-case-phone-menu.png"))
    page.click("#nav a[data-path='/desk']")  # a link taken folds the menu again
    page.wait_for_selector("main[data-ready='1'] #case-queue")
    assert not page.locator("#nav").is_visible()
    # The desk on a phone is a list of cards: the case's title, address and deadline come first,
    # each cell with its label, and nothing runs off the screen.
    page.uncheck("#desk-mine")  # the admin is assigned nothing: every case of the city
    page.wait_for_selector("#case-queue tbody td[data-col='title'] a")
    card = page.locator("#case-queue tbody tr").first
    assert card.evaluate("tr => getComputedStyle(tr).display") == "flex"
    first = card.evaluate(
        "tr => [...tr.children].filter(td => td.offsetHeight)"
        ".map(td => [td.getBoundingClientRect().top, td.dataset.col])"
        ".sort((a, b) => a[0] - b[0]).map(([, col]) => col).slice(0, 3)"
    )
    assert first == ["title", "address", "sla_due_at"]
    assert page.evaluate(no_scroll)

    paths = page.locator("#nav li:not([hidden]) a").evaluate_all(
        "els => els.map(e => e.dataset.path)"
    )
    assert {"/overview", "/map", "/desk", "/entity", "/governance"} <= set(paths)
    wide: dict[str, int] = {}
    for width, height in ((390, 844), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        for path in [*paths, f"/case?id={case_city.case_id}"]:
            page.evaluate(
                "p => { if (location.hash === p) return;"
                " delete document.querySelector('main').dataset.ready; location.hash = p; }",
                f"#{path}",
            )
            page.wait_for_selector("main[data-ready='1']")
            name = path.strip("/").split("?")[0]
            page.screenshot(path=str(artifacts_dir / f"web-page-{name}-{width}.png"))
            if width < 700:
                wide[name] = page.evaluate("() => document.documentElement.scrollWidth")
    watched.assert_clean()
    # Every page's width on the phone (wider than 390: it scrolls sideways), for the record.
    (artifacts_dir / "web-page-widths-390.txt").write_text(
        "".join(f"{name}\t{px}\n" for name, px in wide.items()), encoding="utf-8"
    )
    assert wide["case"] <= 390 and wide["map"] <= 390
