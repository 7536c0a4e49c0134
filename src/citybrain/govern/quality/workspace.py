"""The quality report of a workspace."""

from __future__ import annotations

from datetime import datetime

from citybrain.core.engine import Engine
from citybrain.core.workspace import Workspace
from citybrain.govern.quality import store
from citybrain.govern.quality.assess import assess
from citybrain.govern.quality.model import QualityReport
from citybrain.govern.quality.stream_gaps import stream_alerts
from citybrain.govern.standardize import workspace_sources


def quality_report(
    workspace: Workspace,
    *,
    source: str | None = None,
    engine: Engine | None = None,
    now: datetime | None = None,
    record: bool = False,
) -> QualityReport:
    """Assess the workspace's std tables (run standardisation first); ``record`` stores the
    scores and alerts in the ops database (`score_history`, `recent_alerts`)."""
    sources = workspace_sources(workspace)
    if engine is not None:
        report = assess(engine, sources, only=source, now=now)
    else:
        with workspace.engine() as own:
            report = assess(own, sources, only=source, now=now)
    report.alerts.extend(stream_alerts(workspace, only=source))  # readings never delivered
    if record:
        store.record(workspace.ops_db_url, report)
    return report
