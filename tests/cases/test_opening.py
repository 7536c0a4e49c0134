"""Findings above threshold open cases; an open subject attaches new evidence instead."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select

from citybrain.cases.desk import act, get_case, list_cases
from citybrain.cases.opening import open_cases
from citybrain.cases.opsdb_models import Case, CaseEvidence
from citybrain.cases.routing import RoutingRule, RoutingRules
from citybrain.cases.settings import CaseSettings
from citybrain.core.opsdb import session

from .conftest import FrozenClock, findings


def _count(ops_engine: SqlEngine, model: type) -> int:
    with session(ops_engine) as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_above_threshold_open_and_below_do_not(ops_engine: SqlEngine, clock: FrozenClock) -> None:
    table = findings(
        [
            {"subject_id": "D1", "score": 0.9},
            {"subject_id": "D2", "score": 0.55, "level": "medium"},
            {"subject_id": "D3", "score": 0.2, "level": "low"},
        ]
    )
    result = open_cases(ops_engine, table, clock=clock)
    assert len(result.opened) == 2
    assert result.below_threshold == 1
    subjects = {c.subject_id for c in list_cases(ops_engine)}
    assert subjects == {"D1", "D2"}


def test_topic_threshold_overrides_the_default(ops_engine: SqlEngine, clock: FrozenClock) -> None:
    settings = CaseSettings(thresholds={"group_rental": 0.95})
    result = open_cases(
        ops_engine, findings([{"subject_id": "D1", "score": 0.9}]), settings=settings
    )
    assert result.opened == [] and result.below_threshold == 1


def test_same_subject_in_one_batch_opens_one_case(
    ops_engine: SqlEngine, clock: FrozenClock
) -> None:
    table = findings(
        [
            {"subject_id": "D1", "period": "2026-09", "score": 0.7, "level": "medium"},
            {"subject_id": "D1", "period": "2026-10", "score": 0.95},
        ]
    )
    result = open_cases(ops_engine, table, clock=clock)
    assert len(result.opened) == 1
    case = get_case(ops_engine, result.opened[0], detail=True)
    assert case.score == 0.95 and case.period == "2026-10"  # the strongest finding heads it
    assert sorted(e.period for e in case.evidence) == ["2026-09", "2026-10"]
    assert case.evidence[0].reasons[0]["signal"] == "electricity"


def test_open_case_attaches_new_evidence(ops_engine: SqlEngine, clock: FrozenClock) -> None:
    first = open_cases(ops_engine, findings([{"subject_id": "D1"}]), clock=clock)
    clock.advance(days=30)
    second = open_cases(
        ops_engine, findings([{"subject_id": "D1", "period": "2026-11"}, {"subject_id": "D9"}]),
        clock=clock,
    )  # fmt: skip
    assert len(second.opened) == 1  # only D9 is new
    assert second.attached_to == first.opened
    case = get_case(ops_engine, first.opened[0], detail=True)
    assert [e.period for e in case.evidence] == ["2026-10", "2026-11"]
    assert [e.action for e in case.events][-1] == "attach"
    assert case.version == 1  # attaching evidence does not race the clerks' optimistic lock


def test_rerunning_the_same_findings_changes_nothing(
    ops_engine: SqlEngine, clock: FrozenClock
) -> None:
    table = findings([{"subject_id": "D1"}, {"subject_id": "D2"}])
    open_cases(ops_engine, table, clock=clock)
    again = open_cases(ops_engine, table, clock=clock)
    assert again.opened == [] and again.evidence == 0 and again.attached_to == []
    assert _count(ops_engine, Case) == 2 and _count(ops_engine, CaseEvidence) == 2


def test_a_closed_case_lets_a_new_one_open(ops_engine: SqlEngine, clock: FrozenClock) -> None:
    settings = CaseSettings(routing=RoutingRules(default_department="街道办"))
    case_id = open_cases(ops_engine, findings([{"subject_id": "D1"}]), settings=settings).opened[0]
    for action in ("accept", "start"):
        act(ops_engine, case_id, action, actor="clerk", settings=settings, clock=clock)
    act(ops_engine, case_id, "close", actor="clerk", outcome="confirmed", clock=clock)
    reopened = open_cases(ops_engine, findings([{"subject_id": "D1", "period": "2026-11"}]))
    assert len(reopened.opened) == 1 and reopened.opened[0] != case_id


def test_routed_cases_are_dispatched_with_a_deadline(
    ops_engine: SqlEngine, clock: FrozenClock
) -> None:
    rules = RoutingRules(
        default_department=None,
        rules=[RoutingRule(name="gr", topics=["group_rental"], departments=["街道办", "公安"])],
    )
    table = findings(
        [{"subject_id": "D1"}, {"subject_id": "E1", "topic": "enterprise", "subject_type": "x"}]
    )
    result = open_cases(ops_engine, table, settings=CaseSettings(routing=rules), clock=clock)
    assert result.dispatched == 1 and result.unrouted == 1
    by_subject = {c.subject_id: c for c in list_cases(ops_engine)}
    routed = by_subject["D1"]
    assert routed.status == "dispatched" and routed.department == "街道办"
    assert routed.co_departments == ["公安"] and routed.routing_rule == "gr"
    assert routed.sla_due_at is not None and routed.sla_due_at > clock.now
    assert by_subject["E1"].status == "new" and by_subject["E1"].department is None


def test_bulk_opening_and_attaching_on_both_databases(ops_db_url: str) -> None:
    from citybrain.core.opsdb import connect, upgrade

    ops_engine = connect(ops_db_url)
    try:
        upgrade(ops_engine)
        clock = FrozenClock()
        rows = [{"subject_id": f"D{i}", "street_id": f"S{i % 3}"} for i in range(1200)]
        first = open_cases(ops_engine, findings(rows), clock=clock)
        assert len(first.opened) == 1200 and first.dispatched == 1200 and first.evidence == 1200
        clock.advance(days=31)
        later = [{**row, "period": "2026-11"} for row in rows[:700]]
        second = open_cases(ops_engine, findings([*later, {"subject_id": "NEW"}]), clock=clock)
        assert len(second.opened) == 1 and len(second.attached_to) == 700
        assert second.evidence == 701
        assert _count(ops_engine, Case) == 1201 and _count(ops_engine, CaseEvidence) == 1901
        case = get_case(ops_engine, first.opened[0], detail=True)
        assert [e.action for e in case.events] == ["create", "dispatch", "attach"]
        assert case.events[-1].from_status == case.events[-1].to_status == "dispatched"
    finally:
        ops_engine.dispose()


def test_graver_evidence_raises_the_level_and_brings_the_deadline_forward(
    ops_engine: SqlEngine, clock: FrozenClock
) -> None:
    settings = CaseSettings(routing=RoutingRules(default_department="街道办"))
    low = findings([{"subject_id": "D1", "score": 0.55, "level": "low"}])
    case_id = open_cases(ops_engine, low, settings=settings, clock=clock).opened[0]
    before = get_case(ops_engine, case_id)
    assert before.level == "low" and before.sla_due_at is not None
    clock.advance(days=1)
    graver = findings([{"subject_id": "D1", "period": "2026-11", "score": 0.95}])
    open_cases(ops_engine, graver, settings=settings, clock=clock)
    after = get_case(ops_engine, case_id, detail=True)
    assert after.level == "high"
    assert after.sla_due_at is not None and after.sla_due_at < before.sla_due_at
    assert after.events[-1].details["level"] == {"from": "low", "to": "high"}
    assert "升为" in after.events[-1].comment
    # Milder evidence never lowers it.
    open_cases(ops_engine, findings([{"subject_id": "D1", "period": "2026-12", "level": "low"}]),
               settings=settings, clock=clock)  # fmt: skip
    assert get_case(ops_engine, case_id).level == "high"


def test_a_reason_without_a_figure_reaches_the_case_as_null_on_both_databases(
    ops_db_url: str,
) -> None:
    """A topic writes NaN where a reason has no figure; JSON has no NaN, and PostgreSQL refuses
    it, so the case's evidence keeps null there."""
    from citybrain.core.opsdb import connect, upgrade

    ops_engine = connect(ops_db_url)
    try:
        upgrade(ops_engine)
        reason = {
            "signal": "policy",
            "observed": float("nan"),
            "expected": 1.0,
            "contribution": float("nan"),
            "text_zh": "符合稳岗补贴条件",
            "text_en": "eligible for the employment subsidy",
        }
        table = findings([{"subject_id": "F0"}, {"subject_id": "F1", "reasons": [reason]}])
        # in chunks that are slices, as a topic's concatenated groups are
        table = pa.Table.from_batches(
            [table.slice(0, 1).to_batches()[0], table.slice(1).to_batches()[0]]
        )
        opened = open_cases(ops_engine, table, clock=FrozenClock())
        assert len(opened.opened) == 2 and opened.evidence == 2
        with session(ops_engine) as db:
            query = select(CaseEvidence.subject_id, CaseEvidence.reasons)
            stored: dict[str, Any] = {row.subject_id: row.reasons for row in db.execute(query)}
        assert stored["F1"] == [{**reason, "observed": None, "contribution": None}]
        assert stored["F0"][0]["observed"] == 900.0
    finally:
        ops_engine.dispose()
