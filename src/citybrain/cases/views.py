"""Plain-dict views of cases for JSON output, webhooks and the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from citybrain.cases.opsdb_models import Case, CaseEvent
from citybrain.cases.states import OUTCOME_ZH, STATUS_ZH, Outcome, Status


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def case_summary(case: Case) -> dict[str, Any]:
    """The fields a list, a webhook or a client needs, JSON-ready."""
    return {
        "id": case.id,
        "topic": case.topic,
        "subject_type": case.subject_type,
        "subject_id": case.subject_id,
        "period": case.period,
        "source": case.source,
        "title": case.title,
        "level": case.level,
        "score": case.score,
        "status": case.status,
        "status_zh": STATUS_ZH[Status(case.status)],
        "outcome": case.outcome,
        "outcome_zh": OUTCOME_ZH[Outcome(case.outcome)] if case.outcome else None,
        "department": case.department,
        "co_departments": list(case.co_departments or []),
        "routing_rule": case.routing_rule,
        "assignee": case.assignee,
        "lon": case.lon,
        "lat": case.lat,
        "grid_id": case.grid_id,
        "community_id": case.community_id,
        "street_id": case.street_id,
        "address": case.address,
        "sla_due_at": _iso(case.sla_due_at),
        "escalated_at": _iso(case.escalated_at),
        "supervisor": case.supervisor,
        "extension_requested_hours": case.extension_requested_hours,
        "version": case.version,
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
        "closed_at": _iso(case.closed_at),
    }


def event_summary(event: CaseEvent) -> dict[str, Any]:
    return {
        "action": event.action,
        "actor": event.actor,
        "at": _iso(event.at),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "comment": event.comment,
        "attachments": list(event.attachments or []),
        "details": dict(event.details or {}),
    }
