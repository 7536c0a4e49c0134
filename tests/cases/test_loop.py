"""Outcomes become labels and precision; metrics count cases and the hotline rates."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine as SqlEngine

from citybrain.cases.desk import act
from citybrain.cases.intake import Report, rate_case, submit_report
from citybrain.cases.labels import outcome_labels, precision_by_month
from citybrain.cases.metrics import case_metrics
from citybrain.cases.opening import open_cases
from citybrain.cases.routing import RoutingRules
from citybrain.cases.settings import CaseSettings

from .conftest import FrozenClock, findings

SETTINGS = CaseSettings(routing=RoutingRules(default_department="街道办"))


def _finish(ops_engine: SqlEngine, case_id: int, outcome: str, clock: FrozenClock) -> None:
    for action in ("accept", "start"):
        act(ops_engine, case_id, action, actor="clerk", settings=SETTINGS, clock=clock)
    act(ops_engine, case_id, "close", actor="clerk", outcome=outcome, clock=clock)


def test_outcomes_become_labels_and_precision(ops_engine: SqlEngine, clock: FrozenClock) -> None:
    table = findings(
        [
            {"subject_id": "D1"},
            {"subject_id": "D1", "period": "2026-09", "score": 0.6, "level": "medium"},
            {"subject_id": "D2"},
            {"subject_id": "D3"},
            {"subject_id": "D4"},
        ]
    )
    opened = open_cases(ops_engine, table, settings=SETTINGS, clock=clock).opened
    ids = dict(zip(["D1", "D2", "D3", "D4"], opened, strict=True))
    _finish(ops_engine, ids["D1"], "confirmed", clock)
    _finish(ops_engine, ids["D2"], "rejected", clock)
    _finish(ops_engine, ids["D3"], "unverifiable", clock)
    labels = outcome_labels(ops_engine, "group_rental").to_pylist()
    assert labels == [
        {"topic": "group_rental", "subject_id": "D1", "period": "2026-09", "label": 1},
        {"topic": "group_rental", "subject_id": "D1", "period": "2026-10", "label": 1},
        {"topic": "group_rental", "subject_id": "D2", "period": "2026-10", "label": 0},
    ]
    assert outcome_labels(ops_engine, "credit").num_rows == 0

    clock.now = datetime(2026, 12, 15, 2, tzinfo=clock.now.tzinfo)
    later = open_cases(ops_engine, findings([{"subject_id": "D9"}]), settings=SETTINGS, clock=clock)
    _finish(ops_engine, later.opened[0], "confirmed", clock)
    precision = precision_by_month(ops_engine).to_pylist()
    assert precision == [
        {"topic": "group_rental", "month": "2026-11", "dispatched": 4, "confirmed": 1,
         "rejected": 1, "unverifiable": 1, "precision": 0.5},
        {"topic": "group_rental", "month": "2026-12", "dispatched": 1, "confirmed": 1,
         "rejected": 0, "unverifiable": 0, "precision": 1.0},
    ]  # fmt: skip


def test_metrics(ops_engine: SqlEngine, clock: FrozenClock) -> None:
    table = findings(
        [
            {"subject_id": "D1", "street_id": "S1"},
            {"subject_id": "D2", "street_id": "S1"},
            {"subject_id": "D3", "street_id": "S2", "level": "low", "score": 0.6},
        ]
    )
    d1, d2, _d3 = open_cases(ops_engine, table, settings=SETTINGS, clock=clock).opened
    clock.advance(hours=1)  # D1 is signed for within the 2 response hours
    _finish(ops_engine, d1, "confirmed", clock)
    clock.advance(hours=6)  # D2 waits past its response time and its 8-hour deadline
    act(ops_engine, d2, "accept", actor="clerk", clock=clock)
    report = submit_report(
        ops_engine,
        Report(service_code="noise", lon=113.9, lat=22.5),
        settings=SETTINGS,
        clock=clock,
    )
    _finish(ops_engine, report.case_id, "confirmed", clock)
    rate_case(ops_engine, report.reporter_id, 5)
    clock.advance(days=1)

    m = case_metrics(ops_engine, settings=SETTINGS, clock=clock)
    assert m.total == 4
    assert m.by_status == {"closed": 2, "accepted": 1, "dispatched": 1}
    assert m.by_department == {"街道办": 4}
    assert m.by_topic == {"group_rental": 3, "noise": 1}
    assert m.by_street == {"S1": 2, "S2": 1, "(none)": 1}
    assert m.overdue == 1 and m.overdue_rate == pytest.approx(1 / 4)  # D2; D3 has 40 hours
    assert m.response_rate == pytest.approx(2 / 4)  # D1 and the report, out of four dispatched
    assert m.resolution_rate == pytest.approx(2 / 4)
    assert m.satisfaction_rate == 1.0 and m.ratings == 1
    assert m.mean_hours_to_close == pytest.approx((1 + 0) / 2)
    only = case_metrics(ops_engine, topic="noise", settings=SETTINGS, clock=clock)
    assert only.total == 1 and only.by_topic == {"noise": 1}
