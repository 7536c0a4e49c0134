"""巡查上报 on a phone (390×844): a grid worker takes the phone's position, attaches a geotagged
photo and sends the report; the answer names the case it opened and the register's address, and
the case page shows the photo."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from citybrain.cases.photos import GPS_IFD
from web.conftest import sign_in

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}  # fmt: skip


def _geotagged_jpeg() -> bytes:
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (30.0, 30.0, 36.0), 3: "E", 4: (104.0, 0.0, 36.0)}
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def serious_axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations in the page's main part (axe from npm)."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found: list[str] = page.evaluate(
        "async () => (await axe.run(document.querySelector('main'), {resultTypes: ['violations']}))"
        ".violations.filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => `${v.id}: ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)"
    )
    return found


def test_a_grid_worker_reports_from_a_phone(open_page: Any, city_url: str) -> None:
    watched = open_page(**PHONE, geolocation={"longitude": 104.0101, "latitude": 30.5101},
                        permissions=["geolocation"])  # fmt: skip
    page = sign_in(watched, city_url, "clerk", "clerk-demo-2024", then="/patrol")
    page.wait_for_selector("#patrol-form")
    page.select_option("#patrol-category", "illegal_dumping")
    page.fill("#patrol-note", "楼道口堆放建筑垃圾")
    page.click("#patrol-locate")
    page.wait_for_function(
        "document.getElementById('patrol-lon').value === '104.010100'", timeout=10_000
    )
    page.set_input_files(
        "#patrol-photos", files=[{"name": "现场.jpg", "mimeType": "image/jpeg",
                                  "buffer": _geotagged_jpeg()}]
    )  # fmt: skip
    page.click("#patrol-submit")
    page.wait_for_selector("#patrol-answer", timeout=20_000)
    assert "案件" in page.inner_text("#patrol-message")
    assert "天府大道1号锦城小区3栋" in page.inner_text("#patrol-answer")
    assert "科技园街道 / 锦城社区 / 一网格" in page.inner_text("#patrol-answer")
    href = page.get_attribute("#patrol-case-link", "href")
    assert href is not None and href.startswith("#/case?id=")
    assert serious_axe_violations(page) == []  # the form with its answer
    # The case desk shows the photo that came with the report (fetched signed).
    page.click("#patrol-case-link")
    page.wait_for_selector("#reported-photos img", timeout=20_000)
    assert page.get_attribute("#reported-photos img", "alt") == "现场.jpg"
    page.go_back()
    page.wait_for_selector("#patrol-form")
    # Targets on the phone are at least 44 px high.
    for selector in ("#patrol-category", "#patrol-locate", "#patrol-submit"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["height"] >= 44, selector
    watched.assert_clean()
