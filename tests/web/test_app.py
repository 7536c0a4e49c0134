"""The web app in a real browser: sign in, every page, language, large text, map layers, wall."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from web.conftest import CITY, sign_in

pytestmark = pytest.mark.browser

LEADER = ("leader", "leader-demo-2024")
CLERK = ("clerk", "clerk-demo-2024")


def focus_by_tab(page: Any, selector: str, limit: int = 30) -> None:
    """Press Tab until ``selector`` has the focus: it is reachable by keyboard."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"{selector} is not reachable with the Tab key")


def test_signed_out_overview_language_and_large_text(
    open_page: Any, city_url: str, artifacts_dir: Path
) -> None:
    watched = open_page()
    page = watched.page
    page.goto(city_url)
    page.wait_for_selector("main[data-ready='1']")
    assert page.locator("#city-name").inner_text() == CITY
    assert page.locator("h1 .app-title").inner_text() == "城市数字大脑"
    assert page.locator("#fig-systems .value").inner_text() == "0"
    assert page.locator("#nav li:not([hidden]) a").all_inner_texts() == ["一屏会商", "一张图"]
    assert page.locator("#login-link").inner_text() == "登录"
    page.screenshot(path=str(artifacts_dir / "web-overview-signed-out-zh.png"))

    focus_by_tab(page, "#lang-switch")
    page.keyboard.press("Enter")
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.wait_for_selector("main[data-ready='1']")
    assert page.locator("h1 .app-title").inner_text() == "City digital brain"
    assert page.locator("#nav li:not([hidden]) a").all_inner_texts() == ["One screen", "One map"]
    assert page.locator("#fig-systems .label").inner_text() == "Systems connected"

    size = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    focus_by_tab(page, "#large-text")
    page.keyboard.press("Space")
    assert page.get_attribute("#large-text", "aria-pressed") == "true"
    larger = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert larger > size * 1.2
    page.screenshot(path=str(artifacts_dir / "web-overview-signed-out-en-large.png"))
    watched.assert_clean()


def test_map_asks_a_signed_out_visitor_to_sign_in(open_page: Any, city_url: str) -> None:
    watched = open_page()
    page = watched.page
    page.goto(f"{city_url}/#/map")
    page.wait_for_selector("#login-submit")
    assert "请先登录" in page.locator("main").inner_text()
    assert "登录后可查看" not in page.locator("main").inner_text()
    watched.assert_clean()


def test_wrong_password_is_refused_with_a_message(open_page: Any, city_url: str) -> None:
    watched = open_page()
    page = watched.page
    page.goto(f"{city_url}/#/login")
    page.fill("#username", "leader")
    page.fill("#password", "not-the-password")
    page.click("#login-submit")
    page.wait_for_function("document.getElementById('login-error').textContent !== ''")
    assert "用户名或密码不正确" in page.locator("#login-error").inner_text()
    assert watched.errors == [msg for msg in watched.errors if "401" in msg]  # the refusal only


