"""Deadlines in working hours, and automatic escalation (督办) with a frozen clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine as SqlEngine

from citybrain.cases.desk import act, escalate_overdue, get_case
from citybrain.cases.opening import open_cases
from citybrain.cases.routing import RoutingRules
from citybrain.cases.settings import CaseSettings
from citybrain.cases.sla import SlaPolicy, WorkCalendar, add_working_hours, working_hours_between

from .conftest import FrozenClock, findings

CAL = WorkCalendar()


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026, Shanghai time, as UTC (Shanghai is UTC+8, no DST)."""
    return datetime(2026, 11, day, hour - 8, minute, tzinfo=UTC)


def test_hours_inside_one_morning() -> None:
    assert add_working_hours(shanghai(23, 9), 2, CAL) == shanghai(23, 11)


def test_lunch_break_is_skipped() -> None:
    assert add_working_hours(shanghai(23, 11), 2, CAL) == shanghai(23, 14, 30)


def test_friday_afternoon_rolls_over_the_weekend() -> None:
    # Fri 27th 16:30 + 8h: 1h on Friday, 3h Monday morning, 4h Monday afternoon.
    assert add_working_hours(shanghai(27, 16, 30), 8, CAL) == shanghai(30, 17, 30)


def test_a_start_outside_hours_begins_at_the_next_period() -> None:
    assert add_working_hours(shanghai(28, 10), 1, CAL) == datetime(2026, 11, 30, 2, tzinfo=UTC)
    assert add_working_hours(shanghai(23, 20), 1, CAL) == shanghai(24, 10)


def test_holidays_and_make_up_days() -> None:
    calendar = WorkCalendar(holidays=[date(2026, 11, 30)], extra_workdays=[date(2026, 11, 28)])
    # Fri 17:00 + 2h: 0.5h Friday, then Saturday is a make-up day (9:00–10:30).
    assert add_working_hours(shanghai(27, 17), 2, calendar) == shanghai(28, 10, 30)
    holiday = WorkCalendar(holidays=[date(2026, 11, 30)])
    assert add_working_hours(shanghai(27, 17), 2, holiday) == datetime(
        2026, 12, 1, 2, 30, tzinfo=UTC
    )  # Monday is a holiday: Tuesday 10:30


def test_working_hours_between_counts_only_working_time() -> None:
    assert working_hours_between(shanghai(27, 16, 30), shanghai(30, 17, 30), CAL) == 8
    assert working_hours_between(shanghai(30, 17, 30), shanghai(27, 16, 30), CAL) == -8


def test_sla_hours_per_topic_and_level() -> None:
    policy = SlaPolicy(topics={"muck_truck": {"high": 2}})
    assert policy.hours_for("muck_truck", "high") == 2
    assert policy.hours_for("muck_truck", "low") == 40
    assert policy.hours_for("group_rental", "medium") == 16


def test_escalation_across_a_weekend(ops_engine: SqlEngine) -> None:
    friday = FrozenClock(shanghai(27, 16, 30))
    settings = CaseSettings(
        routing=RoutingRules(default_department="街道办", supervisors={"街道办": "区督查室"})
    )
    case_id = open_cases(
        ops_engine, findings([{"subject_id": "D1"}]), settings=settings, clock=friday
    ).opened[0]
    act(ops_engine, case_id, "accept", actor="clerk", settings=settings, clock=friday)
    assert get_case(ops_engine, case_id).sla_due_at == shanghai(30, 17, 30)

    friday.now = shanghai(29, 12)  # Sunday noon: two days later, no working time used
    assert escalate_overdue(ops_engine, settings=settings, clock=friday) == []
    friday.now = shanghai(30, 17, 29)
    assert escalate_overdue(ops_engine, settings=settings, clock=friday) == []
    friday.now = shanghai(30, 17, 31)
    assert escalate_overdue(ops_engine, settings=settings, clock=friday) == [case_id]
    case = get_case(ops_engine, case_id, detail=True)
    assert case.status == "accepted"  # escalation keeps the case where it is
    assert case.supervisor == "区督查室" and case.escalated_at == shanghai(30, 17, 31)
    last = case.events[-1]
    assert (last.action, last.actor, last.details) == (
        "escalate",
        "system",
        {"supervisor": "区督查室"},
    )
    friday.advance(hours=5)
    assert escalate_overdue(ops_engine, settings=settings, clock=friday) == []  # once only


def test_closed_cases_are_never_escalated(ops_engine: SqlEngine, clock: FrozenClock) -> None:
    settings = CaseSettings(routing=RoutingRules(default_department="街道办"))
    case_id = open_cases(ops_engine, findings([{"subject_id": "D1"}]), settings=settings).opened[0]
    for action in ("accept", "start"):
        act(ops_engine, case_id, action, actor="c", clock=clock)
    act(ops_engine, case_id, "close", actor="c", outcome="rejected", clock=clock)
    clock.advance(days=30)
    assert escalate_overdue(ops_engine, settings=settings, clock=clock) == []
