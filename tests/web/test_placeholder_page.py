"""Without a build, the API serves a placeholder page that still shows the city's figures."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from citybrain.api import create_app
from citybrain.core import Workspace
from citybrain.core.opsdb import upgrade
from citybrain.web import PLACEHOLDER, static_dir
from fixtures.browser import serve_in_thread


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    workspace = Workspace.init(tmp_path / "ws", name="示例高新区")
    upgrade(workspace.ops_db_url)
    yield from serve_in_thread(create_app(workspace, web_dir=PLACEHOLDER))


def test_static_dir_is_the_build_when_there_is_one(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    assert static_dir(dist) == PLACEHOLDER
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html>")
    assert static_dir(dist) == dist


@pytest.mark.browser
def test_placeholder_loads_in_chinese_and_switches_to_english(
    browser: Any, base_url: str, artifacts_dir: Path
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    failed: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(base_url)
    page.wait_for_function("document.getElementById('city').textContent !== '—'")
    assert page.locator("h1").inner_text() == "城市数字大脑"
    assert page.locator("#city").inner_text() == "示例高新区"
    assert page.locator("#systems").inner_text() == "0"
    page.screenshot(path=str(artifacts_dir / "placeholder-zh.png"))

    page.keyboard.press("Tab")  # the language switch is reachable by keyboard
    page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "City digital brain"
    assert page.evaluate("document.documentElement.lang") == "en"
    assert errors == []
    assert failed == []
    page.close()
