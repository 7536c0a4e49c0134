"""A resident's credit report: the credit topic's person grade, masked unless an unmask grant covers
the person (then audited), area-scoped, and not for the public role (which reads firms' credit)."""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import select

from api import scoped_data
from api.conftest import Harness
from citybrain.api.opsdb_models import AuditLog
from citybrain.core.opsdb import session
from citybrain.topics.builtin.credit.scorecard import REASON_POINTS

PURPOSE = "核实居民信用异议 case 2026-0002"
URL = "/api/v1/entities/person/P1/credit-report"


def _scores() -> pa.Table:
    reason = {
        "signal": "serious_arrears",
        "points": -20,
        "observed": 2.0,
        "text_zh": "欠费3个月以上被催缴2次",
        "text_en": "2 notice(s) 3 or more months behind",
    }
    return pa.table(
        {
            "golden_person_id": ["P1", "P3"],
            "score": pa.array([58, 90], pa.int64()),
            "grade": ["C", "A"],
            "reasons": pa.array([[reason], []], pa.list_(REASON_POINTS)),
            "model_version": ["credit-1", "credit-1"],
            "period": ["2026-02", "2026-02"],
            "run_id": ["run-1", "run-1"],
        }
    )


def test_masked_until_a_grant_covers_the_person(api: Harness) -> None:
    scoped_data.seed_entities(api.workspace)
    analyst = api.as_role("analyst")
    before = api.client.get(URL, headers=analyst)
    assert before.status_code == 200, before.text
    assert before.json()["graded"] is False
    assert before.json()["not_graded"]["code"] == "topic_not_run"

    with api.workspace.engine() as engine:
        engine.write(_scores(), "topic", "credit_person_scores", partition_by=["run_id"])
    masked = api.client.get(URL, headers=analyst).json()
    assert (masked["graded"], masked["masked"], masked["grade"], masked["score"]) == (
        True, True, None, None,
    )  # fmt: skip
    assert masked["reasons"] == [] and "脱敏授权" in masked["masked_text"]["text_zh"]

    clerk = api.as_role("clerk", ["street:S-IN"])
    grant = api.client.post(
        "/api/v1/unmask-grants",
        json={"purpose": PURPOSE, "minutes": 10, "subjects": ["P1"]},
        headers=clerk,
    )
    assert grant.status_code == 201, grant.text
    clear = api.client.get(URL, headers=clerk).json()
    assert (clear["masked"], clear["grade"], clear["score"], clear["period"]) == (
        False, "C", 58, "2026-02",
    )  # fmt: skip
    assert clear["reasons"][0]["text_zh"] == "欠费3个月以上被催缴2次"
    with session(api.security.ops_engine) as db:
        rows = list(db.scalars(select(AuditLog).where(AuditLog.action == "pii.unmasked")))
    assert [(r.subjects, r.purpose) for r in rows] == [(["P1"], PURPOSE)]

    outside = api.as_role("clerk", ["street:S-OUT"])
    assert api.client.get(URL, headers=outside).status_code == 404
    assert api.client.get(URL, headers=api.as_role("public")).status_code == 403
