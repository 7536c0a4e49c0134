"""Enterprise early warning end to end on a hand-made economy (DuckDB): distressed firms warned
with reasons in zh and en, seasonal and new firms not, a short history never warned, key firms
first, service cases routed to the enterprise service centre, and the evaluation's figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import ruptures  # type: ignore[import-untyped]
from typer.testing import CliRunner

from citybrain.cases import RoutingRules, department_hints, route_table
from citybrain.core.catalog import Catalog
from citybrain.core.errors import UserError
from citybrain.topics import TopicContext, get_topic, validate_findings
from citybrain.topics.builtin.enterprise_warning import (
    EnterpriseWarning,
    EnterpriseWarningParams,
    detect,
)
from citybrain.topics.builtin.enterprise_warning.topic import (
    INSUFFICIENT,
    firm_status,
    score_enterprises,
)
from citybrain.topics.runner import latest_findings, run_topic
from topics.builtin.economy_city import (  # type: ignore[import-not-found]
    EconomyCity,
    build_economy,
)


@pytest.fixture(scope="module")
def economy(tmp_path_factory: pytest.TempPathFactory) -> EconomyCity:
    return build_economy(tmp_path_factory.mktemp("economy"))


def _roles(economy: EconomyCity, findings: pa.Table) -> set[str]:
    at = pc.index_in(findings.column("subject_id"), value_set=economy.firms.column(0))
    return set(economy.firms.column("role").take(at).to_pylist())


def _ctx(economy: EconomyCity, engine: object, params: EnterpriseWarningParams) -> TopicContext:
    return TopicContext(
        workspace=economy.workspace,
        engine=engine,  # type: ignore[arg-type]
        run_id="t",
        params=params,
        model_version="enterprise_warning-1",
    )


def test_the_level_shift_splits_where_ruptures_does() -> None:
    """The vectorised single split is the one ``ruptures`` finds with an L2 cost."""
    rng = np.random.default_rng(5)
    n, t = 40, 16
    breaks = rng.integers(4, 12, n)
    series = rng.normal(0, 0.1, (n, t)) - 0.8 * (np.arange(t)[None, :] >= breaks[:, None])
    shift = detect.level_shift(series, np.full(n, 0.1), min_before=2, min_after=2, window=None)
    for i in range(n):
        expected = ruptures.Binseg(model="l2", min_size=2, jump=1).fit(series[i]).predict(1)[0]
        assert shift.since[i, -1] == expected
    assert (shift.z[:, -1] < -5).all()


@pytest.mark.duckdb
def test_warns_distressed_firms_with_reasons_and_spares_seasonal_and_new(
    economy: EconomyCity,
) -> None:
    catalog = Catalog.open(economy.workspace.ops_db_url)
    topic = EnterpriseWarning()
    with economy.workspace.engine() as engine:
        run_topic(topic, economy.workspace, engine, catalog, run_id="w1")
        findings = latest_findings(engine, topic.name)
    validate_findings(findings)
    assert _roles(economy, findings) == {"distressed", "seasonal_distressed"}
    assert set(findings.column("level").to_pylist()) <= {"high", "medium", "low"}
    reasons = findings.column("reasons").to_pylist()
    texts = {"revenue_drop": ("营业收入", "revenue"), "ss_arrears": ("社保欠缴", "arrears"),
             "late_filings": ("逾期申报", "late")}  # fmt: skip
    leads = set()
    for row in reasons:
        # a fall in declared revenue or a precursor of one (arrears, late filing) leads each
        lead = max(row, key=lambda r: r["contribution"])
        assert lead["signal"] in texts, row
        assert lead["contribution"] > 0
        zh, en = texts[lead["signal"]]
        assert zh in lead["text_zh"] and en in lead["text_en"]
        leads.add(lead["signal"])
    assert "revenue_drop" in leads and "ss_arrears" in leads
    assert all(findings.column("street_id").is_valid().to_pylist())
    assert all(findings.column("lon").is_valid().to_pylist())


@pytest.mark.duckdb
def test_a_short_history_is_insufficient_never_a_warning(economy: EconomyCity) -> None:
    params = EnterpriseWarningParams()
    with economy.workspace.engine() as engine:
        scored = score_enterprises(_ctx(economy, engine, params))
        findings = EnterpriseWarning().findings(_ctx(economy, engine, params), scored)
    status = firm_status(scored, params.threshold)
    short = economy.firms.filter(pc.equal(economy.firms.column("role"), "short"))
    at = pc.index_in(short.column(0), value_set=status.column(0))
    assert status.column("status").take(at).to_pylist() == [INSUFFICIENT] * short.num_rows
    # the collapse in their last month is real, yet no warning is raised for them
    assert not pc.any(pc.is_in(findings.column("subject_id"), value_set=short.column(0))).as_py()
    assert "warning" in status.column("status").to_pylist()


@pytest.mark.duckdb
def test_key_enterprises_come_first_and_say_so(economy: EconomyCity) -> None:
    distressed = economy.firms.filter(pc.equal(economy.firms.column("role"), "distressed"))
    weakest = distressed.column("uscc")[distressed.num_rows - 1].as_py()
    params = EnterpriseWarningParams(key_enterprises=[weakest], key_share=0.0)
    with economy.workspace.engine() as engine:
        ctx = _ctx(economy, engine, params)
        findings = EnterpriseWarning().findings(ctx, score_enterprises(ctx))
    first = findings.column("subject_id")[0].as_py()
    assert first == distressed.column(0)[distressed.num_rows - 1].as_py()
    signals = [r["signal"] for r in findings.column("reasons")[0].as_py()]
    assert "key_enterprise" in signals


def test_warnings_become_service_cases_for_the_enterprise_service_centre() -> None:
    findings = pa.table(
        {
            "topic": ["enterprise_warning", "enterprise_warning"],
            "level": ["high", "low"],
            "grid_id": ["g1", None],
            "community_id": ["c1", None],
            "street_id": ["510109003", None],
        }
    )
    routed = route_table(RoutingRules(), findings, department_hints([EnterpriseWarning]))
    assert routed.column("department").to_pylist() == ["企业服务中心", "企业服务中心"]


def test_levels_must_rise() -> None:
    with pytest.raises(ValueError, match="levels must rise"):
        EnterpriseWarningParams(threshold=0.8, orange=0.6, high=0.9)


@pytest.mark.duckdb
def test_evaluate_prints_the_early_warning_figures(economy: EconomyCity) -> None:
    from citybrain.cli.main import app

    assert isinstance(get_topic("enterprise_warning"), EnterpriseWarning)
    catalog = Catalog.open(economy.workspace.ops_db_url)
    with economy.workspace.engine() as engine:
        run_topic(EnterpriseWarning(), economy.workspace, engine, catalog, run_id="w2")
    args = ["-w", str(economy.workspace.root), "topic", "evaluate", "enterprise_warning",
            "--truth", str(economy.truth_dir), "--json"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    for key in ("auc", "median_lead_months", "precision", "seasonal_false_warning_rate",
                "new_false_warning_rate"):  # fmt: skip
        assert key in figures
    assert figures["auc"] > 0.95
    assert figures["precision"] > 0.9
    assert figures["seasonal_false_warning_rate"] == 0.0
    assert figures["new_false_warning_rate"] == 0.0
    # arrears and late filings from three months before the onset: warned ahead of it
    assert 1 <= figures["median_lead_months"] <= 3


def test_a_missing_truth_file_is_one_clear_line(economy: EconomyCity, tmp_path: Path) -> None:
    from citybrain.cli.main import app

    args = ["-w", str(economy.workspace.root), "topic", "evaluate", "enterprise_warning",
            "--truth", str(tmp_path), "--json"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert isinstance(result.exception, UserError)
    assert "enterprise_distress" in str(result.exception)
    assert "\n" not in str(result.exception)
