"""A broker whose queue limit is set low drops part of the air-quality stream: the run ends with a
quality alert naming the source and the readings expected but not received, and the governance
page shows it (real Mosquitto, the real connector, standardisation and quality, a real browser)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from citybrain.api import create_app
from citybrain.api.security.accounts import create_demo_users
from citybrain.core import Workspace
from citybrain.core.opsdb import connect, session, upgrade
from citybrain.govern.quality import quality_report
from citybrain.govern.standardize.workspace import standardize_workspace
from citybrain.ingest import ingest_sources, recorder_for
from citybrain.ingest.simsources import shipped_sim_contracts
from citybrain.sim.mqtt import air_quality_stream, publish
from fixtures.browser import serve_in_thread
from web.conftest import sign_in

if TYPE_CHECKING:
    from fixtures.mqtt import Mosquitto

pytestmark = [pytest.mark.browser, pytest.mark.mqtt, pytest.mark.slow]
SYSTEM = "air_quality_sensors"


def air_contract(workspace: Workspace, port: int) -> Path:
    """The shipped contract of the city's air sensors, pointed at the test's broker."""
    [shipped] = [p for p in shipped_sim_contracts() if p.stem == SYSTEM]
    text = shipped.read_text(encoding="utf-8").replace("port: 1883", f"port: {port}")
    text = text.replace("batch_seconds: 5", "batch_seconds: 0.5")
    path = workspace.root / "sources" / f"{SYSTEM}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def send(port: int, first: int, count: int) -> int:
    stream = air_quality_stream(first, sensors=count, steps=1, first_message=first)
    return publish(stream, "127.0.0.1", port, topic_prefix="citybrain/sim/air",
                   client_id=f"pub-{first}")  # fmt: skip


def test_a_low_queue_limit_ends_in_an_alert_on_the_governance_page(
    tmp_path: Path, own_mosquitto: Callable[[str], Mosquitto], open_page: Any,
    artifacts_dir: Path,
) -> None:  # fmt: skip
    broker = own_mosquitto("persistence false\nmax_queued_messages 50")
    workspace = Workspace.init(tmp_path / "ws", name="示例高新区")
    upgrade(workspace.ops_db_url)
    with session(connect(workspace.ops_db_url)) as db:
        create_demo_users(db, street="S01")
    path = air_contract(workspace, broker.port)

    def ingest() -> None:  # `citybrain ingest air_quality_sensors`: drain what waits
        assert ingest_sources(workspace, [path], recorder=recorder_for(workspace)).ok

    ingest()  # the durable session
    sent = send(broker.port, 0, 500)  # the consumer is away: 450 overflow the queue of 50
    time.sleep(1.5)
    ingest()
    sent += send(broker.port, 500, 20)  # the next readings show the gap in msg_id
    ingest()

    standardize_workspace(workspace)
    report = quality_report(workspace, record=True)
    [alert] = [a for a in report.alerts if a.dimension == "stream_loss"]
    assert alert.system == SYSTEM and alert.owner == "区生态环境局"
    assert alert.value == 450 and sent == 520
    assert "应收未收 450 条" in alert.zh

    for url in serve_in_thread(create_app(workspace)):
        watched = open_page(viewport={"width": 1440, "height": 1000})
        page = sign_in(watched, url, "admin", "admin-demo-2024", then="/governance")
        page.click("nav.tabs a[data-tab='quality']")
        page.wait_for_selector("#quality-alerts[data-total]:not([data-loading])")
        rows = page.locator("#quality-alerts tbody tr")
        texts = rows.all_inner_texts()
        [row] = [r for r in texts if "数据流缺失" in r]
        assert SYSTEM in row and "应收未收 450 条" in row
        page.screenshot(path=str(artifacts_dir / "web-governance-stream-loss-zh.png"),
                        full_page=True)  # fmt: skip
        watched.assert_clean()
