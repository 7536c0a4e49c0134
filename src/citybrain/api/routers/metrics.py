"""Counts for operations: requests served, loads, findings, cases — Prometheus text or JSON.

``RequestCounter`` is a plain ASGI middleware that counts responses by method and status class;
``create_app`` installs it. Everything else is read when asked.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citybrain.api.deps import InstalledTopics, Lake, LakeDep, OpsEngine, Principal, require
from citybrain.api.security.roles import Permission
from citybrain.cases import Case
from citybrain.core.opsdb import LoadRun, session
from citybrain.topics.runner import findings_table_name

router = APIRouter(prefix="/metrics", tags=["metrics"])


class RequestCounter:
    """Counts HTTP responses by (method, status class); kept in ``app.state.request_counts``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "app" in scope:
            scope["app"].state.request_counts = self
        method = str(scope.get("method", "?"))

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = f"{int(message['status']) // 100}xx"
                with self._lock:
                    self.counts[(method, status)] += 1
            await send(message)

        await self.app(scope, receive, counting)


class OpsMetrics(BaseModel):
    requests: dict[str, int]  # "GET 2xx" → count, since the service started
    loads: dict[str, int]  # status → count
    rows_landed: int
    rows_quarantined: int
    findings: dict[str, int]  # topic → findings of its latest run
    cases: dict[str, int]  # status → count


def collect(
    request: Request, ops_engine: SqlEngine, lake: Lake, installed_topics: Iterable[str]
) -> OpsMetrics:
    counter: RequestCounter | None = getattr(request.app.state, "request_counts", None)
    requests = {f"{m} {s}": n for (m, s), n in sorted(counter.counts.items())} if counter else {}
    with session(ops_engine) as db:
        loads = {str(s): int(n) for s, n in db.execute(
            select(LoadRun.status, func.count()).group_by(LoadRun.status)).all()}  # fmt: skip
        landed, quarantined = db.execute(
            select(
                func.coalesce(func.sum(LoadRun.rows_landed), 0),
                func.coalesce(func.sum(LoadRun.rows_quarantined), 0),
            ).where(LoadRun.status == "succeeded")
        ).one()
        cases = {str(s): int(n) for s, n in db.execute(
            select(Case.status, func.count()).group_by(Case.status)).all()}  # fmt: skip
    topics = set(installed_topics)
    topic_dir = lake.workspace.lake / "topic"
    if topic_dir.is_dir():
        topics |= {p.name.removesuffix("_findings") for p in topic_dir.glob("*_findings")}
    findings = {
        name: lake.findings(name).num_rows
        for name in sorted(topics)
        if lake.exists("topic", findings_table_name(name))
    }
    return OpsMetrics(
        requests=requests, loads=loads, rows_landed=int(landed),
        rows_quarantined=int(quarantined), findings=findings, cases=cases,
    )  # fmt: skip


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def prometheus_text(metrics: OpsMetrics) -> str:
    lines = [
        "# HELP citybrain_http_responses_total HTTP responses by method and status class.",
        "# TYPE citybrain_http_responses_total counter",
    ]
    for key, n in metrics.requests.items():
        method, status = key.split(" ", 1)
        lines.append(
            f'citybrain_http_responses_total{{method="{_label(method)}",status="{status}"}} {n}'
        )
    lines += ["# HELP citybrain_loads Load runs by status.", "# TYPE citybrain_loads gauge"]
    lines += [f'citybrain_loads{{status="{_label(s)}"}} {n}' for s, n in metrics.loads.items()]
    lines += [
        "# HELP citybrain_rows_landed Rows landed by succeeded loads.",
        "# TYPE citybrain_rows_landed gauge",
        f"citybrain_rows_landed {metrics.rows_landed}",
        "# HELP citybrain_rows_quarantined Rows quarantined by succeeded loads.",
        "# TYPE citybrain_rows_quarantined gauge",
        f"citybrain_rows_quarantined {metrics.rows_quarantined}",
        "# HELP citybrain_findings Findings of each topic's latest run.",
        "# TYPE citybrain_findings gauge",
    ]
    lines += [f'citybrain_findings{{topic="{_label(t)}"}} {n}' for t, n in metrics.findings.items()]
    lines += ["# HELP citybrain_cases Cases by status.", "# TYPE citybrain_cases gauge"]
    lines += [f'citybrain_cases{{status="{_label(s)}"}} {n}' for s, n in metrics.cases.items()]
    return "\n".join(lines) + "\n"


@router.get(
    "",
    response_model=OpsMetrics,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def ops_metrics(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.METRICS_READ))],
    ops_engine: OpsEngine,
    lake: LakeDep,
    installed: InstalledTopics,
    format: Annotated[
        Literal["json", "prometheus"], Query(description="json, or Prometheus text format")
    ] = "json",
) -> OpsMetrics | PlainTextResponse:
    """Requests, loads, findings and cases, for monitoring."""
    metrics = collect(request, ops_engine, lake, installed)
    if format == "prometheus":
        return PlainTextResponse(prometheus_text(metrics), media_type="text/plain; version=0.0.4")
    return metrics