def test_leader_sees_overview_and_map_and_toggles_a_layer(
    open_page: Any, city_url: str, artifacts_dir: Path
) -> None:
    watched = open_page(viewport={"width": 1440, "height": 900})
    page = sign_in(watched, city_url, *LEADER)
    assert page.locator("#user-name").inner_text().startswith("leader")
    page.wait_for_selector("#panel-cases")
    page.wait_for_selector("#panel-catalog")
    page.wait_for_selector("#panel-findings svg")
    assert page.locator("#fig-last-load .value").inner_text() == "—"  # nothing loaded yet
    tile = page.locator("#tile-group_rental_flagged_month")
    assert tile.locator(".label").inner_text() == "本月疑似群租房"
    assert tile.locator(".value").inner_text() == "3 套"
    page.screenshot(path=str(artifacts_dir / "web-overview-leader-zh.png"), full_page=True)

    page.click("#nav a[data-path='/map']")
    page.wait_for_selector("main[data-ready='1'] #map canvas")
    labels = page.locator(".layer-list label").all_inner_texts()
    names = [label.split("\n")[0] for label in labels]
    assert names[:5] == ["街道", "社区", "网格", "楼栋", "案件"]
    assert "疑似群租房" in names[5:]  # then each installed topic's layers, on at first
    topics = page.eval_on_selector_all(
        ".layer-list input[id^='layer-topic-']", "boxes => boxes.map((b) => b.id.slice(6))"
    )
    assert len(topics) == len(names) - 5
    visible = page.locator("#map").get_attribute("data-visible")
    assert visible == " ".join(["streets", "cases", *topics])
    page.check("#layer-grids")
    page.check("#layer-buildings")
    page.uncheck("#layer-streets")
    visible = page.locator("#map").get_attribute("data-visible")
    assert visible == " ".join(["grids", "buildings", "cases", *topics])
    topic_layer = page.locator("label[for='layer-topic-group_rental_dwellings']")
    assert "3 个要素" in topic_layer.inner_text()
    page.wait_for_timeout(500)  # let the map draw
    page.screenshot(path=str(artifacts_dir / "web-map-leader-zh.png"))

    page.click("#lang-switch")
    page.wait_for_selector("main[data-ready='1'] #map canvas")
    assert page.locator(".layer-list label").first.inner_text().startswith("Streets")
    assert "Features: 3" in topic_layer.inner_text()
    assert page.is_checked("#layer-grids") and not page.is_checked("#layer-streets")  # kept
    page.screenshot(path=str(artifacts_dir / "web-map-leader-en.png"))
    watched.assert_clean()


def test_wall_mode_fills_the_screen_and_rotates_panels(
    open_page: Any, city_url: str, artifacts_dir: Path
) -> None:
    watched = open_page(viewport={"width": 1920, "height": 1080})
    sign_in(watched, city_url, *LEADER)
    page = watched.page
    page.goto(f"{city_url}/?wall=1&rotate=1#/overview")
    page.wait_for_selector("main[data-ready='1']")
    assert page.evaluate("document.documentElement.classList.contains('wall')")
    shown = "[...document.querySelectorAll('.panel')].filter(p => !p.classList.contains('hidden'))"
    first = page.evaluate(f"{shown}.map(p => p.id)")
    assert len(first) == 1
    page.screenshot(path=str(artifacts_dir / "web-overview-wall.png"))
    page.wait_for_function(f"{shown}[0].id !== {first[0]!r}", timeout=5000)
    watched.assert_clean()


def test_clerk_signs_in_and_out(open_page: Any, city_url: str, artifacts_dir: Path) -> None:
    watched = open_page()
    page = sign_in(watched, city_url, *CLERK)
    assert "S01街道办" in page.locator("#user-name").inner_text()
    assert page.locator("#panel-cases").count() == 0  # a clerk reads no city-wide case figures
    row = page.locator("#topic-table tr[data-topic='group_rental'] td")  # but its street's findings
    assert row.first.inner_text() == "3"
    assert page.locator("#tile-group_rental_flagged_month .value").inner_text() == "3 套"
    page.screenshot(path=str(artifacts_dir / "web-overview-clerk-zh.png"), full_page=True)
    page.click("#nav a[data-path='/map']")
    page.wait_for_selector("main[data-ready='1'] #map canvas")
    assert page.locator(".layer-list li").count() == 5  # no topic layers without topics.read

    page.reload()  # the session resumes from the refresh token kept for this tab
    page.wait_for_selector("#user-name")
    page.click("#logout")
    page.wait_for_selector("#login-submit")
    assert page.evaluate("sessionStorage.getItem('citybrain.refresh')") is None
    assert page.locator("#login-link").count() == 1
    watched.assert_clean()


def test_admin_opens_every_page(open_page: Any, city_url: str, artifacts_dir: Path) -> None:
    watched = open_page()
    page = sign_in(watched, city_url, "admin", "admin-demo-2024")
    for link in page.locator("#nav a").all():
        link.click()
        page.wait_for_selector("main[data-ready='1']")
        assert page.locator("#nav a[aria-current='page']").count() == 1
    page.screenshot(path=str(artifacts_dir / "web-map-admin-zh.png"))
    watched.assert_clean()
