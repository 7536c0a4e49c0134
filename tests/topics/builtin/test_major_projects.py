"""Major projects and economic operation on the hand-made economy (DuckDB): delays found with
their days late and a likely cause; indicators by industry and street with MoM, YoY and the
enterprise warnings beside them."""

from __future__ import annotations

import json
import warnings
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from citybrain.core.catalog import Catalog
from citybrain.topics import validate_findings
from citybrain.topics.builtin.economic_operation import EconomicOperation
from citybrain.topics.builtin.economic_operation.topic import INDICATORS_TABLE
from citybrain.topics.builtin.enterprise_warning import EnterpriseWarning
from citybrain.topics.builtin.major_projects import MajorProjects
from citybrain.topics.builtin.major_projects.delays import Schedule, find_delays, schedule_lag
from citybrain.topics.builtin.major_projects.topic import date_months
from citybrain.topics.runner import latest_findings, run_topic
from topics.builtin.economy_city import (  # type: ignore[import-not-found]
    EconomyCity,
    build_economy,
)


@pytest.fixture(scope="module")
def economy(tmp_path_factory: pytest.TempPathFactory) -> EconomyCity:
    return build_economy(tmp_path_factory.mktemp("economy-projects"), seed=11)


def test_a_project_on_plan_is_not_delayed_and_a_slip_is_measured() -> None:
    months = np.arange(24)
    start = np.array([0, 0])
    planned = np.clip(months[None, :] / 20.0, 0, 1).repeat(2, axis=0)
    actual = planned.copy()
    # the second slows to half the planned pace from month 10
    actual[1, 10:] = 0.5 + (planned[1, 10:] - 0.5) * 0.5
    found = find_delays(start, months, planned, actual, noise=0.01)
    assert found.delayed.tolist() == [False, True]
    assert found.break_month[1] == 10
    # at month 23 the plan is done (elapsed 23), the project is at 0.5 + 0.5 * 0.5 = 0.75, which
    # the plan reached at month 15: 8 months late
    assert found.days_late[1] == pytest.approx(8 * 30.44, abs=1.0)


