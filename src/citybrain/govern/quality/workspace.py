"""The quality report of a workspace."""

from __future__ import annotations

from datetime import datetime

from citybrain.core.engine import Engine
from citybrain.core.workspace import Workspace
from citybrain.govern.quality import store
from citybrain.govern.quality.assess import assess
from citybrain.govern.quality.model import QualityReport
from citybrain.govern.quality.stored import FILE, MeasureStore
from citybrain.govern.quality.stream_gaps import stream_alerts
from citybrain.govern.standardize import workspace_sources
from citybrain.govern.standardize.sources import contracts_in
from citybrain.ingest import discover_sources


def quality_report(
    workspace: Workspace,
    *,
    source: str | None = None,
    engine: Engine | None = None,
    now: datetime | None = None,
    record: bool = False,
) -> QualityReport:
    """Assess the workspace's std tables (run standardisation first); ``record`` stores the
    scores and alerts in the ops database (`score_history`, `recent_alerts`), and the figures
    measured, so that the next assessment measures only the tables that changed since (see
    `citybrain.govern.quality.stored`; ``report.measured`` says which were). The report is the
    same as a full assessment's."""
    # the contracts read once, for the std tables' sources and for the streams
    contracts = contracts_in(discover_sources(workspace))
    sources = workspace_sources(workspace, contracts)
    stored = MeasureStore.load(workspace.root / FILE)
    if engine is not None:
        report = assess(engine, sources, only=source, now=now, stored=stored)
    else:
        with workspace.engine() as own:
            report = assess(own, sources, only=source, now=now, stored=stored)
    # readings never delivered
    report.alerts.extend(stream_alerts(workspace, only=source, stored=stored, contracts=contracts))
    report.measured = dict(stored.how)
    if record:
        store.record(workspace.ops_db_url, report)
        stored.save(workspace.root / FILE)
    return report
