"""Every transition of the state machine, every illegal one, and what each records."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine as SqlEngine

from citybrain.cases.desk import CaseConflict, CaseNotFound, MissingValue, act, get_case
from citybrain.cases.opening import open_cases
from citybrain.cases.routing import RoutingRules
from citybrain.cases.settings import CaseSettings
from citybrain.cases.states import (
    TRANSITIONS,
    Action,
    IllegalTransition,
    Status,
    allowed_actions,
    status_label,
)

from .conftest import FrozenClock, findings

SETTINGS = CaseSettings(auto_dispatch=False, routing=RoutingRules(default_department=None))

# How to bring a fresh (new) case to each status.
PATHS: dict[Status, list[tuple[str, dict[str, object]]]] = {
    Status.new: [],
    Status.dispatched: [("dispatch", {"department": "街道办"})],
    Status.accepted: [("dispatch", {"department": "街道办"}), ("accept", {})],
    Status.in_progress: [("dispatch", {"department": "街道办"}), ("accept", {}), ("start", {})],
    Status.returned: [("dispatch", {"department": "街道办"}), ("return", {"comment": "不归我管"})],
    Status.closed: [
        ("dispatch", {"department": "街道办"}),
        ("accept", {}),
        ("start", {}),
        ("close", {"outcome": "confirmed"}),
    ],
}
PATHS[Status.archived] = [*PATHS[Status.closed], ("archive", {})]

# The values each action needs to be legal where its status allows it.
VALUES: dict[Action, dict[str, object]] = {
    Action.dispatch: {"department": "街道办"},
    Action.return_: {"comment": "不归我管"},
    Action.close: {"outcome": "rejected"},
    Action.request_extension: {"hours": 7, "comment": "需协调物业"},
}


def _case_at(ops_engine: SqlEngine, clock: FrozenClock, status: Status, subject: str = "D1") -> int:
    case_id = open_cases(ops_engine, findings([{"subject_id": subject}]), settings=SETTINGS).opened[
        0
    ]
    for action, values in PATHS[status]:
        act(ops_engine, case_id, action, actor="tester", settings=SETTINGS, clock=clock, **values)  # type: ignore[arg-type]
    assert get_case(ops_engine, case_id).status == status.value
    return case_id


def test_the_happy_path_records_every_step(ops_engine: SqlEngine, clock: FrozenClock) -> None:
    case_id = _case_at(ops_engine, clock, Status.new)
    steps = [
        ("dispatch", "dispatcher", {"department": "街道办"}, "dispatched"),
        ("accept", "clerk-wang", {}, "accepted"),
        ("start", "clerk-wang", {}, "in_progress"),
        (
            "close",
            "clerk-wang",
            {"outcome": "confirmed", "comment": "现场核实 12 人居住"},
            "closed",
        ),
        ("archive", "dispatcher", {}, "archived"),
    ]
    photo = [{"name": "site.jpg", "url": "file:///evidence/site.jpg", "kind": "photo"}]
    for action, actor, values, status in steps:
        clock.advance(minutes=30)
        case = act(
            ops_engine, case_id, action, actor=actor, attachments=photo, settings=SETTINGS,
            clock=clock, **values,  # type: ignore[arg-type]
        )  # fmt: skip
        assert case.status == status
    case = get_case(ops_engine, case_id, detail=True)
    assert case.outcome == "confirmed" and case.assignee == "clerk-wang"
    assert case.open_key is None and case.closed_at is not None
    events = case.events
    assert [e.action for e in events] == [
        "create",
        "dispatch",
        "accept",
        "start",
        "close",
        "archive",
    ]
    assert [e.to_status for e in events][1:] == [s for *_, s in steps]
    assert all(e.attachments == photo for e in events[1:])
    assert events[4].comment == "现场核实 12 人居住" and events[4].actor == "clerk-wang"
    assert [e.at for e in events[1:]] == sorted(e.at for e in events[1:])
    assert case.version == 6


def test_return_goes_back_to_the_dispatcher_and_can_be_redispatched(
    ops_engine: SqlEngine, clock: FrozenClock
) -> None:
    case_id = _case_at(ops_engine, clock, Status.accepted)
    case = act(ops_engine, case_id, "return", actor="clerk", comment="地址不在本辖区", clock=clock)
    assert case.status == "returned" and case.assignee is None
    case = act(
        ops_engine, case_id, "dispatch", actor="dispatcher", department="科技园街道", clock=clock
    )
    assert case.status == "dispatched" and case.department == "科技园街道"


def test_return_without_a_reason_is_refused(ops_engine: SqlEngine, clock: FrozenClock) -> None:
    case_id = _case_at(ops_engine, clock, Status.dispatched)
    with pytest.raises(MissingValue, match="reason"):
        act(ops_engine, case_id, "return", actor="clerk", clock=clock)


def test_close_needs_an_outcome(ops_engine: SqlEngine, clock: FrozenClock) -> None:
    case_id = _case_at(ops_engine, clock, Status.in_progress)
    with pytest.raises(MissingValue, match="outcome"):
        act(ops_engine, case_id, "close", actor="clerk", clock=clock)
    for outcome in ("confirmed", "rejected", "unverifiable"):
        assert outcome in {"confirmed", "rejected", "unverifiable"}


@pytest.mark.parametrize("outcome", ["confirmed", "rejected", "unverifiable"])
def test_every_outcome_closes(ops_engine: SqlEngine, clock: FrozenClock, outcome: str) -> None:
    case_id = _case_at(ops_engine, clock, Status.in_progress)
    assert (
        act(ops_engine, case_id, "close", actor="c", outcome=outcome, clock=clock).outcome
        == outcome
    )


def test_dispatch_without_a_department_is_refused(
    ops_engine: SqlEngine, clock: FrozenClock
) -> None:
    case_id = _case_at(ops_engine, clock, Status.new)
    with pytest.raises(MissingValue, match="no department"):
        act(ops_engine, case_id, "dispatch", actor="dispatcher", clock=clock)


ILLEGAL = [
    (status, action)
    for status in Status
    for action in TRANSITIONS
    if status not in TRANSITIONS[action][0] and action is not Action.attach
]


@pytest.mark.parametrize(("status", "action"), ILLEGAL, ids=lambda v: str(v))
def test_illegal_transitions_are_refused(
    ops_engine: SqlEngine, clock: FrozenClock, status: Status, action: Action
) -> None:
    case_id = _case_at(ops_engine, clock, status)
    before = get_case(ops_engine, case_id, detail=True)
    with pytest.raises(IllegalTransition) as caught:
        act(ops_engine, case_id, action, actor="x", clock=clock, **VALUES.get(action, {}))  # type: ignore[arg-type]
    message = str(caught.value)
    assert f"case {case_id}" in message and status.value in message and action.value in message
    after = get_case(ops_engine, case_id, detail=True)
    assert after.version == before.version and len(after.events) == len(before.events)


def test_every_legal_transition_is_walked(ops_engine: SqlEngine, clock: FrozenClock) -> None:
    walked = set()
    for index, status in enumerate(Status):
        for action in allowed_actions(status):
            if action in (Action.attach, Action.approve_extension, Action.refuse_extension):
                continue
            case_id = _case_at(ops_engine, clock, status, subject=f"S{index}-{action.value}")
            act(ops_engine, case_id, action, actor="x", clock=clock, **VALUES.get(action, {}))  # type: ignore[arg-type]
            walked.add((status, action))
    assert (Status.returned, Action.dispatch) in walked and (
        Status.closed,
        Action.archive,
    ) in walked


def test_extension_request_approval_and_refusal(ops_engine: SqlEngine, clock: FrozenClock) -> None:
    case_id = _case_at(ops_engine, clock, Status.accepted)
    due = get_case(ops_engine, case_id).sla_due_at
    assert due is not None
    with pytest.raises(IllegalTransition, match="no extension request is pending"):
        act(ops_engine, case_id, "approve_extension", actor="lead", clock=clock)
    act(
        ops_engine,
        case_id,
        "request_extension",
        actor="clerk",
        hours=7,
        comment="需协调",
        clock=clock,
    )
    with pytest.raises(IllegalTransition, match="already pending"):
        act(
            ops_engine,
            case_id,
            "request_extension",
            actor="c",
            hours=3,
            comment="再延",
            clock=clock,
        )
    case = act(ops_engine, case_id, "approve_extension", actor="lead", clock=clock)
    assert case.status == "accepted" and case.extension_requested_hours is None
    assert case.sla_due_at is not None and case.sla_due_at > due
    act(
        ops_engine,
        case_id,
        "request_extension",
        actor="clerk",
        hours=7,
        comment="还要",
        clock=clock,
    )
    refused = act(ops_engine, case_id, "refuse_extension", actor="lead", clock=clock)
    assert refused.sla_due_at == case.sla_due_at
    actions = [e.action for e in get_case(ops_engine, case_id, detail=True).events]
    assert actions[-4:] == [
        "request_extension", "approve_extension", "request_extension", "refuse_extension"
    ]  # fmt: skip


def test_stale_version_is_a_conflict(ops_engine: SqlEngine, clock: FrozenClock) -> None:
    case_id = _case_at(ops_engine, clock, Status.dispatched)
    seen = get_case(ops_engine, case_id).version
    act(ops_engine, case_id, "accept", actor="clerk-a", expected_version=seen, clock=clock)
    with pytest.raises(CaseConflict, match="changed by someone else"):
        act(ops_engine, case_id, "return", actor="clerk-b", comment="x", expected_version=seen)


def test_unknown_case(ops_engine: SqlEngine) -> None:
    with pytest.raises(CaseNotFound, match="case 99"):
        act(ops_engine, 99, "accept", actor="x")


def test_status_labels_are_bilingual() -> None:
    assert status_label("dispatched") == "派发 (dispatched)"
    assert status_label("in_progress") == "处置中 (in_progress)"
