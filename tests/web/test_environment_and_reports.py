"""The environment (air quality) page, the one map's stations coloured by AQI category with a
legend in words, and a daily report opened from the web app — in a real browser."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from PIL import Image

from citybrain.api import create_app
from citybrain.api.security.accounts import create_demo_users
from citybrain.core import Workspace
from citybrain.core.catalog import Catalog, DatasetSpec
from citybrain.core.opsdb import connect, session, upgrade
from citybrain.report import write_daily_html
from citybrain.topics.builtin.air_quality.topic import DAILY_TABLE
from citybrain.topics.findings import FINDINGS_SCHEMA
from citybrain.topics.runner import findings_table_name
from citybrain.web import DIST
from fixtures.browser import serve_in_thread
from web.conftest import CITY, assert_contrast, seed_register, sign_in

pytestmark = pytest.mark.browser

LEADER = ("leader", "leader-demo-2024")
DAY = "2025-03-14"
#: station, lon, lat, AQI, category — and the colour HJ 633-2012 gives the category
Station = tuple[str, float, float, float | None, str | None, tuple[int, int, int]]
STATIONS: list[Station] = [
    ("AQ1", 104.01, 30.51, 42.0, "优", (0x00, 0xE4, 0x00)),
    ("AQ2", 104.05, 30.55, 88.0, "良", (0xFF, 0xFF, 0x00)),
    ("AQ3", 104.09, 30.59, 163.0, "中度污染", (0xFF, 0x00, 0x00)),
    ("AQ4", 104.01, 30.59, None, None, (0xAD, 0xB5, 0xBD)),  # too few valid hours: no AQI
]
PDF = b"%PDF-1.4\n% a stand-in: tests/report prints and reads a real one\n"


@dataclass(frozen=True)
class AirCity:
    url: str
    workspace: Workspace


def _seed_air(workspace: Workspace) -> None:
    en = {"优": "Excellent", "良": "Good", "中度污染": "Moderately polluted", None: None}
    daily = pa.table(
        {
            "sensor_id": [s[0] for s in STATIONS],
            "date": [DAY] * len(STATIONS),
            "aqi": [s[3] for s in STATIONS],
            "primary": ["", "pm25", "pm10", ""],
            "category_zh": [s[4] for s in STATIONS],
            "category_en": [en[s[4]] for s in STATIONS],
            "lon": [s[1] for s in STATIONS],
            "lat": [s[2] for s in STATIONS],
            "run_id": ["run-1"] * len(STATIONS),
        }
    )
    reason = {"signal": "daily_aqi", "observed": 163.0, "expected": 150.0, "contribution": 1.0,
              "text_zh": "日空气质量指数163，超过150（中度污染及以上）",
              "text_en": "daily AQI 163, above 150"}  # fmt: skip
    alert = pa.Table.from_pylist(
        [{"topic": "air_quality", "subject_type": "air_station", "subject_id": "AQ3",
          "period": DAY, "score": 0.8, "level": "high", "lon": 104.09, "lat": 30.59,
          "grid_id": None, "community_id": None, "street_id": None,
          "model_version": "air_quality-1", "reasons": [reason]}],
        schema=FINDINGS_SCHEMA,
    )  # fmt: skip
    with workspace.engine() as engine:
        engine.write(daily, "topic", DAILY_TABLE, partition_by=["run_id"])
        engine.write(alert.append_column("run_id", pa.array(["run-1"])), "topic",
                     findings_table_name("air_quality"), partition_by=["run_id"])  # fmt: skip
    catalog = Catalog(connect(workspace.ops_db_url))  # as a run registers them (the page's trend)
    findings = ("topic", findings_table_name("air_quality"))
    catalog.register_dataset(DatasetSpec(zone="topic", name=findings[1], owner_department="数据局"))
    catalog.record_stats(findings, rows=1, run_id="run-1")


@pytest.fixture(scope="module")
def air_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirCity]:
    if not (DIST / "index.html").is_file():
        pytest.fail("the web app is not built: run `bash scripts/install-npm-deps.sh`")
    workspace = Workspace.init(tmp_path_factory.mktemp("air") / "ws", name=CITY)
    upgrade(workspace.ops_db_url)
    with session(connect(workspace.ops_db_url)) as db:
        create_demo_users(db, street="S01")
    seed_register(workspace)
    _seed_air(workspace)
    # two reports as the pipeline's step writes them (the HTML from the database's figures)
    for day in ("2025-03-13", DAY):
        written = write_daily_html(workspace, date.fromisoformat(day))
    written.pdf.write_bytes(PDF)
    for url in serve_in_thread(create_app(workspace)):
        yield AirCity(url, workspace)


def _pixel(page: Any, lon: float, lat: float) -> tuple[int, int, int]:
    """The colour the map drew at a place (the centre of a station's circle)."""
    x, y = page.evaluate(
        "([lon, lat]) => { const m = document.getElementById('map').maplibre;"
        " const p = m.project([lon, lat]); const r = m.getCanvas().getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; }",
        [lon, lat],
    )
    shot = page.screenshot(clip={"x": x - 1, "y": y - 1, "width": 3, "height": 3})
    pixel = Image.open(io.BytesIO(shot)).convert("RGB").getpixel((1, 1))
    assert isinstance(pixel, tuple)
    return int(pixel[0]), int(pixel[1]), int(pixel[2])


def test_the_environment_page_and_the_map_show_stations_by_aqi_category(
    open_page: Any, air_city: AirCity, artifacts_dir: Path
) -> None:
    watched = open_page(viewport={"width": 1280, "height": 900})
    page = sign_in(watched, air_city.url, *LEADER, then="/topic?name=air_quality")
    assert page.locator("#topic-title").inner_text() == "空气质量"
    assert page.locator("#fig-high .value").inner_text() == "1"  # the AQI alert at AQ3
    page.wait_for_selector("#topic-map[data-own_air_quality_station_aqi='4'] canvas")
    legend = page.locator("#mini-legend-air_quality_station_aqi li").all_inner_texts()
    assert legend[:3] == ["优（I级）", "良（II级）", "轻度污染（III级）"]
    assert legend[-1] == "无有效日AQI" and len(legend) == 7

    page.click("#nav a[data-path='/map']")
    page.wait_for_selector("main[data-ready='1'] #map[data-idle='1']")
    layer = "topic-air_quality_station_aqi"
    assert "4 个要素" in page.locator(f"label[for='layer-{layer}']").inner_text()
    words = page.locator(f"#legend-{layer} li").all_inner_texts()
    assert "中度污染（IV级）" in words and "严重污染（VI级）" in words
    colours = page.eval_on_selector_all(
        f"#legend-{layer} li", "items => items.map((i) => [i.dataset.value, i.dataset.color])"
    )
    assert dict(colours)["中度污染"] == "#ff0000" and dict(colours)[""] == "#adb5bd"
    page.uncheck("#layer-topic-air_quality_alerts")  # the alert's own dot sits on AQ3
    page.uncheck("#layer-streets")
    page.wait_for_timeout(300)  # let the map redraw
    for _, lon, lat, _, category, rgb in STATIONS:
        drawn = _pixel(page, lon, lat)
        assert all(abs(a - b) <= 12 for a, b in zip(drawn, rgb, strict=True)), (category, drawn)
    page.screenshot(path=str(artifacts_dir / "web-map-air-stations.png"))
    # a click on a station says its category in words
    x, y = page.evaluate(
        "() => { const m = document.getElementById('map').maplibre;"
        " const p = m.project([104.09, 30.59]); const r = m.getCanvas().getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; }"
    )
    page.mouse.click(x, y)
    popup = page.locator(".maplibregl-popup .popup").inner_text()
    assert "AQ3" in popup and "中度污染（IV级）" in popup and "163" in popup
    watched.assert_clean()


def test_a_report_opens_from_the_web_app(open_page: Any, air_city: AirCity) -> None:
    watched = open_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = sign_in(watched, air_city.url, *LEADER, then="/overview")
    page.click("#nav a[data-path='/reports']")
    page.wait_for_selector("main[data-ready='1'] #reports-table")
    assert page.locator("#reports-table tbody tr").evaluate_all(
        "rows => rows.map((r) => r.dataset.date)"
    ) == [DAY, "2025-03-13"]  # newest first
    assert page.locator("#reports-table tr[data-date='2025-03-13']").inner_text().count("无 PDF")
    assert_contrast(page)

    page.click(f".report-html[data-date='{DAY}']")
    page.wait_for_selector("#report-frame[data-loaded='1']")
    frame = page.frame_locator("#report-frame")
    assert frame.locator("h1").inner_text() == f"{CITY} 大数据专报"
    assert frame.locator("#kpi-findings").inner_text() == "1"  # the database's figure
    assert frame.locator("#air-valid").inner_text() == "3"  # stations with a valid AQI

    with page.expect_download() as caught:
        page.click(f".report-pdf[data-date='{DAY}']")
    download = caught.value
    assert download.suggested_filename == f"daily-{DAY}.pdf"
    assert Path(download.path()).read_bytes() == PDF
    watched.assert_clean()


def test_the_epidemic_page_opens(open_page: Any, air_city: AirCity) -> None:
    """The epidemic topic's page, once the topic is installed (it is another engineer's)."""
    from citybrain.topics import discover_topics

    if "epidemic" not in discover_topics():
        pytest.skip("the epidemic topic is not installed")
    watched = open_page(viewport={"width": 1280, "height": 900})
    page = sign_in(watched, air_city.url, *LEADER, then="/topic?name=epidemic")
    assert page.locator("#topic-title").inner_text() == "疫情防控"
    page.wait_for_selector("#topic-findings")
    # a topic that never ran in this city: its trend says so (the catalog answers 404)
    never_ran = "/api/v1/catalog/datasets/topic/epidemic_findings"
    assert [f for f in watched.failed if never_ran not in f] == []
    assert [e for e in watched.errors if "404" not in e] == []