def test_a_project_not_yet_started_is_on_plan_without_a_warning() -> None:
    """Reports before the planned start (plan 0 every month): the duration cannot be read, the
    project is not late — and no RuntimeWarning reaches the clerk's terminal (district seed 7)."""
    months = np.arange(6)
    planned = np.zeros((1, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = find_delays(np.array([9]), months, planned, planned.copy(), noise=0.01)
    assert not found.delayed[0] and found.days_late[0] == 0.0


def test_a_wrong_reading_makes_no_delay_and_does_not_move_a_real_one() -> None:
    months = np.arange(24)
    start = np.zeros(4, np.int64)
    planned = np.clip(months[None, :] / 20.0, 0, 1).repeat(4, axis=0)
    actual = planned + np.random.default_rng(3).normal(0, 0.01, planned.shape)
    actual[2:, 10:] = 0.5 + (planned[2:, 10:] - 0.5) * 0.5  # the last two slow from month 10
    actual[0, 23] /= 10  # on plan; its latest reading typed 10 times too small
    actual[1, 12] = 0.05  # on plan; one wrong reading mid-way
    actual[3, 16] += 0.3  # slipping; one reading far too high
    found = find_delays(start, months, planned, actual, noise=0.01)
    assert found.delayed.tolist() == [False, False, True, True]
    assert found.break_month[2:].tolist() == [10, 10]
    assert found.days_late[3] == pytest.approx(found.days_late[2], abs=3.0)
    assert found.days_late[3] == pytest.approx(8 * 30.44, abs=6.0)


def test_the_schedule_dates_give_the_days_late_without_reading_noise() -> None:
    # start 0, 20 months; project 0 halves its pace at month 10 (nodes at 25/50/75/100 %),
    # project 1 keeps to plan, project 2 was slow before its first report and has one point
    rows, months, planned, expected, last_p, last_d = [], [], [], [], [], []
    for p, slowed in ((0, 10), (1, 99)):
        for m in range(16):
            node = min(m // 5 + 1, 4) if m < slowed else 3
            end = node * 5.0
            rows.append(p)
            months.append(m)
            planned.append(end)
            expected.append(10 + (node / 4 - 0.5) * 20 / 0.5 if m >= slowed else end)
            last_p.append(end - 5.0)
            last_d.append(end - 5.0)
    rows += [2, 2]
    months += [14, 15]
    planned += [15.0, 15.0]
    expected += [18.0, 18.0]
    last_p += [10.0, 10.0]
    last_d += [10.0, 10.0]
    f = np.array
    found = schedule_lag(
        Schedule(
            row=f(rows),
            month=f(months, float),
            completion=np.full(len(rows), 20.0),
            node_planned=f(planned),
            node_expected=f(expected),
            last_planned=f(last_p),
            last_done=f(last_d),
        ),
        3,
    )
    # at month 15 project 0 is at 0.5 + 5/20 * 0.5 = 0.625, which the plan reached at 12.5
    assert found.days_late[0] == pytest.approx(2.5 * 30.44)
    assert found.slip[0] == pytest.approx(0.5)
    assert found.break_month[0] == 10
    assert found.days_late[1] == 0.0
    assert np.isnan(found.days_late[2])  # the progress fit decides


def test_dates_are_read_as_fractional_months() -> None:
    dates = pa.array([date(2023, 7, 1), date(2023, 7, 16), None], pa.date32())
    got = date_months(dates)
    assert got[:2] == pytest.approx([2023 * 12 + 6, 2023 * 12 + 6 + 15 / 31])
    assert np.isnan(got[2])


@pytest.mark.duckdb
def test_delays_are_found_with_days_late_and_a_cause(economy: EconomyCity) -> None:
    from citybrain.cli.main import app

    catalog = Catalog.open(economy.workspace.ops_db_url)
    with economy.workspace.engine() as engine:
        run_topic(MajorProjects(), economy.workspace, engine, catalog, run_id="p1")
        findings = latest_findings(engine, "major_projects")
    validate_findings(findings)
    truth = pq.read_table(economy.truth_dir / "project_delays.parquet")
    inside = truth.filter(pc.less(truth["delay_from_month"], economy.months - 1))
    inside = inside.filter(inside["delayed"])
    assert set(findings["subject_id"].to_pylist()) == set(inside["code"].to_pylist())
    for reasons in findings["reasons"].to_pylist():
        signals = {r["signal"] for r in reasons}
        assert "days_late" in signals
        assert any(s.startswith("cause_") for s in signals)
        assert all(r["text_zh"] and r["text_en"] for r in reasons)
    args = ["-w", str(economy.workspace.root), "topic", "evaluate", "major_projects",
            "--truth", str(economy.truth_dir), "--json"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["f1"] == 1.0
    assert figures["extra"]["days_late_abs_error_max"] <= 10.0
    assert figures["extra"]["planted_delays_after_period"] == 1


@pytest.mark.duckdb
def test_indicators_by_industry_and_street_with_warnings_beside(economy: EconomyCity) -> None:
    catalog = Catalog.open(economy.workspace.ops_db_url)
    with economy.workspace.engine() as engine:
        run_topic(EnterpriseWarning(), economy.workspace, engine, catalog, run_id="e1")
        run_topic(EconomicOperation(), economy.workspace, engine, catalog, run_id="e2")
        findings = latest_findings(engine, "economic_operation")
        table = engine.to_arrow(engine.table("topic", INDICATORS_TABLE))
    validate_findings(findings)
    dimensions = set(table["dimension"].to_pylist())
    assert dimensions == {"industry", "street", "district"}
    revenue = table.filter(
        pc.and_(pc.equal(table["dimension"], "industry"), pc.equal(table["indicator"], "revenue"))
    )
    # month on month is this month over the last, per series
    h = revenue.filter(pc.equal(revenue["key"], "H")).sort_by("period")
    values = h["value"].to_numpy(zero_copy_only=False)
    assert h["mom"].to_numpy(zero_copy_only=False)[1:] == pytest.approx(
        values[1:] / values[:-1] - 1
    )
    # 12 months back exist from month 13 on: year on year is filled there and only there
    assert h["yoy"].null_count == 12
    # the enterprise warnings appear beside the industries they fall in
    assert pc.sum(revenue["enterprise_warnings"]).as_py() > 0
    assert isinstance(findings, pa.Table)
