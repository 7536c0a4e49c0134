"""Alerts of the live detectors become findings and cases, in the same step as their events.

A detector's event that carries a ``finding`` (one row of the findings schema) is an alert. For
each batch, :class:`LiveFindings`:

1. stores the batch's findings in the lake table ``topic/<topic>_live_findings``, one partition
   per load (``run_id`` = ``live-<load id>``), beside the topic's batch findings
   (``topic/<topic>_findings``) which a live finding never mixes into;
2. opens cases through the same routing as the pipeline's batch findings (``cases.yaml``, each
   topic's ``department_hint``): a subject with an open case gets the finding as evidence.

Both are done before the runner commits the detector's state and events, and both are idempotent
(a load's partition is written once; evidence already on a case is not added again), so a consumer
killed between them and the commit does the batch again without a second finding or case.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine as OpsEngine

from citybrain.core.workspace import Workspace
from citybrain.stream.detector import StreamEvent, lake_engine

log = logging.getLogger(__name__)
LIVE_SUFFIX = "_live_findings"


def live_findings_table(topic: str) -> str:
    return f"{topic}{LIVE_SUFFIX}"


def findings_of(events: Sequence[StreamEvent]) -> pa.Table | None:
    """The findings the events carry, validated against the findings schema (None: none)."""
    from citybrain.topics import FINDINGS_SCHEMA, validate_findings

    rows = [dict(e.finding) for e in events if e.finding is not None]
    if not rows:
        return None
    for row in rows:
        for column in FINDINGS_SCHEMA.names:
            row.setdefault(column, None)
    return validate_findings(pa.Table.from_pylist(rows, schema=FINDINGS_SCHEMA))


@dataclass
class LiveFindings:
    """Stores alerts as live findings and opens their cases (see the module's docstring)."""

    workspace: Workspace
    ops: OpsEngine
    hints: Mapping[str, str | None] | None = None  # topic → department_hint; None: the installed
    stored: int = 0
    opened: int = 0
    attached: int = 0
    _loaded: dict[str, str | None] = field(default_factory=dict, repr=False)
    _runs: dict[str, set[str]] = field(default_factory=dict, repr=False)  # table → run ids
    _engine: Any = field(default=None, repr=False)

    @classmethod
    def for_workspace(cls, workspace: Workspace, ops: OpsEngine) -> LiveFindings:
        return cls(workspace, ops)

    def _hints(self, topics: Sequence[str]) -> Mapping[str, str | None]:
        """The department hints of the alerts' topics, each read at its first alert from that
        topic's own entry point (:func:`~citybrain.topics.registry.installed_topic`: importing
        every installed topic takes seconds — a first alert waited 5-10 s for scikit-learn and
        SciPy under load)."""
        if self.hints is not None:
            return self.hints
        from citybrain.topics.registry import installed_topic

        for name in (t for t in topics if t not in self._loaded):
            found = installed_topic(name)
            self._loaded[name] = found.department_hint if found is not None else None
        return self._loaded

    def take(self, events: Sequence[StreamEvent], load_id: str) -> None:
        """Store and route the alerts of one load's events (nothing to do without alerts)."""
        findings = findings_of(events)
        if findings is None or findings.num_rows == 0:
            return
        self._store(findings, load_id)
        self._open_cases(findings)

    def _store(self, findings: pa.Table, load_id: str) -> None:
        import pyarrow.compute as pc

        run_id = f"live-{load_id}"
        engine = self._lake()
        for topic in pc.unique(findings.column("topic")).to_pylist():
            mine = findings.filter(pc.equal(findings.column("topic"), topic))
            name = live_findings_table(str(topic))
            runs = self._stored_runs(engine, name)
            if run_id in runs:
                continue  # this load's findings were stored before a restart
            stored = mine.append_column("run_id", pa.array([run_id] * mine.num_rows))
            engine.write(stored, "topic", name, mode="append", partition_by=["run_id"])
            runs.add(run_id)
            self.stored += mine.num_rows

    def _lake(self) -> Any:
        """One engine over the lake for every batch (opening one per batch cost more than the
        write); :meth:`close` closes it."""
        if self._engine is None:
            self._engine = lake_engine(self.workspace)
        return self._engine

    def _stored_runs(self, engine: Any, name: str) -> set[str]:
        """The runs (loads) whose findings ``name`` holds: read once, then kept as they are
        written — reading the growing table for every batch made each batch slower."""
        runs = self._runs.get(name)
        if runs is None:
            runs = self._runs[name] = set()
            if engine.exists("topic", name):
                table = engine.table("topic", name)
                done = engine.to_arrow(table.select("run_id").distinct())
                runs.update(str(r) for r in done.column(0).to_pylist())
        return runs

    def close(self) -> None:
        """Close the lake engine (opened again if more alerts come)."""
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()

    def _open_cases(self, findings: pa.Table) -> None:
        import pyarrow.compute as pc

        from citybrain.cases import area_names, open_cases, settings_for_workspace

        settings = settings_for_workspace(self.workspace.root)  # read each time: clerks edit it
        result = open_cases(
            self.ops,
            findings,
            settings=settings,
            hints=self._hints([str(t) for t in pc.unique(findings.column("topic")).to_pylist()]),
            area_names=area_names(self.workspace),
        )
        self.opened += len(result.opened)
        self.attached += len(result.attached_to)
