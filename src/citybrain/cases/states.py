"""The case state machine (pure): statuses, actions, and which action is legal from where.

新建 new → 派发 dispatched → 签收 accepted → 处置中 in_progress → 办结 closed → 归档 archived,
with 退回 returned (back to the dispatcher), 延期 extension request / approval / refusal and
督办 escalation. Extension and escalation keep the status; they change the deadline and who
watches the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from citybrain.core.errors import UserError


class Status(StrEnum):
    new = "new"
    dispatched = "dispatched"
    accepted = "accepted"
    in_progress = "in_progress"
    returned = "returned"
    closed = "closed"
    archived = "archived"


class Outcome(StrEnum):
    confirmed = "confirmed"  # 属实
    rejected = "rejected"  # 不属实
    unverifiable = "unverifiable"  # 无法核实


class Action(StrEnum):
    create = "create"
    dispatch = "dispatch"
    accept = "accept"
    start = "start"
    return_ = "return"
    close = "close"
    archive = "archive"
    request_extension = "request_extension"
    approve_extension = "approve_extension"
    refuse_extension = "refuse_extension"
    escalate = "escalate"
    attach = "attach"  # new evidence or a merged report; the status stays


STATUS_ZH = {
    Status.new: "新建",
    Status.dispatched: "派发",
    Status.accepted: "签收",
    Status.in_progress: "处置中",
    Status.returned: "退回",
    Status.closed: "办结",
    Status.archived: "归档",
}
OUTCOME_ZH = {
    Outcome.confirmed: "属实",
    Outcome.rejected: "不属实",
    Outcome.unverifiable: "无法核实",
}

# Statuses in which a case is open: a new finding for its subject attaches instead of opening.
OPEN_STATUSES = frozenset(
    {Status.new, Status.dispatched, Status.accepted, Status.in_progress, Status.returned}
)
# Statuses in which a department holds the case and its deadline runs.
ACTIVE_STATUSES = frozenset({Status.dispatched, Status.accepted, Status.in_progress})

_WORKING = frozenset({Status.accepted, Status.in_progress})

# action → (statuses it is legal from, status it leads to; None keeps the status)
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status | None]] = {
    Action.dispatch: (frozenset({Status.new, Status.returned}), Status.dispatched),
    Action.accept: (frozenset({Status.dispatched}), Status.accepted),
    Action.start: (frozenset({Status.accepted}), Status.in_progress),
    Action.return_: (frozenset(ACTIVE_STATUSES), Status.returned),
    Action.close: (frozenset({Status.in_progress}), Status.closed),
    Action.archive: (frozenset({Status.closed}), Status.archived),
    Action.request_extension: (_WORKING, None),
    Action.approve_extension: (_WORKING, None),
    Action.refuse_extension: (_WORKING, None),
    Action.escalate: (frozenset(OPEN_STATUSES - {Status.new}), None),
    Action.attach: (frozenset(OPEN_STATUSES), None),
}


def status_label(status: str) -> str:
    """``派发 (dispatched)``: how the CLI and the case desk show a status."""
    return f"{STATUS_ZH[Status(status)]} ({status})"


class IllegalTransition(UserError):
    """An action the case's current status does not allow."""

    def __init__(self, case_id: int, status: str, action: str, reason: str = "") -> None:
        allowed = ", ".join(a.value for a in allowed_actions(Status(status))) or "none"
        why = f": {reason}" if reason else ""
        super().__init__(
            f"case {case_id} is {status_label(status)}; cannot {action}{why}",
            hint=f"actions allowed now: {allowed}",
        )
        self.case_id = case_id
        self.status = status
        self.action = action


@dataclass(frozen=True)
class Step:
    action: Action
    from_status: Status
    to_status: Status


def allowed_actions(status: Status) -> list[Action]:
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


def next_status(case_id: int, status: str, action: Action) -> Step:
    """The step ``action`` takes from ``status``, or :class:`IllegalTransition`."""
    current = Status(status)
    if action not in TRANSITIONS:
        raise IllegalTransition(case_id, status, action.value)
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise IllegalTransition(case_id, status, action.value)
    return Step(action, current, target or current)
