"""The live feed in the browser (a case opened by another connection shows up), keyboard use, and
WCAG AA contrast on each page in both text sizes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from citybrain.cases import CaseSettings, open_cases
from citybrain.core import Workspace
from citybrain.core.opsdb import connect
from citybrain.topics.findings import FINDINGS_SCHEMA
from web.conftest import assert_contrast, seeded_workspace, serve_live, sign_in

pytestmark = pytest.mark.browser

LEADER = ("leader", "leader-demo-2024")


@pytest.fixture(scope="module")
def live_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Workspace]]:
    workspace = seeded_workspace(tmp_path_factory.mktemp("live"), findings=True)
    for url in serve_live(workspace):
        yield url, workspace


def _open_case(workspace: Workspace, subject: str) -> None:
    """As ``citybrain run`` would, from its own connection to the ops database."""
    row = {
        "topic": "group_rental", "subject_type": "dwelling", "subject_id": subject,
        "period": "2026-02", "score": 0.97, "level": "high", "lon": 104.01, "lat": 30.51,
        "grid_id": "G01", "community_id": "C01", "street_id": "S01",
        "model_version": "group_rental-1",
        "reasons": [{"signal": "electricity", "observed": 900.0, "expected": 200.0,
                     "contribution": 0.6, "text_zh": "用电高", "text_en": "high power use"}],
    }  # fmt: skip
    ops_engine = connect(workspace.ops_db_url)
    open_cases(
        ops_engine, pa.Table.from_pylist([row], schema=FINDINGS_SCHEMA), settings=CaseSettings()
    )
    ops_engine.dispose()


def test_a_case_opened_elsewhere_shows_up_live(
    open_page: Any, live_city: tuple[str, Workspace], artifacts_dir: Path
) -> None:
    url, workspace = live_city
    watched = open_page(viewport={"width": 1440, "height": 900})
    page = sign_in(watched, url, *LEADER)
    page.wait_for_selector("#live-badge[data-state='live']")
    before = page.locator("#fig-cases .value").inner_text()
    _open_case(workspace, "D-LIVE-1")
    page.wait_for_selector("#toasts .toast", timeout=10_000)
    assert "group_rental" in page.locator("#toasts .toast").first.inner_text()
    # the overview redraws by itself with the new case counted
    changed = "(b) => (document.querySelector('#fig-cases .value')?.textContent ?? b) !== b"
    page.wait_for_function(changed, arg=before, timeout=10_000)
    assert page.locator("#panel-findings").count() == 1  # swapped in whole, never blank
    page.screenshot(path=str(artifacts_dir / "web-live-toast.png"))

    page.click("#nav a[data-path='/map']")
    page.wait_for_selector("main[data-ready='1'] #map[data-view] canvas")
    cases = (
        "async () => (await document.getElementById('map').maplibre.getSource('cases')"
        ".getData()).features.length"
    )
    shown = page.evaluate(cases)
    _open_case(workspace, "D-LIVE-2")
    page.wait_for_selector("#toasts .toast >> text=#2", timeout=10_000)
    for _ in range(50):  # the new case is drawn on the map
        if page.evaluate(cases) > shown:
            break
        page.wait_for_timeout(200)
    assert page.evaluate(cases) == shown + 1
    watched.assert_clean()


def _tab_to(page: Any, selector: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"{selector} is not reachable with the Tab key")


def test_keyboard_only_use_and_persisted_choices(
    open_page: Any, live_city: tuple[str, Workspace], artifacts_dir: Path
) -> None:
    url, _ = live_city
    watched = open_page()
    page = sign_in(watched, url, *LEADER)
    page.goto(f"{url}/#/overview")
    page.wait_for_selector("main[data-ready='1']")
    page.keyboard.press("Tab")  # the first stop is the skip link, visible when focused
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.locator(".skip").bounding_box()["x"] >= 0  # type: ignore[index]
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    _tab_to(page, "#nav a[data-path='/map']")
    page.keyboard.press("Enter")
    page.wait_for_selector("main[data-ready='1'] #map[data-view] canvas")
    _tab_to(page, "#layer-streets")
    assert page.locator("#map").count() == 1  # one map drawn, not two racing renders
    page.keyboard.press("Space")  # a layer toggled from the keyboard
    page.wait_for_function("!document.getElementById('layer-streets').checked", timeout=10_000)
    page.wait_for_function(
        "!document.getElementById('map').dataset.visible.includes('streets')", timeout=10_000
    )

    _tab_to(page, "#large-text")
    page.keyboard.press("Enter")
    _tab_to(page, "#lang-switch")
    page.keyboard.press("Enter")
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.wait_for_selector("main[data-ready='1'] #map[data-view]")  # redrawn, nothing in flight
    page.reload()  # both choices are remembered
    page.wait_for_selector("main[data-ready='1']")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.evaluate("document.documentElement.classList.contains('large-text')")
    assert page.get_attribute("#large-text", "aria-pressed") == "true"
    page.screenshot(path=str(artifacts_dir / "web-map-large-en.png"))
    watched.assert_clean()


def test_a_page_entered_twice_while_its_chunk_loads_is_drawn_once(
    open_page: Any, live_city: tuple[str, Workspace]
) -> None:
    """Two renders racing over a slow first load (a hash change, then a language switch) leave one
    map, not two: the stale render stops once the chunk has come."""
    url, _ = live_city
    watched = open_page()
    page = sign_in(watched, url, *LEADER)
    held: list[Any] = []
    page.route("**/assets/maplibre-*.js", lambda route: held.append(route))
    page.evaluate("location.hash = '#/map'")
    page.wait_for_function("!document.querySelector('main').dataset.ready")  # the map is loading
    page.click("#lang-switch")  # the second render of the same page, the chunk still on its way
    page.wait_for_function("document.documentElement.lang === 'en'")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the map chunk was never requested"
    for route in held:
        route.continue_()
    page.wait_for_selector("main[data-ready='1'] #map[data-view] canvas")
    page.wait_for_timeout(500)  # a stale render would append its copy now
    assert page.locator("#map").count() == 1
    assert page.locator("#layer-streets").count() == 1
    watched.assert_clean()


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large-text"])
def test_every_page_meets_wcag_aa_contrast(
    open_page: Any, live_city: tuple[str, Workspace], large: bool
) -> None:
    url, _ = live_city
    watched = open_page(viewport={"width": 1440, "height": 900})
    page = sign_in(watched, url, "admin", "admin-demo-2024")
    if large:
        page.click("#large-text")
    paths = [a.get_attribute("data-path") for a in page.locator("#nav li:not([hidden]) a").all()]
    assert len(paths) >= 5
    for path in [*paths, "/login"]:
        page.goto(f"{url}/#{path}")
        page.wait_for_selector("main[data-ready='1'], #login-submit")
        assert_contrast(page)
    watched.assert_clean()
