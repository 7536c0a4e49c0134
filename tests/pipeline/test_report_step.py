"""The pipeline's last step writes the daily report of the data's own day into the workspace; a PDF
Chromium cannot print fails the step in part and keeps the HTML (and everything the run made)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from citybrain.core.opsdb import upgrade
from citybrain.core.workspace import Workspace
from citybrain.pipeline.context import open_context
from citybrain.pipeline.steps import daily_report
from citybrain.report import daily, data_day
from citybrain.topics import FINDINGS_SCHEMA, REASON_TYPE


def _today() -> date:
    """The city's date now: read when asserted, not at import (a suite may pass midnight)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _findings(periods: list[str], run_id: str) -> pa.Table:
    n = len(periods)
    reason = {"signal": "s", "observed": 1.0, "expected": 0.0, "contribution": 1.0,
              "text_zh": "原因", "text_en": "reason"}  # fmt: skip
    return pa.table(
        {
            "topic": ["air_quality"] * n,
            "subject_type": ["air_station"] * n,
            "subject_id": [f"AQ{i:04d}" for i in range(n)],
            "period": periods,
            "score": [0.9] * n,
            "level": ["high"] * n,
            "lon": [104.0] * n,
            "lat": [30.6] * n,
            "grid_id": [None] * n,
            "community_id": [None] * n,
            "street_id": [None] * n,
            "model_version": ["air_quality-1"] * n,
            "reasons": pa.array([[reason]] * n, pa.list_(REASON_TYPE)),
            "run_id": [run_id] * n,
        },
        schema=FINDINGS_SCHEMA.append(pa.field("run_id", pa.string())),
    )


def _workspace(root: Path, config: str = "") -> Workspace:
    workspace = Workspace.init(root)
    if config:
        path = workspace.root / "citybrain.toml"
        path.write_text(path.read_text(encoding="utf-8") + config, encoding="utf-8")
        workspace = Workspace.open(workspace.root)
    upgrade(workspace.ops_db_url)
    return workspace


def _write(workspace: Workspace, findings: pa.Table, days: list[str] | None = None) -> None:
    with workspace.engine() as engine:
        engine.write(findings, "topic", "air_quality_findings", mode="append",
                     partition_by=["run_id"])  # fmt: skip
        if days is not None:
            n = len(days)
            stations = pa.table(
                {"sensor_id": ["AQ0001"] * n, "date": days, "aqi": [60.0] * n, "run_id": ["r2"] * n}
            )
            engine.write(stations, "topic", "air_quality_station_daily", partition_by=["run_id"])


def test_the_day_is_the_latest_day_of_the_latest_run_never_after_today(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path / "ws")
    before = _today()
    assert data_day(workspace)[0] in {before, _today()}  # nothing yet: today, and it says so
    assert "no topic has daily findings" in data_day(workspace)[1]
    # an older run's later day does not count; months are not days; the stations' AQI counts
    _write(workspace, _findings(["2025-03-20"], "r1"))
    _write(workspace, _findings(["2025-03-12", "2025-03", "2025-03-13"], "r2"), ["2025-03-14"])
    assert data_day(workspace) == (date(2025, 3, 14), "the latest day of the topics' results")
    before = _today()
    _write(workspace, _findings([(before + timedelta(days=3)).isoformat()], "r3"))
    day, why = data_day(workspace)
    assert day in {before, _today()} and "after today" in why


def test_html_only_when_the_pdf_is_switched_off_and_nothing_when_the_report_is(
    tmp_path: Path,
) -> None:
    workspace = _workspace(tmp_path / "ws", "\n[report]\npdf = false\n")
    _write(workspace, _findings(["2025-03-13", "2025-03-14", "2025-03-14"], "r1"))
    with open_context(workspace) as ctx:
        result = daily_report(ctx, lambda _: None)
    html = workspace.root / "reports" / "daily-2025-03-14.html"
    assert result.failed is None and "no PDF ([report] pdf = false)" in result.summary
    assert result.rows_in == 2  # the day's two findings, no case
    assert html.is_file() and not html.with_suffix(".pdf").exists()
    assert "大数据专报 2025-03-14" in html.read_text(encoding="utf-8")

    off = _workspace(tmp_path / "off", "\n[report]\ndaily = false\n")
    _write(off, _findings(["2025-03-14"], "r1"))
    empty = _workspace(tmp_path / "empty")
    with open_context(off) as ctx:
        assert "switched off" in daily_report(ctx, lambda _: None).summary
    with open_context(empty) as ctx:  # a city with nothing found yet: no report of nothing
        assert daily_report(ctx, lambda _: None).summary.startswith("nothing to report yet")
    assert not (off.root / "reports").exists() and not (empty.root / "reports").exists()


def test_a_pdf_chromium_cannot_print_fails_the_step_in_part_and_keeps_the_html(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = _workspace(tmp_path / "ws")
    _write(workspace, _findings(["2025-03-14"], "r1"))
    stale = workspace.root / "reports" / "daily-2025-03-14.pdf"
    stale.parent.mkdir()
    stale.write_bytes(b"%PDF- an earlier report of the day")
    monkeypatch.setattr(daily, "chromium_executable", lambda: str(tmp_path / "no-chromium"))
    with open_context(workspace) as ctx:
        result = daily_report(ctx, lambda _: None)
    assert result.failed is not None and result.failed.startswith("PDF not printed: could not")
    assert "\n" not in result.failed  # one line
    assert "reports/daily-2025-03-14.html written, no PDF" in result.summary
    assert (workspace.root / "reports" / "daily-2025-03-14.html").is_file()
    assert not stale.exists(), "a PDF of an earlier report would not match the new HTML"
    assert not list(stale.parent.glob(".*part"))
