"""The offline base map in a real browser: roads, buildings and labels drawn from the city's own
tiles with no request to another host; a click on a finding opens a popup with its address; the
place search flies to a typed address; the case page's small map; phone and wall layouts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pytest

from citybrain.api import create_app
from citybrain.api.security.accounts import create_demo_users
from citybrain.cases import CaseSettings, open_cases
from citybrain.core import Workspace
from citybrain.core.opsdb import connect, session, upgrade
from citybrain.topics.findings import FINDINGS_SCHEMA
from citybrain.topics.runner import findings_table_name
from citybrain.web import DIST
from fixtures.browser import serve_in_thread
from web.conftest import CITY, Watched, seed_register, sign_in

pytestmark = pytest.mark.browser

LEADER = ("leader", "leader-demo-2024")
CLERK = ("clerk", "clerk-demo-2024")
BUILDINGS = [("B1", 104.01, 30.51), ("B2", 104.02, 30.52), ("B3", 104.04, 30.51)]


def _roads(workspace: Workspace) -> None:
    roads = pa.table(
        {
            "road_id": ["1", "2"],
            "name": ["天府大道", "锦城路"],
            "geometry": ["LINESTRING(104.0 30.5105, 104.1 30.5105)",
                         "LINESTRING(104.015 30.5, 104.015 30.6)"],
        }
    )  # fmt: skip
    with workspace.engine() as engine:
        engine.write(roads, "std", "road")


def _findings(workspace: Workspace) -> pa.Table:
    """A suspected group rental at each building of the register (its address id as subject)."""
    reason = {
        "signal": "electricity", "observed": 900.0, "expected": 200.0, "contribution": 0.6,
        "text_zh": "月用电900度，同类住户约200度", "text_en": "900 kWh a month; others 200",
    }  # fmt: skip
    rows = [
        {"topic": "group_rental", "subject_type": "dwelling", "subject_id": sid,
         "period": "2026-02", "score": 0.9 - i / 10, "level": "high", "lon": lon, "lat": lat,
         "grid_id": "G01", "community_id": "C01", "street_id": "S01",
         "model_version": "group_rental-1", "reasons": [reason]}
        for i, (sid, lon, lat) in enumerate(BUILDINGS)
    ]  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=FINDINGS_SCHEMA)
    with workspace.engine() as engine:
        engine.write(
            table.append_column("run_id", pa.array(["run-1"] * len(rows))),
            "topic", findings_table_name("group_rental"), partition_by=["run_id"],
        )  # fmt: skip
    return table


@pytest.fixture(scope="module")
def map_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    if not (DIST / "index.html").is_file():
        pytest.fail("the web app is not built: run `bash scripts/install-npm-deps.sh`")
    workspace = Workspace.init(tmp_path_factory.mktemp("map") / "ws", name=CITY)
    upgrade(workspace.ops_db_url)
    with session(connect(workspace.ops_db_url)) as db:
        create_demo_users(db, street="S01")
    seed_register(workspace)
    _roads(workspace)
    findings = _findings(workspace)
    opened = open_cases(connect(workspace.ops_db_url), findings, settings=CaseSettings(),
                        hints={"group_rental": "S01街道办"})  # fmt: skip
    for url in serve_in_thread(create_app(workspace)):
        yield url, min(opened.opened)


def _only_this_host(requests: list[str], base: str) -> None:
    host = urlsplit(base).netloc
    outside = [u for u in requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")
               and urlsplit(u).netloc != host]  # fmt: skip
    assert outside == []
    assert urlsplit(base).hostname in ("127.0.0.1", "localhost", "::1")


def _watch_requests(watched: Watched) -> list[str]:
    seen: list[str] = []
    watched.page.on("request", lambda r: seen.append(r.url))
    return seen


RENDERED = """(ids) => { const m = document.querySelector('#map').maplibre;
  const count = (id) => m.queryRenderedFeatures({ layers: [id] }).length;
  return m ? Object.fromEntries(ids.map((id) => [id, count(id)])) : null; }"""
ALL_DRAWN = f"""(ids) => {{ const r = ({RENDERED})(ids);
  return r && Object.values(r).every((n) => n > 0); }}"""


def _wait_rendered(page: Any, ids: tuple[str, ...]) -> dict[str, int]:
    page.wait_for_function(
        ALL_DRAWN,
        arg=list(ids),
        timeout=20000,
    )
    counts: dict[str, int] = page.evaluate(RENDERED, list(ids))
    return counts


def _search(page: Any, text: str) -> None:
    page.fill("#place-search", text)
    page.press("#place-search", "Enter")
    page.wait_for_function(
        "(name) => document.querySelector('#map').dataset.flown === name", arg=text, timeout=10000
    )


def test_the_map_is_the_city_drawn_from_our_own_tiles(
    open_page: Any, map_city: tuple[str, int], artifacts_dir: Path
) -> None:
    url, _ = map_city
    watched = open_page(viewport={"width": 1440, "height": 900})
    requests = _watch_requests(watched)
    page = sign_in(watched, url, *LEADER, then="/map")
    page.wait_for_selector("main[data-ready='1'] #map canvas")
    counts = _wait_rendered(page, ("base-areas", "base-roads", "base-labels"))
    assert all(n > 0 for n in counts.values())

    # the place search flies to a typed address (a flat's address finds its building)
    _search(page, "天府大道1号锦城小区3栋")
    assert page.locator("#place-results li").first.inner_text().startswith("天府大道1号锦城小区3栋")
    _wait_rendered(page, ("base-buildings", "base-roads", "base-road-labels"))
    zoom = page.evaluate("document.querySelector('#map').maplibre.getZoom()")
    centre = page.evaluate("document.querySelector('#map').maplibre.getCenter().toArray()")
    assert zoom > 15 and abs(centre[0] - 104.01) < 0.002 and abs(centre[1] - 30.51) < 0.002
    labels = page.evaluate(
        "[...new Set(document.querySelector('#map').maplibre"
        ".queryRenderedFeatures({ layers: "
        "['base-labels', 'base-road-labels', 'base-building-labels'] })"
        ".map((f) => f.properties.name))]"
    )
    assert "天府大道" in labels and "锦城小区3栋" in labels
    page.keyboard.press("Escape")
    page.evaluate("document.querySelectorAll('.maplibregl-popup').forEach((p) => p.remove())")

    # a click on the finding at that building opens a popup with its address in words
    point = page.evaluate(
        "(() => { const m = document.querySelector('#map').maplibre; const r = m.getCanvas()"
        ".getBoundingClientRect(); const p = m.project([104.01, 30.51]);"
        " return [r.left + p.x, r.top + p.y]; })()"
    )
    page.wait_for_timeout(300)
    page.mouse.click(point[0], point[1])
    popup = page.locator(".maplibregl-popup .popup")
    popup.wait_for()
    text = popup.inner_text()
    assert "天府大道1号锦城小区3栋" in text and "科技园街道 / 锦城社区 / 一网格" in text
    assert "月用电900度" in text and "群租房" in text
    assert popup.locator("a.popup-case").count() == 1
    page.screenshot(path=str(artifacts_dir / "web-map-base-zh.png"))

    # the names of the areas under the pointer
    page.mouse.move(point[0] + 30, point[1] + 30)
    page.wait_for_function("!document.querySelector('#map-hover').hidden")
    assert page.locator("#map-hover").inner_text().startswith("科技园街道 / 锦城社区")

    _only_this_host(requests, url)
    assert any("/api/v1/map/tiles/" in u for u in requests)
    watched.assert_clean()


def test_the_search_finds_a_road_by_its_name_and_says_when_nothing_matches(
    open_page: Any, map_city: tuple[str, int]
) -> None:
    url, _ = map_city
    watched = open_page(viewport={"width": 1280, "height": 800})
    page = sign_in(watched, url, *LEADER, then="/map")
    page.wait_for_selector("main[data-ready='1'] #map canvas")
    _search(page, "锦城路")
    _wait_rendered(page, ("base-roads",))
    page.fill("#place-search", "火星路")
    page.press("#place-search", "Enter")
    page.wait_for_selector("#place-results li.empty")
    watched.assert_clean()


NO_SIDEWAYS = "document.scrollingElement.scrollWidth <= window.innerWidth"


def test_the_clerk_on_a_phone_sees_the_map_and_the_case_map(
    open_page: Any, map_city: tuple[str, int], artifacts_dir: Path
) -> None:
    url, case_id = map_city
    watched = open_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    requests = _watch_requests(watched)
    page = sign_in(watched, url, *CLERK, then="/map")
    page.wait_for_selector("main[data-ready='1'] #map canvas")
    _wait_rendered(page, ("base-areas", "base-roads"))
    box = page.locator("#map").bounding_box()
    assert box is not None and box["width"] >= 300 and box["height"] >= 300
    assert page.evaluate(NO_SIDEWAYS)
    page.screenshot(path=str(artifacts_dir / "web-map-phone.png"))

    page.goto(f"{url}/#/case?id={case_id}")
    page.wait_for_selector("main[data-ready='1'] #case-map[data-ready='1'] canvas")
    assert page.locator("#case-address").inner_text() == "天府大道1号锦城小区3栋"
    assert page.evaluate(NO_SIDEWAYS)
    page.screenshot(path=str(artifacts_dir / "web-case-phone.png"), full_page=True)
    _only_this_host(requests, url)
    watched.assert_clean()


def test_the_case_page_shows_a_small_map_of_the_place(
    open_page: Any, map_city: tuple[str, int], artifacts_dir: Path
) -> None:
    url, case_id = map_city
    watched = open_page(viewport={"width": 1920, "height": 1080})
    page = sign_in(watched, url, *CLERK)
    page.goto(f"{url}/#/case?id={case_id}")
    page.wait_for_selector("main[data-ready='1'] #case-map[data-ready='1'] canvas")
    drawn = page.evaluate(
        "(() => { const m = document.querySelector('#case-map').maplibre;"
        " return ['base-buildings', 'case-place']"
        ".map((id) => m.queryRenderedFeatures({ layers: [id] }).length); })()"
    )
    assert all(n > 0 for n in drawn)
    page.screenshot(path=str(artifacts_dir / "web-case-map-1920.png"), full_page=True)
    watched.assert_clean()


def test_the_wall_shows_the_map_and_the_overview(
    open_page: Any, map_city: tuple[str, int], artifacts_dir: Path
) -> None:
    url, _ = map_city
    # a 4K wall runs at 200 %: 1920×1080 CSS pixels drawn as 3840×2160 (a software-rendered
    # 3840-pixel-wide WebGL canvas stalls the test browser)
    watched = open_page(viewport={"width": 1920, "height": 1080}, device_scale_factor=2)
    page = sign_in(watched, url, *LEADER)
    page.goto(f"{url}/#/map")  # a canvas four times the pixels: slow to draw on a busy machine
    page.wait_for_selector("main[data-ready='1'] #map canvas", state="attached", timeout=90000)
    _wait_rendered(page, ("base-areas", "base-roads", "base-labels"))
    page.screenshot(path=str(artifacts_dir / "web-map-wall-3840.png"))
    page.goto(f"{url}/?wall=1#/overview")
    page.wait_for_selector("main[data-ready='1']", state="attached")
    page.wait_for_timeout(1500)  # let the panels draw
    page.screenshot(path=str(artifacts_dir / "web-overview-wall-3840.png"))
    watched.assert_clean()
