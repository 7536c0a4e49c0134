"""Citizen reports and inspection events become cases; reports of one problem merge."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pytest
from sqlalchemy import Engine as SqlEngine

from citybrain.cases.desk import act, get_case, list_cases
from citybrain.cases.intake import (
    Report,
    UnknownService,
    distance_m,
    get_report,
    intake_inspections,
    rate_case,
    submit_report,
)
from citybrain.cases.routing import RoutingRule, RoutingRules
from citybrain.cases.settings import CaseSettings, MergePolicy
from citybrain.core.errors import UserError

from .conftest import FrozenClock

SETTINGS = CaseSettings(
    routing=RoutingRules(
        default_department="城管局",
        rules=[RoutingRule(name="noise", topics=["noise"], departments=["环保局"])],
    ),
    merge=MergePolicy(distance_m=50, window_hours=24),
)
# ~22 m apart at this latitude, and ~1.1 km away.
HERE = {"lon": 113.9500, "lat": 22.5400}
NEAR = {"lon": 113.9502, "lat": 22.5400}
FAR = {"lon": 113.9600, "lat": 22.5400}


def _report(**values: object) -> Report:
    return Report.model_validate({"service_code": "street_vending", **HERE, **values})


def test_distance() -> None:
    assert 15 < distance_m(113.95, 22.54, 113.9502, 22.54) < 25


def test_a_report_opens_a_routed_case(ops_engine: SqlEngine, clock: FrozenClock) -> None:
    result = submit_report(
        ops_engine, _report(description="路口有人摆摊\n占道严重", name="张三"), settings=SETTINGS,
        clock=clock,
    )  # fmt: skip
    assert not result.merged
    case = get_case(ops_engine, result.case_id, detail=True)
    assert case.source == "open311" and case.topic == "street_vending"
    assert case.status == "dispatched" and case.department == "城管局"
    assert case.title == "占道经营：路口有人摆摊" and case.period == "2026-11-23"
    assert [r.name for r in case.reporters] == ["张三"]


def test_nearby_reports_of_the_same_problem_merge(
    ops_engine: SqlEngine, clock: FrozenClock
) -> None:
    first = submit_report(ops_engine, _report(name="A"), settings=SETTINGS, clock=clock)
    clock.advance(hours=2)
    second = submit_report(ops_engine, _report(name="B", **NEAR), settings=SETTINGS, clock=clock)
    other_kind = submit_report(
        ops_engine, _report(service_code="noise", name="C"), settings=SETTINGS, clock=clock
    )
    far = submit_report(ops_engine, _report(name="D", **FAR), settings=SETTINGS, clock=clock)
    assert second.merged and second.case_id == first.case_id
    assert not other_kind.merged and not far.merged
    assert len({first.case_id, other_kind.case_id, far.case_id}) == 3
    case = get_case(ops_engine, first.case_id, detail=True)
    assert [r.name for r in case.reporters] == ["A", "B"]
    assert case.events[-1].action == "attach"


def test_reports_outside_the_time_window_open_a_new_case(
    ops_engine: SqlEngine, clock: FrozenClock
) -> None:
    first = submit_report(ops_engine, _report(), settings=SETTINGS, clock=clock)
    clock.advance(hours=25)
    later = submit_report(ops_engine, _report(), settings=SETTINGS, clock=clock)
    assert not later.merged and later.case_id != first.case_id


def test_every_reporter_is_answered_and_may_rate(ops_engine: SqlEngine, clock: FrozenClock) -> None:
    first = submit_report(ops_engine, _report(name="A"), settings=SETTINGS, clock=clock)
    second = submit_report(ops_engine, _report(name="B", **NEAR), settings=SETTINGS, clock=clock)
    with pytest.raises(UserError, match="not closed yet"):
        rate_case(ops_engine, first.reporter_id, 5)
    for action in ("accept", "start"):
        act(ops_engine, first.case_id, action, actor="clerk", clock=clock)
    act(ops_engine, first.case_id, "close", actor="clerk", outcome="confirmed", comment="已清理")
    for result in (first, second):
        found = get_report(ops_engine, result.reporter_id)
        assert found is not None
        reporter, case = found
        assert reporter.answer == "属实 (confirmed)：已清理" and reporter.answered_at is not None
        assert case.status == "closed"
    assert rate_case(ops_engine, second.reporter_id, 4, clock=clock).rating == 4
    with pytest.raises(UserError, match="out of range"):
        rate_case(ops_engine, first.reporter_id, 6)
    # A closed case takes no more reports: the next one opens afresh.
    assert not submit_report(ops_engine, _report(), settings=SETTINGS, clock=clock).merged


def test_unknown_service_is_refused(ops_engine: SqlEngine) -> None:
    with pytest.raises(UnknownService, match="unknown service_code 'ufo'"):
        submit_report(ops_engine, _report(service_code="ufo"), settings=SETTINGS)


def test_inspection_events_become_cases_and_resending_is_harmless(
    ops_engine: SqlEngine, clock: FrozenClock
) -> None:
    events = pa.table(
        {
            "event_id": ["drone-1", "drone-2", "patrol-7"],
            "channel": ["drone", "drone", "patrol"],
            "category": ["muck_spill", "muck_spill", "illegal_dumping"],
            "lon": [HERE["lon"], NEAR["lon"], FAR["lon"]],
            "lat": [HERE["lat"], NEAR["lat"], FAR["lat"]],
            "observed_at": pa.array(
                [clock.now - timedelta(minutes=m) for m in (30, 20, 10)], pa.timestamp("s", "UTC")
            ),
            "description": ["渣土撒漏", "渣土撒漏", "垃圾堆放"],
            "inspector": ["无人机 UAV-3", "无人机 UAV-3", "巡查员李四"],
        }
    )
    results = intake_inspections(ops_engine, events, settings=SETTINGS, clock=clock)
    assert [r.merged for r in results] == [False, True, False]
    assert results[0].case_id == results[1].case_id
    again = intake_inspections(ops_engine, events, settings=SETTINGS, clock=clock)
    assert [r.reporter_id for r in again] == [r.reporter_id for r in results]
    cases = list_cases(ops_engine)
    assert sorted(c.source for c in cases) == ["drone", "patrol"]
    assert all(c.status == "dispatched" for c in cases)
