"""A case a clerk can act on, in a real browser: the address and areas in words, the evidence as
charts, earlier cases at the same place, and the on-site result that becomes the topic's label."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
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
    flat = pa.table(
        {
            "address_id": ["F1"], "level": ["dwelling"], "full_address": [FLAT],
            "estate_name": ["锦城小区"], "building_no": ["3"], "grid_code": ["G01"],
            "lon": [104.01], "lat": [30.51],
        }
    )  # fmt: skip
    first, latest = _findings("run-1", MONTHS[:1]), _findings("run-2", MONTHS)
    with workspace.engine() as engine:
        engine.write(flat, "std", "standard_address", mode="append")
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
