"""The epidemic topic end to end on the hand-written city: what it finds and why, the street
summary, the scenario's page order, the evaluation against a hand-written truth, and personal
data masked in the API unless a purpose-bound grant shows it (and then audited)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select

from api.conftest import Harness, make_harness  # type: ignore[import-not-found]
from citybrain.api.opsdb_models import AuditLog
from citybrain.cli.main import main
from citybrain.core import UserError, Workspace
from citybrain.core.opsdb import session
from citybrain.topics import TopicContext, validate_findings
from citybrain.topics.builtin.epidemic import Epidemic, EpidemicParams
from citybrain.topics.builtin.epidemic.topic import SUMMARY_TABLE, panels_for
from citybrain.topics.runner import findings_table_name
from citybrain.topics.settings import configure_topic, topic_enabled, workspace_params
from topics.builtin.epidemic_city import (  # type: ignore[import-not-found]
    ID,
    PHONE,
    std_tables,
    write_std,
    write_truth,
)


@dataclass
class Ran:
    workspace: Workspace
    findings: pa.Table
    summary: list[dict[str, object]]
    evaluation: dict[str, object]


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    root = tmp_path_factory.mktemp("epidemic")
    workspace = Workspace.init(root / "ws")
    truth = write_truth(root / "truth")
    topic = Epidemic()
    with workspace.engine() as engine:
        write_std(engine)
        ctx = TopicContext(workspace, engine, "run-1", EpidemicParams(), topic.model_version)
        findings = validate_findings(topic.run(ctx))
        summary = engine.to_arrow(engine.table("topic", SUMMARY_TABLE)).to_pylist()
        evaluation = topic.evaluate(findings, truth, ctx).model_dump()
    return Ran(workspace, findings, summary, evaluation)


def _by_subject(findings: pa.Table) -> dict[str, dict[str, Any]]:
    return {str(r["subject_id"]): r for r in findings.to_pylist()}


def test_findings_and_their_reasons(ran: Ran) -> None:
    rows = _by_subject(ran.findings)
    signals = {k: {x["signal"] for x in r["reasons"]} for k, r in rows.items()}
    assert signals[ID["A"]] == {"positive_test"} and rows[ID["A"]]["score"] == 1.0
    assert "co_household" in signals[ID["B"]] and rows[ID["B"]]["level"] == "high"
    assert "co_landing" in signals[ID["C"]] and rows[ID["C"]]["level"] == "medium"
    assert "co_landing" in signals[ID["D"]]
    assert {"co_travel_close", "co_travel"} <= signals[ID["J"]] and rows[ID["J"]]["level"] == "high"
    assert signals[ID["K"]] == {"co_travel"}  # keyed by the phone it gave for its test
    assert "co_household" in signals[f"tel:{PHONE['M']}"]
    # I came from the risk city after A and has not been tested; L too, and lives nowhere here
    assert "arrival_pending" in signals[ID["I"]] and rows[ID["I"]]["level"] == "medium"
    assert {"arrival_pending", "arrival_unplaced"} <= signals[ID["L"]]
    # E (83, alone, COPD, in A's grid) gets care brought; F (43, on dialysis, listed by phone
    # only) too, first; G (diabetes) lives in a grid with no case; nobody else is a finding
    assert signals[ID["E"]] == {"alone_elderly", "care_copd"}
    assert signals[ID["F"]] == {"care_dialysis"} and rows[ID["F"]]["level"] == "high"
    f_reason = rows[ID["F"]]["reasons"][0]
    assert "透析" in f_reason["text_zh"] and "13天" in f_reason["text_zh"]
    assert rows[ID["E"]]["score"] == 0.6 and "0天" in rows[ID["E"]]["reasons"][1]["text_zh"]
    assert {"C2", "C3"} == {k for k, r in rows.items() if r["subject_type"] == "community"}
    others = {ID[k] for k in "GH"} | {f"tel:{PHONE['O']}", f"tel:{PHONE['F']}"}
    assert not others & set(rows)
    assert "care_hypertension" not in signals[ID["B"]]  # a contact is one finding: the contact
    assert len(rows) == 13
    # reasons hold no personal data: no identity number, phone or name in any text
    texts = " ".join(x["text_zh"] + x["text_en"] for r in rows.values() for x in r["reasons"])
    assert not any(v in texts for v in (*ID.values(), *PHONE.values(), "居民", "旅客"))
    assert rows[ID["A"]]["street_id"] == "S1" and rows["C3"]["street_id"] == "S2"


def test_findings_route_to_the_health_commission(ran: Ran) -> None:
    from citybrain.cases import department_hints, dry_run

    routed = dry_run(ran.findings, hints=department_hints([Epidemic()]))
    assert routed.num_rows == 13  # every finding here is at or above the threshold
    assert set(routed["department"].to_pylist()) == {"区卫生健康局"}


def test_street_summary(ran: Ran) -> None:
    s1 = next(r for r in ran.summary if r["street_id"] == "S1")
    assert (s1["cases"], s1["contacts_high"], s1["contacts_medium"]) == (1, 2, 2)
    assert s1["medical_support"] == 2 and s1["screening_coverage"] == pytest.approx(5 / 6)
    assert all(r["chronic_register"] is True for r in ran.summary)
    s2 = next(r for r in ran.summary if r["street_id"] == "S2")
    assert (s2["arrivals_pending"], s2["screening_coverage"]) == (1, 0.0)


def test_evaluation_against_truth(ran: Ran) -> None:
    e = ran.evaluation
    # found B C D J K M of the truth's B C D J K M N: N is in no record
    assert e["contacts_recall"] == pytest.approx(6 / 7)
    assert e["contacts_precision"] == 1.0
    assert e["screening_gaps_match"] is True and e["screening_gap_f1"] == 1.0
    # on the register in A's grid: F (listed by phone only), E, B (a contact, still counted);
    # G lives in another grid, C is not listed
    extra = e["extra"]
    assert isinstance(extra, dict)
    assert (extra["care_true"], extra["care_found"]) == (3, 3)
    assert extra["care_recall"] == 1.0 and extra["care_precision"] == 1.0


def test_scenario_orders_the_page(tmp_path: Path) -> None:
    strict = [p.id for p in panels_for("strict_control")]
    resume = [p.id for p in panels_for("resume_work")]
    assert strict[0] == "epidemic_contacts" and resume[0] == "epidemic_support"
    assert sorted(strict) == sorted(resume)
    # the city's scenario is [topics.epidemic] of citybrain.toml, Chinese names accepted
    workspace = Workspace.init(tmp_path / "ws")
    topic = Epidemic()
    assert not topic_enabled(workspace, "epidemic")
    assert topic.page_panels_for(workspace_params(workspace, topic))[0].id == "epidemic_contacts"
    config = workspace.root / "citybrain.toml"
    before = config.read_text("utf-8")
    configure_topic(workspace, topic, ["scenario=复工复产", "enabled=on", "risk_areas=杭州,北京"])
    text = config.read_text("utf-8")
    assert text.startswith(before.rstrip("\n")) and 'scenario = "resume_work"' in text
    params = workspace_params(Workspace.open(workspace.root), topic)
    assert isinstance(params, EpidemicParams) and params.risk_areas == ("杭州", "北京")
    assert topic.page_panels_for(params)[0].id == "epidemic_support"
    assert topic_enabled(workspace, "epidemic")
    configure_topic(workspace, topic, ["scenario=严防严控"])  # the section is rewritten, once
    assert config.read_text("utf-8").count("[topics.epidemic]") == 1
    assert workspace_params(workspace, topic).scenario == "strict_control"  # type: ignore[attr-defined]
    # a bad value or key is one line naming it, and the file is left as it was
    kept = config.read_text("utf-8")
    for bad in (["scenario=lockdown"], ["lockdown_days=3"], ["scenario"]):
        with pytest.raises(UserError, match=r"scenario|lockdown_days|KEY=VALUE"):
            configure_topic(workspace, topic, bad)
    assert config.read_text("utf-8") == kept


@pytest.fixture
def api(tmp_path: Path, ran: Ran) -> Iterator[Harness]:
    for harness in make_harness(tmp_path):
        stored = ran.findings.append_column("run_id", pa.array(["run-1"] * ran.findings.num_rows))
        with harness.workspace.engine() as engine:
            engine.write(stored, "topic", findings_table_name("epidemic"), partition_by=["run_id"])
        yield harness


def test_api_masks_people_and_audits_a_purposeful_look(api: Harness) -> None:
    clerk = api.as_role("clerk", ["street:S1", "street:S2"])
    url = "/api/v1/topics/epidemic/findings"
    items = api.client.get(url, params={"page_size": 50}, headers=clerk).json()["items"]
    people = [i["subject_id"] for i in items if i["subject_type"] == "person"]
    assert people and not set(people) & set(ID.values())  # masked by default
    grant = api.client.post(
        "/api/v1/unmask-grants",
        json={"purpose": "流调：联系病例的密切接触者安排隔离", "minutes": 10,
              "subjects": [ID["B"]]},
        headers=clerk,
    )  # fmt: skip
    assert grant.status_code == 201, grant.text
    items = api.client.get(url, params={"page_size": 50}, headers=clerk).json()["items"]
    shown = {i["subject_id"] for i in items} & set(ID.values())
    assert shown == {ID["B"]}  # only the granted person, the others still masked
    with session(api.security.ops_engine) as db:
        rows = list(db.scalars(select(AuditLog).where(AuditLog.action == "pii.unmasked")))
    # every showing of B (the finding, its address) is audited with the purpose; nobody else
    assert rows and all(r.subjects == [ID["B"]] and "流调" in (r.purpose or "") for r in rows)

    # an admin switches the scenario (CLI, audited); the page the API describes leads with it
    leader = api.as_role("leader")

    def first_panel() -> str:
        info = api.client.get("/api/v1/topics/epidemic", headers=leader).json()
        return str(info["page_panels"][0]["id"])

    assert first_panel() == "epidemic_contacts"
    root = str(api.workspace.root)
    main(["-w", root, "topic", "configure", "epidemic", "--set", "scenario=复工复产", "--by", "a1"])
    assert first_panel() == "epidemic_support"  # the running server reads the file anew
    with session(api.security.ops_engine) as db:
        change = db.scalars(select(AuditLog).where(AuditLog.action == "topic.configure")).one()
    assert change.actor == "a1" and change.detail["after"] == {"scenario": "resume_work"}
    listed = api.client.get("/api/v1/topics", headers=leader).json()
    assert len(listed) > 1  # every other topic still describes its page


def test_no_case_no_arrival_no_sheet_gives_no_findings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    with workspace.engine() as engine:
        for name, table in std_tables().items():
            if name in ("arrival", "screening", "delivery", "chronic_care"):
                continue  # optional inputs this city does not have
            if name == "test_record":
                negative = pa.array(["negative"] * table.num_rows)
                table = table.set_column(table.schema.get_field_index("result"), "result", negative)
            engine.write(table, "std", name)
        ctx = TopicContext(workspace, engine, "run-1", EpidemicParams(), "epidemic-1")
        with caplog.at_level("WARNING"):
            assert validate_findings(Epidemic().run(ctx)).num_rows == 0
        # the run says medical support had no chronic-care register to use
        assert any("std.chronic_care" in r.getMessage() for r in caplog.records)
        assert engine.to_arrow(engine.table("topic", SUMMARY_TABLE)).num_rows == 0


def test_keyed_records_computed_once_give_the_same_analysis_and_leave_nothing(
    ran: Ran,
) -> None:
    from citybrain.topics.builtin.epidemic.analysis import analyse
    from citybrain.topics.builtin.epidemic.topic import knobs

    with ran.workspace.engine() as engine:
        ctx = TopicContext(ran.workspace, engine, "run-2", EpidemicParams(), "epidemic-1")

        def has(dataset: str) -> bool:
            return engine.exists(*dataset.split("."))

        plain = analyse(engine, ctx.input, has, knobs(EpidemicParams()))
        with ctx.staging() as stage:
            staged = analyse(engine, ctx.input, has, knobs(EpidemicParams()), stage)
            assert any(name.startswith("epidemic_work_") for name in engine.list_tables("topic"))
        assert not any(name.startswith("epidemic_work_") for name in engine.list_tables("topic"))
    assert len(plain.cases) and len(plain.contacts) and len(plain.support)
    for part in ("cases", "contacts", "entry", "communities", "grids", "support", "homes"):
        before, after = getattr(plain, part), getattr(staged, part)
        columns = sorted(before.columns)
        norm = [
            f[columns].astype(str).sort_values(columns).reset_index(drop=True)
            for f in (before, after)
        ]
        assert norm[0].equals(norm[1]), part
