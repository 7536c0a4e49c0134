"""The live city in the browser: a truck's position from the live feed drawn on the one map, and a
muck-truck alert's case appearing on the case desk, both without a reload; beside them, where the
bikes stand as shaded H3 cells (the shared_bikes topic's density layer).

The events are written as ``citybrain stream`` writes them (StreamStore.save for the feed,
LiveFindings for the alert's finding and case), from connections of their own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import h3
import pyarrow as pa
import pytest

from citybrain.core import Workspace
from citybrain.core.opsdb import connect
from citybrain.stream.detector import StreamEvent
from citybrain.stream.findings import LiveFindings
from citybrain.stream.store import Saved, StreamStore
from citybrain.topics.builtin.shared_bikes.density import DENSITY_TABLE, RESOLUTION
from web.conftest import seeded_workspace, serve_live, sign_in

pytestmark = pytest.mark.browser

LEADER = ("leader", "leader-demo-2024")
ENFORCEMENT = "区综合行政执法局（城管）"
PLATE = "川A·D0042"


@pytest.fixture(scope="module")
def live_map_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Workspace]]:
    workspace = seeded_workspace(tmp_path_factory.mktemp("livemap"), findings=False)
    for url in serve_live(workspace):
        yield url, workspace


def _emit(workspace: Workspace, detector: str, events: list[StreamEvent], load_id: str) -> None:
    """As the stream runner does after a batch: alerts → findings and cases, then the events."""
    ops = connect(workspace.ops_db_url)
    LiveFindings(workspace, ops, hints={"muck_trucks": ENFORCEMENT}).take(events, load_id)
    StreamStore(ops).save(detector, Saved({}, {}, 1), events, system="test", load_id=load_id)
    ops.dispose()


def _truck_at(lon: float, lat: float, t: float) -> StreamEvent:
    data = {"kind": "muck_truck", "plate": PLATE, "t": t, "lon": lon, "lat": lat, "speed": 31.0}
    return StreamEvent("vehicle.position", data)


def _dumping_alert(lon: float, lat: float) -> StreamEvent:
    """A muck-truck alert in the shape the muck_trucks detector raises it."""
    reason = {
        "signal": "illegal_dumping",
        "observed": 25.0,
        "expected": None,
        "contribution": 0.9,
        "text_zh": "在未许可地点停留25分钟",
        "text_en": "stopped 25 min",
    }
    finding = {
        "topic": "muck_trucks",
        "subject_type": "vehicle",
        "subject_id": PLATE,
        "period": "2026-02-03",
        "score": 0.9,
        "level": "high",
        "lon": lon,
        "lat": lat,
        "model_version": "muck_trucks-live-1",
        "reasons": [reason],
    }
    data = {"plate": PLATE, "kind": "illegal_dumping", "day": "2026-02-03", "lon": lon,
            "lat": lat, "topic": "muck_trucks", "minutes": 25}  # fmt: skip
    return StreamEvent("truck.violation", data, finding=finding)


SOURCE = "document.getElementById('map').maplibre.getSource('live-vehicles')"
BIKES_AT = (30.515, 104.015)  # a cell of 40 bikes


def _bike_density(workspace: Workspace) -> None:
    """What a shared_bikes run stores: bikes per operator and H3 cell of the newest snapshot."""
    cells = [h3.latlng_to_cell(*BIKES_AT, RESOLUTION), h3.latlng_to_cell(30.52, 104.03, RESOLUTION)]
    centres = [h3.cell_to_latlng(c) for c in cells]
    rows = {
        "h3": cells, "lon": [c[1] for c in centres], "lat": [c[0] for c in centres],
        "bikes": [40, 4], "meituan": [30, 4], "hellobike": [10, 0], "qingju": [0, 0],
        "snapshot": ["2026-02-03 08:00"] * 2, "run_id": ["r1"] * 2,
    }  # fmt: skip
    with workspace.engine() as engine:
        engine.write(pa.table(rows), "topic", DENSITY_TABLE, partition_by=["run_id"])


def test_live_trucks_on_the_map_and_a_new_case_on_the_desk_without_reload(
    open_page: Any, live_map_city: tuple[str, Workspace]
) -> None:
    url, workspace = live_map_city
    _bike_density(workspace)
    watched = open_page(viewport={"width": 1440, "height": 900})
    page = sign_in(watched, url, *LEADER, then="/desk")
    page.evaluate("window.__notReloaded = true")
    page.uncheck("#desk-mine")  # the leader's own queue (区委办) would not hold the case; kept
    page.wait_for_selector("#live-badge[data-state='live']")
    page.click("#nav a[data-path='/map']")
    page.wait_for_selector(
        "#map[data-live] canvas"
    )  # the live layers are on: no need to wait for tiles
    # the toggles say in words what moves: 渣土车 and 共享单车, both on at first
    assert "渣土车" in page.locator("label[for='layer-live-trucks']").inner_text()
    assert "共享单车" in page.locator("label[for='layer-live-bikes']").inner_text()
    assert page.locator("#map").get_attribute("data-live") == "live-trucks live-bikes"
    # the bikes' density: H3 cells for the view, the fuller cell shaded, its popup in words
    assert "单车密度" in page.locator("label[for='layer-topic-shared_bikes_density']").inner_text()
    page.wait_for_selector("#map[data-kind_topic_shared_bikes_density='h3']", timeout=20_000)
    shaded = (
        "() => { const m = document.getElementById('map').maplibre;"
        f" const p = m.project([{BIKES_AT[1]}, {BIKES_AT[0]}]);"
        " const f = m.queryRenderedFeatures([p.x, p.y],"
        " { layers: ['topic-shared_bikes_density-fill'] });"
        " return f.length === 1 && f[0].properties.density === 1; }"
    )
    page.wait_for_function(shaded, timeout=10_000)

    # the truck moves: two positions in two batches, the map keeps only its newest
    _emit(workspace, "muck_trucks", [_truck_at(104.01, 30.51, 1000.0)], "L1")
    bike = {"kind": "bike", "operator": "meituan", "bike_id": "MT1", "t": 1001.0,
            "lon": 104.02, "lat": 30.52}  # fmt: skip
    moves = [_truck_at(104.012, 30.513, 1060.0), StreamEvent("vehicle.position", bike)]
    _emit(workspace, "muck_trucks", moves, "L2")
    page.wait_for_selector("#map[data-live-trucks='1'][data-live-bikes='1']", timeout=10_000)
    moved = (
        f"(async () => (await {SOURCE}.getData()).features"
        ".find((f) => f.properties.kind === 'muck_truck'))()"
    )
    for _ in range(50):  # the second batch may land a frame after the first
        truck = page.evaluate(moved)
        if truck["geometry"]["coordinates"] == [104.012, 30.513]:
            break
        page.wait_for_timeout(100)
    assert truck["properties"]["plate"] == PLATE
    assert truck["geometry"]["coordinates"] == [104.012, 30.513]
    drawn = (
        "() => { const m = document.getElementById('map').maplibre;"
        " const p = m.project([104.012, 30.513]);"
        " return m.queryRenderedFeatures([p.x, p.y], { layers: ['live-trucks'] }).length === 1; }"
    )
    page.wait_for_function(drawn, timeout=10_000)  # drawn, not only held in the source
    page.uncheck("#layer-live-bikes")
    assert page.locator("#map").get_attribute("data-live") == "live-trucks"
    visibility = (
        "document.getElementById('map').maplibre.getLayoutProperty('live-bikes', 'visibility')"
    )
    assert page.evaluate(visibility) == "none"

    # the case desk, reached in the app (no reload): the alert's case shows up by itself
    page.wait_for_selector("main[data-ready='1'] #map[data-idle]")  # no tile cut off by leaving
    page.click("#nav a[data-path='/desk']")
    page.wait_for_selector("main[data-ready='1'] #case-queue")
    assert not page.is_checked("#desk-mine")
    assert page.locator("#case-queue tbody tr .case-link").count() == 0
    _emit(workspace, "muck_trucks", [_dumping_alert(104.012, 30.513)], "L3")
    page.wait_for_selector("#case-queue tbody tr .case-link", timeout=10_000)
    row = page.locator("#case-queue tbody tr").first.inner_text()
    assert ENFORCEMENT in row
    assert page.evaluate("window.__notReloaded === true")
    watched.assert_clean()
