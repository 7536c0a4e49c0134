"""Entity 360 routes: every linked record, masked per role, area-scoped, each read audited with
its subjects and purpose; search by name, ID, USCC or address fragment, masked and paged."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import select

from api import scoped_data
from api.conftest import Harness
from citybrain.api.opsdb_models import AuditLog
from citybrain.api.security.audit import verify_audit
from citybrain.core.opsdb import session

PURPOSE = "核实群租房线索 case 2026-0001"


@pytest.fixture
def city(api: Harness) -> Harness:
    scoped_data.seed_entities(api.workspace)
    return api


def _audit(api: Harness) -> list[AuditLog]:
    with session(api.security.ops_engine) as db:
        return list(db.scalars(select(AuditLog).order_by(AuditLog.seq)))


def test_a_person_with_every_linked_record_masked(city: Harness) -> None:
    headers = city.as_role("analyst") | {"X-Purpose": quote(PURPOSE)}
    response = city.client.get("/api/v1/entities/person/P1", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["kind"], body["id"], body["record_count"], body["masked"]) == (
        "person", "P1", 2, True,
    )  # fmt: skip
    golden = body["golden"]
    assert golden["name"] == "张*"
    assert golden["id_number"] == "5101**********1234"
    assert golden["phone"] == "138****5678"
    assert "501" not in golden["address"]  # room-level address cut to the building
    records = body["records"]["police_household"]
    assert len(records) == 2 and {r["household_id"] for r in records} == {"H1"}  # full std rows
    assert all(r["id_number"] == "5101**********1234" for r in records)
    assert all(r["name"] == "张*" for r in records)

    (row,) = [r for r in _audit(city) if r.action == "entities.read"]
    assert (row.subjects, row.purpose) == (["P1"], PURPOSE)
    assert row.endpoint == "GET /api/v1/entities/person/P1"


def test_an_enterprise_keeps_its_name_and_masks_its_legal_representative(city: Harness) -> None:
    headers = city.as_role("leader")
    body = city.client.get("/api/v1/entities/enterprise/E1", headers=headers).json()
    assert body["golden"]["name"] == "锦城科技有限公司"
    (record,) = body["records"]["market_registry"]
    assert record["legal_rep_name"] == "张**" and record["uscc"] == "91510100MA61234567"
    by_uscc = city.client.get("/api/v1/entities/enterprise/91510100MA61234567", headers=headers)
    assert by_uscc.json()["id"] == "E1"


def test_a_dwelling_and_its_linked_records(city: Harness) -> None:
    body = city.client.get(
        "/api/v1/entities/dwelling/D1", headers=city.as_role("data_steward")
    ).json()
    assert body["record_count"] == 2
    assert body["golden"]["full_address"] != "锦城小区3栋2单元501室"  # masked to the building


def test_area_scope_and_unknown_ids(city: Harness) -> None:
    inside = city.as_role("clerk", ["street:S-IN"])
    outside = city.as_role("clerk", ["street:S-OUT"])
    for kind, golden in (("person", "P1"), ("enterprise", "E1"), ("dwelling", "D1")):
        url = f"/api/v1/entities/{kind}/{golden}"
        assert city.client.get(url, headers=inside).status_code == 200
        assert city.client.get(url, headers=outside).status_code == 404
    assert city.client.get("/api/v1/entities/person/P3", headers=outside).status_code == 200
    admin = city.as_role("admin")
    assert city.client.get("/api/v1/entities/person/P9", headers=admin).status_code == 404
    assert city.client.get("/api/v1/entities/person/..%2Fx", headers=admin).status_code in (
        404, 422,
    )  # fmt: skip
    for role in ("auditor", "public"):
        response = city.client.get("/api/v1/entities/person/P1", headers=city.as_role(role))
        assert response.status_code == 403


def test_an_unmask_grant_shows_the_subject_in_clear_and_is_audited(city: Harness) -> None:
    clerk = city.as_role("clerk", ["street:S-IN"])
    grant = city.client.post(
        "/api/v1/unmask-grants",
        json={"purpose": PURPOSE, "minutes": 10, "subjects": ["P1"]},
        headers=clerk,
    )
    assert grant.status_code == 201, grant.text
    body = city.client.get("/api/v1/entities/person/P1", headers=clerk).json()
    assert body["masked"] is False
    assert body["golden"]["id_number"] == "510104199001011234"
    assert body["records"]["police_household"][0]["name"] == "张三"
    assert ("pii.unmasked", ["P1"], PURPOSE) in [
        (r.action, r.subjects, r.purpose) for r in _audit(city)
    ]
    assert verify_audit(city.security.ops_engine).passed


def test_search_by_name_id_uscc_and_address(city: Harness) -> None:
    headers = city.as_role("analyst") | {"X-Purpose": quote(PURPOSE)}

    def ids(kind: str, q: str, **params: object) -> list[str]:
        response = city.client.get(
            "/api/v1/entities/search", params={"kind": kind, "q": q, **params}, headers=headers
        )
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids("person", "张三") == ["P1"]
    assert ids("person", "510104197001015678") == ["P3"]
    assert ids("person", "13812345678") == ["P1", "P3"]
    assert ids("person", "13812345678", page=2, page_size=1) == ["P3"]
    assert ids("person", "5101041970") == []  # an ID matches whole, never by fragment
    assert ids("enterprise", "91510100MA61234567") == ["E1"]
    assert ids("enterprise", "锦城") == ["E1"]
    assert ids("dwelling", "益州大道") == ["D3"]

    page = city.client.get(
        "/api/v1/entities/search", params={"kind": "person", "q": "张三"}, headers=headers
    ).json()
    (hit,) = page["items"]
    assert hit["name"] == "张*" and "1234" in hit["summary"] and "19900101" not in hit["summary"]
    searched = [r for r in _audit(city) if r.action == "entities.search"]
    assert searched[0].subjects == ["P1"] and searched[0].purpose == PURPOSE


def test_search_stays_inside_the_area_and_refuses_bad_input(city: Harness) -> None:
    outside = city.as_role("clerk", ["street:S-OUT"])
    found = city.client.get(
        "/api/v1/entities/search", params={"kind": "person", "q": "13812345678"}, headers=outside
    ).json()
    assert [item["id"] for item in found["items"]] == ["P3"] and found["total"] == 1
    admin = city.as_role("admin")
    for params in ({"kind": "car", "q": "x"}, {"kind": "person", "q": "x' OR 1=1 --"},
                   {"kind": "person", "q": "../../etc"}, {"kind": "person"}):  # fmt: skip
        response = city.client.get("/api/v1/entities/search", params=params, headers=admin)
        assert response.status_code == 422, params


def test_without_a_base_zone(api: Harness) -> None:
    headers = api.as_role("admin")
    assert api.client.get("/api/v1/entities/person/P1", headers=headers).status_code == 404
    empty = api.client.get(
        "/api/v1/entities/search", params={"kind": "person", "q": "张"}, headers=headers
    )
    assert empty.json() == {"items": [], "total": 0, "page": 1, "page_size": 20}
