"""Unmasking: a stated purpose, a time limit, an audit row for the grant and for every look."""

from __future__ import annotations

from sqlalchemy import select

from api.conftest import Harness, add_router
from api.probe import router as probe_router
from citybrain.api.opsdb_models import AuditLog
from citybrain.api.security.audit import verify_audit
from citybrain.core.opsdb import session

PURPOSE = "核实群租房线索 case 2026-0001: call the registered resident"


def _audit(api: Harness) -> list[AuditLog]:
    with session(api.security.ops_engine) as db:
        return list(db.scalars(select(AuditLog).order_by(AuditLog.seq)))


def test_grant_with_purpose_unmasks_its_subjects_until_it_expires(api: Harness) -> None:
    add_router(api.app, probe_router)
    clerk = api.as_role("clerk", ["street:S-IN"])
    grant = api.client.post(
        "/api/v1/unmask-grants",
        json={"purpose": PURPOSE, "minutes": 10, "subjects": ["P1"]},
        headers=clerk,
    )
    assert grant.status_code == 201, grant.text
    assert grant.json()["expires_at"].startswith("2026-03-01T08:10:00")

    rows = api.client.get("/api/v1/_probe/people", headers=clerk).json()
    by_id = {r["person_id"]: r for r in rows}
    assert by_id["P1"]["id_number"] == "510104199001011234"  # granted: clear
    assert by_id["P1"]["name"] == "张三"
    assert by_id["P2"]["id_number"] == "5101**********0021"  # not in the grant: masked

    actions = [(r.action, r.subjects, r.purpose) for r in _audit(api)]
    assert ("pii.unmask.grant", ["P1"], PURPOSE) in actions
    assert ("pii.unmasked", ["P1"], PURPOSE) in actions

    api.clock.advance(minutes=10)
    rows = api.client.get("/api/v1/_probe/people", headers=clerk).json()
    assert rows[0]["id_number"] == "5101**********1234"  # expired: masked again
    assert api.client.get("/api/v1/unmask-grants", headers=clerk).json() == []
    assert verify_audit(api.security.ops_engine).passed


def test_a_grant_needs_a_real_purpose(api: Harness) -> None:
    clerk = api.as_role("clerk", ["street:S-IN"])
    response = api.client.post("/api/v1/unmask-grants", json={"purpose": "x"}, headers=clerk)
    assert response.status_code == 422
    assert "purpose" in response.json()["message"]
    missing = api.client.post("/api/v1/unmask-grants", json={}, headers=clerk)
    assert missing.status_code == 422


def test_grants_are_capped_at_the_configured_maximum(api: Harness) -> None:
    clerk = api.as_role("clerk", ["street:S-IN"])
    grant = api.client.post(
        "/api/v1/unmask-grants", json={"purpose": PURPOSE, "minutes": 600}, headers=clerk
    ).json()
    assert grant["expires_at"].startswith("2026-03-01T09:00:00")  # 60 minutes at most


def test_roles_without_unmask_cannot_get_a_grant(api: Harness) -> None:
    for role in ("leader", "analyst", "auditor", "public"):
        response = api.client.post(
            "/api/v1/unmask-grants", json={"purpose": PURPOSE}, headers=api.as_role(role)
        )
        assert response.status_code == 403, role


def test_a_citywide_grant_still_respects_area_scope(api: Harness) -> None:
    add_router(api.app, probe_router)
    clerk = api.as_role("clerk", ["grid:G-IN"])
    api.client.post("/api/v1/unmask-grants", json={"purpose": PURPOSE}, headers=clerk)
    rows = api.client.get("/api/v1/_probe/people", headers=clerk).json()
    assert [r["person_id"] for r in rows] == ["P1"]
    assert rows[0]["phone"] == "13812345678"
