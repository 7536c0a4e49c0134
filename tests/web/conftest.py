"""A served city for the browser tests: a workspace with a street, communities, grids and buildings
in its address register, the demo accounts, and the built web app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pytest

from citybrain.api import create_app
from citybrain.api.security.accounts import create_demo_users
from citybrain.core import Workspace
from citybrain.core.opsdb import connect, session, upgrade
from citybrain.topics.findings import FINDINGS_SCHEMA
from citybrain.topics.runner import findings_table_name
from citybrain.web import DIST
from fixtures.browser import serve_in_thread

CITY = "示例高新区"


def _square(x: float, y: float, size: float) -> str:
    return f"POLYGON(({x} {y},{x + size} {y},{x + size} {y + size},{x} {y + size},{x} {y}))"


def seed_register(workspace: Workspace) -> None:
    admin = pa.table(
        {
            "level": ["street", "community", "community", "grid", "grid"],
            "code": ["S01", "C01", "C02", "G01", "G02"],
            "name": ["科技园街道", "锦城社区", "天府社区", "一网格", "二网格"],
            "parent_code": [None, "S01", "S01", "C01", "C01"],
            "geometry": [_square(104.0, 30.5, 0.1), _square(104.0, 30.5, 0.05),
                         _square(104.05, 30.55, 0.05), _square(104.0, 30.5, 0.025),
                         _square(104.025, 30.5, 0.025)],
        }
    )  # fmt: skip
    register = pa.table(
        {
            "address_id": ["B1", "B2", "B3"],
            "level": ["building"] * 3,
            "full_address": ["天府大道1号锦城小区3栋", "天府大道1号锦城小区4栋", "天府大道9号1栋"],
            "estate_name": ["锦城小区", "锦城小区", "天府花园"],
            "building_no": ["3", "4", "1"],
            "grid_code": ["G01", "G01", "G02"],
            "lon": [104.01, 104.02, 104.04],
            "lat": [30.51, 30.52, 30.51],
        }
    )
    with workspace.engine() as engine:
        engine.write(admin, "std", "admin_area")
        engine.write(register, "std", "standard_address")


def seed_findings(workspace: Workspace) -> None:
    """Three suspected group rentals from one run, so the topic's tile, chart and layer show."""
    reason = {
        "signal": "electricity", "observed": 900.0, "expected": 200.0, "contribution": 0.6,
        "text_zh": "月用电900度，同类住户约200度", "text_en": "900 kWh a month; others 200",
    }  # fmt: skip
    spots = [(0.95, "high", 104.005), (0.7, "medium", 104.012), (0.6, "medium", 104.03)]
    rows = [
        {
            "topic": "group_rental", "subject_type": "dwelling", "subject_id": f"D{i}",
            "period": "2026-02", "score": score, "level": level, "lon": lon, "lat": 30.515,
            "grid_id": "G01", "community_id": "C01", "street_id": "S01",
            "model_version": "group_rental-1", "reasons": [reason],
        }
        for i, (score, level, lon) in enumerate(spots)
    ]  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=FINDINGS_SCHEMA)
    table = table.append_column("run_id", pa.array(["run-1"] * 3, pa.string()))
    with workspace.engine() as engine:
        engine.write(table, "topic", findings_table_name("group_rental"), partition_by=["run_id"])


@pytest.fixture(scope="module")
def city_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (DIST / "index.html").is_file():
        pytest.fail("the web app is not built: run `bash scripts/install-npm-deps.sh`")
    workspace = seeded_workspace(tmp_path_factory.mktemp("web"), findings=True)
    yield from serve_in_thread(create_app(workspace))


def seeded_workspace(root: Path, findings: bool) -> Workspace:
    """The web tests' city in ``root/ws``: demo accounts, the register and, if asked, findings."""
    workspace = Workspace.init(root / "ws", name=CITY)
    upgrade(workspace.ops_db_url)
    with session(connect(workspace.ops_db_url)) as db:
        create_demo_users(db, street="S01")
    seed_register(workspace)
    if findings:
        seed_findings(workspace)
    return workspace


def serve_live(workspace: Workspace) -> Iterator[str]:
    """Serve ``workspace`` with the live feed polled every 0.2 s (the default is for people)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CITYBRAIN_LIVE_POLL_SECONDS", "0.2")
        yield from serve_in_thread(create_app(workspace))


@dataclass
class Watched:
    """A page whose console errors and failed requests are collected."""

    page: Any
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.errors == []
        assert self.failed == []


#: requests a page may abandon on purpose: the live feed when the page navigates away (it never
#: ends by itself), and base-map tiles MapLibre cancels once the view moved or the map closed
ABANDONABLE = ("/api/v1/events", "/api/v1/map/tiles/", "/api/v1/map/city/")


def _left_stream(request: Any) -> bool:
    """Abandoned, not failed: cancelled by the page (ERR_ABORTED), and one it may cancel."""
    return request.failure == "net::ERR_ABORTED" and any(p in request.url for p in ABANDONABLE)


def watch(page: Any) -> Watched:
    watched = Watched(page)
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.errors.append(str(e)))
    page.on("requestfailed", lambda r: None if _left_stream(r) else watched.failed.append(r.url))
    page.on(
        "response",
        lambda r: watched.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    return watched


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    pages: list[Any] = []

    def make(**options: Any) -> Watched:
        context = browser.new_context(**options)
        pages.append(context)
        return watch(context.new_page())

    yield make
    for context in pages:
        context.close()


def sign_in(
    watched: Watched, base_url: str, user: str, password: str, then: str = "/overview"
) -> Any:
    page = watched.page
    # ``next`` is one query value: its own "?" and "=" are encoded ("/case?id=1" would lose id=1);
    # a "%" is kept, so a path already encoded is not encoded twice.
    page.goto(f"{base_url}/#/login?next={quote(then, safe='/%')}")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_selector("#user-name", state="attached")  # on a phone it is inside the menu
    page.wait_for_selector("main[data-ready='1']")
    return page


# WCAG 2 contrast of every visible text element against the first opaque background behind it:
# 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold). Text over images or canvases is skipped.
CONTRAST_JS = """
() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.backgroundImage !== 'none' || ['CANVAS', 'IMG', 'svg'].includes(e.tagName)) return null;
      const c = rgb(s.backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || seen.has(el) || el.closest('svg, .maplibregl-map')) continue;
    seen.add(el);
    const s = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    const shown = s.visibility !== 'hidden' && box.width > 0 && box.height > 0 && +s.opacity > 0;
    if (!shown) continue;
    const bg = background(el);
    if (!bg) continue;
    const fg = rgb(s.color).slice(0, 3);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && +s.fontWeight >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      const text = n.textContent.trim().slice(0, 30);
      failures.push(`${el.tagName}.${el.className} "${text}" ${ratio.toFixed(2)}`);
    }
  }
  return failures;
}
"""


def assert_contrast(page: Any) -> None:
    """Every visible text on the page meets WCAG AA contrast."""
    failures = page.evaluate(CONTRAST_JS)
    assert failures == [], failures
