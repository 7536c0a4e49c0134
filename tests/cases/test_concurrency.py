"""Two clerks act on one case at once: one succeeds, the other gets a clear conflict."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine as SqlEngine

from citybrain.cases.desk import CaseConflict, act, get_case
from citybrain.cases.opening import open_cases
from citybrain.cases.routing import RoutingRules
from citybrain.cases.settings import CaseSettings
from citybrain.core.opsdb import connect, upgrade

from .conftest import MONDAY_10, findings

SETTINGS = CaseSettings(routing=RoutingRules(default_department="街道办"))


@pytest.fixture
def any_ops_engine(ops_db_url: str) -> Iterator[SqlEngine]:
    ops_engine = connect(ops_db_url)
    upgrade(ops_engine)
    yield ops_engine
    ops_engine.dispose()


def _race(
    ops_engine: SqlEngine, case_id: int, version: int | None, clock: object = None
) -> list[object]:
    outcomes: list[object] = [None, None]

    def clerk(index: int) -> None:
        try:
            kwargs = {"clock": clock} if clock is not None else {}
            act(
                ops_engine, case_id, "accept", actor=f"clerk-{index}", expected_version=version,
                settings=SETTINGS, **kwargs,  # type: ignore[arg-type]
            )  # fmt: skip
            outcomes[index] = "ok"
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=clerk, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def _check_one_winner(ops_engine: SqlEngine, case_id: int, outcomes: list[object]) -> None:
    assert sorted(map(type, outcomes), key=str) == sorted([str, CaseConflict], key=str), outcomes
    loser = next(o for o in outcomes if isinstance(o, CaseConflict))
    assert f"case {case_id} was changed by someone else" in str(loser)
    winner = f"clerk-{outcomes.index('ok')}"
    case = get_case(ops_engine, case_id, detail=True)
    accepts = [e for e in case.events if e.action == "accept"]
    assert case.status == "accepted" and case.assignee == winner
    assert [e.actor for e in accepts] == [winner]  # the winner's step is kept, nothing doubled


def test_two_clerks_with_the_same_version(any_ops_engine: SqlEngine) -> None:
    case_id = open_cases(
        any_ops_engine, findings([{"subject_id": "D1"}]), settings=SETTINGS
    ).opened[0]
    seen = get_case(any_ops_engine, case_id).version
    _check_one_winner(any_ops_engine, case_id, _race(any_ops_engine, case_id, seen))


@pytest.mark.postgres
def test_simultaneous_writers_are_caught_by_the_version_column(
    postgres_server: object, fresh_postgres_url: object
) -> None:
    """Both read the same version before either writes; the row version refuses the second."""
    ops_engine = connect(fresh_postgres_url)  # type: ignore[arg-type]
    upgrade(ops_engine)
    try:
        case_id = open_cases(
            ops_engine, findings([{"subject_id": "D1"}]), settings=SETTINGS
        ).opened[0]
        barrier = threading.Barrier(2, timeout=30)

        def clock() -> datetime:  # called after the case is read: both wait here, then write
            barrier.wait()
            return MONDAY_10

        _check_one_winner(ops_engine, case_id, _race(ops_engine, case_id, None, clock))
    finally:
        ops_engine.dispose()
