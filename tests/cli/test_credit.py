"""``citybrain credit draw / replay / dispute / review / history`` on a graded hand-made lake."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from scipy.stats import chisquare
from sqlalchemy import select

from citybrain.api.opsdb_models import AuditLog, FirmCommitment
from citybrain.cli.ui import console
from citybrain.core.catalog import Catalog
from citybrain.core.engine import Engine
from citybrain.core.opsdb import connect, session
from citybrain.core.opsdb.base import utcnow
from citybrain.topics import get_topic
from citybrain.topics.builtin.credit import draw as drawing
from citybrain.topics.builtin.credit.topic import SCORES_TABLE
from citybrain.topics.opsdb_models import CreditInspectionDraw, CreditScoreHistory
from citybrain.topics.runner import run_topic
from cli.runner import run_cli
from topics.builtin.credit_city import CreditCity, build_credit_city

INSPECTORS = "# 执法人员名录\n" + "\n".join(f"检查员{i:02d}" for i in range(12)) + "\n"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> CreditCity:
    """One graded lake for the module (the city build and topic run are most of its time): no
    test depends on what another did to it — draws are only logged by the draw test, and the
    repair test lifts one listed firm while D firms remain for the documents test."""
    city = build_credit_city(tmp_path_factory.mktemp("credit-cli"), n=300)
    catalog = Catalog.open(city.workspace.ops_db_url)
    with city.workspace.engine() as engine:
        run_topic(get_topic("credit"), city.workspace, engine, catalog)
    catalog.close()
    (city.workspace.root / "inspectors.txt").write_text(INSPECTORS, "utf-8")
    return city


@pytest.fixture
def city(graded: CreditCity, monkeypatch: pytest.MonkeyPatch) -> CreditCity:
    monkeypatch.setattr(console, "width", 240)
    return graded


def _cli(city: CreditCity, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = run_cli(["-w", str(city.workspace.root), "credit", *args], capsys)
    assert code == 0, out + err
    return out


def _draw(city: CreditCity, capsys: pytest.CaptureFixture[str], seed: int) -> dict[str, object]:
    inspectors = str(city.workspace.root / "inspectors.txt")
    out = _cli(city, capsys, "draw", "--seed", str(seed), "--inspectors", inspectors, "--json")
    result: dict[str, object] = json.loads(out)
    return result


def test_same_seed_same_plan_logged_and_replayed(
    city: CreditCity, capsys: pytest.CaptureFixture[str]
) -> None:
    first, again, other = _draw(city, capsys, 11), _draw(city, capsys, 11), _draw(city, capsys, 12)
    assert first["plan"] == again["plan"] and first["plan_sha256"] == again["plan_sha256"]
    assert first["plan"] != other["plan"]
    plan = first["plan"]
    assert isinstance(plan, list) and plan
    assert all(len(set(row["inspectors"].split("、"))) == 2 for row in plan)
    ops = connect(city.workspace.ops_db_url)
    with session(ops) as db:
        logged = db.scalars(select(CreditInspectionDraw).order_by(CreditInspectionDraw.id)).all()
        assert [d.seed for d in logged] == [11, 11, 12]
        assert logged[0].plan == plan
        assert db.scalars(select(AuditLog).where(AuditLog.action == "credit.draw")).all()
    ops.dispose()
    assert "reproduced from seed 11" in _cli(city, capsys, "replay", str(first["draw_id"]))
    table = _cli(city, capsys, "draw", "--seed", "11", "--inspectors",
                 str(city.workspace.root / "inspectors.txt"))  # fmt: skip
    assert "双随机抽查计划" in table and str(plan[0]["uscc"]) in table
    # only --seed: the roster of the last logged draw, or the workspace's credit_inspectors.txt
    seed_only = json.loads(_cli(city, capsys, "draw", "--seed", "11", "--json"))
    assert seed_only["plan"] == plan
    (city.workspace.root / "credit_inspectors.txt").write_text("甲\n乙\n", "utf-8")
    roster = json.loads(_cli(city, capsys, "draw", "--seed", "11", "--json"))["plan"]
    assert {name for row in roster for name in row["inspectors"].split("、")} == {"甲", "乙"}


def test_grade_weighted_frequencies_chi_square() -> None:
    """Over many enterprises the share drawn per grade is its rate (and not uniform)."""
    rng = np.random.default_rng(0)
    grades = rng.choice(["A", "B", "C", "D"], size=40_000, p=[0.6, 0.25, 0.1, 0.05])
    scores = pa.table({
        "uscc": [f"U{i:06d}" for i in range(grades.size)], "name": ["x"] * grades.size,
        "grade": grades.tolist(), "street_id": ["S"] * grades.size,
    })  # fmt: skip
    plan = drawing.draw(scores, "run", 2026, [f"i{k}" for k in range(5)])
    selected = drawing.selected_by_grade(plan.plan)
    letters = ["A", "B", "C", "D"]
    drawn = np.array([selected[g] for g in letters], dtype=float)
    population = np.array([plan.population[g] for g in letters], dtype=float)
    rates = np.array([drawing.DEFAULT_RATES[g] for g in letters])
    # observed selected / not selected per grade against population × rate
    observed = np.r_[drawn, population - drawn]
    expected = np.r_[population * rates, population * (1 - rates)]
    assert chisquare(observed, expected, ddof=0).pvalue > 0.01
    uniform = population * drawn.sum() / population.sum()
    assert chisquare(drawn, uniform).pvalue < 1e-6  # the grades do change the odds


def test_credit_repair_changes_grade_with_history_and_audit(
    city: CreditCity, capsys: pytest.CaptureFixture[str]
) -> None:
    with city.workspace.engine() as engine:
        court = engine.to_arrow(engine.table("std", "dishonest_judgment"))
        scores = engine.to_arrow(engine.table("topic", SCORES_TABLE))
    # a listed firm with no other mark: withdrawing its listing lifts it out of D
    others = pa.compute.and_(
        pa.compute.equal(scores["penalties"], 0), pa.compute.greater(scores["model_points"], 60)
    )
    clean = set(scores.filter(others)["uscc"].to_pylist())
    rows = [r for r in court.to_pylist() if r["identifier"] in clean]
    uscc, case = rows[0]["identifier"], rows[0]["case_code"]
    before = scores.filter(pa.compute.equal(scores["uscc"], uscc))["grade"][0].as_py()
    assert before == "D"
    out = _cli(city, capsys, "dispute", uscc, "--kind", "dishonest", "--record", case,
               "--reason", "已履行完毕，法院已屏蔽", "--by", "clerk-li")  # fmt: skip
    assert "dispute 1 filed" in out
    code, _, err = run_cli(["-w", str(city.workspace.root), "credit", "review", "1", "--uphold",
                            "--by", "clerk-li"], capsys)  # fmt: skip
    assert code != 0 and "steward other than" in err
    out = _cli(city, capsys, "review", "1", "--uphold", "--by", "steward-zhao")
    assert f"{uscc} D" in out
    ops = connect(city.workspace.ops_db_url)
    with session(ops) as db:
        history = db.scalars(
            select(CreditScoreHistory).where(CreditScoreHistory.cause == "repair")
        ).all()
        audit = db.scalars(select(AuditLog).where(AuditLog.action == "credit.repair")).all()
    ops.dispose()
    assert len(history) == 1 and history[0].grade_before == "D" and history[0].grade_after != "D"
    assert history[0].score_after > history[0].score_before
    assert len(audit) == 1 and audit[0].subjects == [uscc] and audit[0].actor == "steward-zhao"
    assert "repair" in _cli(city, capsys, "history", uscc)
    # the API's source (newest credit run) shows the new grade, and a new topic run keeps it
    catalog = Catalog.open(city.workspace.ops_db_url)
    with city.workspace.engine() as engine:
        newest, _ = drawing.newest_scores(engine)
        assert newest.filter(pa.compute.equal(newest["uscc"], uscc))["grade"][0].as_py() != "D"
        run_topic(get_topic("credit"), city.workspace, engine, catalog)
        rerun, _ = drawing.newest_scores(engine)
        assert rerun.filter(pa.compute.equal(rerun["uscc"], uscc))["grade"][0].as_py() != "D"
    catalog.close()


def test_documents_follow_the_grade(city: CreditCity, capsys: pytest.CaptureFixture[str]) -> None:
    with city.workspace.engine() as engine:
        scores, _ = drawing.newest_scores(engine)
    by_grade = {g: u for u, g in zip(scores["uscc"].to_pylist(), scores["grade"].to_pylist(),
                                     strict=True)}  # fmt: skip
    assert "经营场所使用证明" in _cli(city, capsys, "documents", by_grade["A"])
    out = _cli(city, capsys, "documents", by_grade["D"])
    assert "no document may be replaced" in out and "经营场所使用证明" not in out


def test_a_broken_portal_commitment_lowers_the_grade_with_history(
    city: CreditCity, capsys: pytest.CaptureFixture[str]
) -> None:
    with city.workspace.engine() as engine:
        scores = _newest_run(engine)
    firms = scores.filter(
        pa.compute.and_(
            pa.compute.equal(scores["grade"], "A"), pa.compute.equal(scores["broken"], 0)
        )
    )
    lowest = pa.compute.index(firms["score"], pa.compute.min(firms["score"])).as_py()
    uscc, score = firms["uscc"][lowest].as_py(), firms["score"][lowest].as_py()  # A, not capped
    ops = connect(city.workspace.ops_db_url)
    with session(ops) as db:  # the row the portal's sign route writes (portal_firm)
        row = FirmCommitment(
            uscc=uscc, kind="compliance", text_zh="本企业承诺守法经营", grade="A",
            signed_by="firm", signed_at=utcnow(), due_at=None,
        )  # fmt: skip
        db.add(row)
        db.flush()
        signed = row.id
    out = _cli(city, capsys, "commitment", str(signed), "--broken", "--by", "steward-zhao")
    assert f"{uscc} A ({score})" in out
    code, _, err = run_cli(["-w", str(city.workspace.root), "credit", "commitment", str(signed),
                            "--kept", "--by", "steward-zhao"], capsys)  # fmt: skip
    assert code != 0 and "already checked" in err
    with session(ops) as db:
        history = db.scalars(
            select(CreditScoreHistory).where(CreditScoreHistory.cause == "commitment")
        ).all()
        audit = db.scalars(
            select(AuditLog).where(AuditLog.action == "credit.commitment_check")
        ).all()
    ops.dispose()
    assert len(history) == 1 and history[0].uscc == uscc and history[0].grade_before == "A"
    assert history[0].score_after == score - 30 and history[0].grade_after in ("B", "C")
    assert len(audit) == 1 and audit[0].subjects == [uscc]
    # the next topic run reads the portal's checked commitment beside the lake's
    catalog = Catalog.open(city.workspace.ops_db_url)
    with city.workspace.engine() as engine:
        run_topic(get_topic("credit"), city.workspace, engine, catalog)
        rerun = _newest_run(engine)
    catalog.close()
    mine = rerun.filter(pa.compute.equal(rerun["uscc"], uscc))
    # (the scorecard is refitted on the lake's labels, so the points may move a little)
    assert mine["broken"][0].as_py() == 1 and mine["grade"][0].as_py() != "A"
    assert mine["score"][0].as_py() <= score - 20


def _newest_run(engine: Engine) -> pa.Table:
    table = engine.table("topic", SCORES_TABLE)
    return engine.to_arrow(table.filter(table.run_id == table.run_id.max()))
