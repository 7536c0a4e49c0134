"""The case desk through the API: cases opened from findings by citybrain.cases, then worked."""

from __future__ import annotations

import pytest

from api.conftest import Harness
from api.scoped_data import findings_table
from citybrain.cases import CaseSettings, open_cases

DEPARTMENT = "城市运行管理中心"  # the default routing's department


@pytest.fixture
def cases_api(api: Harness) -> Harness:
    findings = findings_table(
        [
            {"subject_id": "E1", "street_id": "S1", "grid_id": "G1", "score": 0.9},
            {
                "subject_id": "E2",
                "street_id": "S2",
                "grid_id": "G3",
                "score": 0.7,
                "level": "medium",
            },
        ]
    ).drop_columns(["run_id"])
    result = open_cases(api.security.ops_engine, findings, settings=CaseSettings(), clock=api.clock)
    assert len(result.opened) == 2
    return api


def _clerk(api: Harness, scope: list[str] | None = None) -> dict[str, str]:
    return api.headers(api.user("clerk", scope=scope or ["street:S1"], department=DEPARTMENT))


def _case_id(api: Harness, subject: str) -> int:
    cases = api.client.get(
        "/api/v1/cases", params={"page_size": 500}, headers=api.as_role("admin")
    ).json()
    return next(c["id"] for c in cases["items"] if c["subject_id"] == subject)


def test_list_is_area_scoped_filtered_and_my_queue(cases_api: Harness) -> None:
    clerk = _clerk(cases_api)
    mine = cases_api.client.get("/api/v1/cases", params={"mine": True}, headers=clerk).json()
    assert [c["subject_id"] for c in mine["items"]] == ["E1"]  # E2 is in street S2
    assert mine["items"][0]["status"] == "dispatched"
    leader = cases_api.as_role("leader")
    every = cases_api.client.get("/api/v1/cases", params={"sort": "-score"}, headers=leader).json()
    assert [c["subject_id"] for c in every["items"]] == ["E1", "E2"]
    s2 = cases_api.client.get("/api/v1/cases", params={"street_id": "S2"}, headers=leader).json()
    assert [c["subject_id"] for c in s2["items"]] == ["E2"]
    assert (
        cases_api.client.get(
            "/api/v1/cases", params={"status": "nonsense"}, headers=leader
        ).status_code
        == 422
    )


def test_work_a_case_end_to_end_with_locking(cases_api: Harness) -> None:
    clerk, leader = _clerk(cases_api), cases_api.as_role("leader")
    case_id = _case_id(cases_api, "E1")
    url = f"/api/v1/cases/{case_id}"
    detail = cases_api.client.get(url, headers=clerk)
    assert detail.headers["ETag"] == '"' + str(detail.json()["case"]["version"]) + '"'
    body = detail.json()
    assert body["evidence"][0]["reasons"][0]["text_en"]
    assert "accept" in body["allowed_actions"]
    version = body["case"]["version"]

    post = cases_api.client.post
    assert post(f"{url}/accept", json={}, headers=clerk).status_code == 428
    accepted = post(f"{url}/accept", json={}, headers=clerk | {"If-Match": f'"{version}"'})
    assert accepted.status_code == 200, accepted.text
    stale = post(f"{url}/start", json={"version": version}, headers=clerk)
    assert stale.status_code == 409 and "changed by someone else" in stale.json()["detail"]
    version = accepted.json()["case"]["version"]
    started = post(f"{url}/start", json={"version": version}, headers=clerk).json()
    noted = post(
        f"{url}/note", json={"version": started["case"]["version"], "comment": "现场核查中",
                             "attachments": [{"name": "photo-1.jpg"}]}, headers=clerk,
    ).json()  # fmt: skip
    assert noted["case"]["status"] == "in_progress"
    asked = post(
        f"{url}/extension/request",
        json={"version": noted["case"]["version"], "hours": 8, "comment": "需要复查"},
        headers=clerk,
    ).json()  # fmt: skip
    assert asked["case"]["extension_requested_hours"] == 8
    assert (
        post(
            f"{url}/extension/approve", json={"version": asked["case"]["version"]}, headers=clerk
        ).status_code
        == 403
    )  # a clerk cannot approve its own extension
    approved = post(
        f"{url}/extension/approve", json={"version": asked["case"]["version"]}, headers=leader
    ).json()
    assert approved["case"]["extension_requested_hours"] is None
    illegal = post(f"{url}/archive", json={"version": approved["case"]["version"]}, headers=leader)
    assert illegal.status_code == 409 and "cannot archive" in illegal.json()["detail"]
    no_outcome = post(f"{url}/close", json={"version": approved["case"]["version"]}, headers=clerk)
    assert no_outcome.status_code == 422
    closed = post(
        f"{url}/close",
        json={"version": approved["case"]["version"], "outcome": "confirmed", "comment": "属实"},
        headers=clerk,
    ).json()  # fmt: skip
    assert (closed["case"]["status"], closed["case"]["outcome_zh"]) == ("closed", "属实")
    archived = post(f"{url}/archive", json={"version": closed["case"]["version"]}, headers=leader)
    assert archived.json()["case"]["status"] == "archived"
    actions = [e["action"] for e in archived.json()["history"]]
    assert actions[-7:] == [
        "accept", "start", "attach", "request_extension", "approve_extension", "close", "archive",
    ]  # fmt: skip


def test_return_needs_a_reason_and_dispatch_names_a_department(cases_api: Harness) -> None:
    clerk, leader = _clerk(cases_api), cases_api.as_role("leader")
    url = f"/api/v1/cases/{_case_id(cases_api, 'E1')}"
    version = cases_api.client.get(url, headers=clerk).json()["case"]["version"]
    assert (
        cases_api.client.post(f"{url}/return", json={"version": version}, headers=clerk).status_code
        == 422
    )
    returned = cases_api.client.post(
        f"{url}/return", json={"version": version, "comment": "不属于本部门"}, headers=clerk
    ).json()
    assert returned["case"]["status"] == "returned"
    again = cases_api.client.post(
        f"{url}/dispatch",
        json={"version": returned["case"]["version"], "department": "科技园街道办"},
        headers=leader,
    ).json()  # fmt: skip
    assert (again["case"]["status"], again["case"]["department"]) == ("dispatched", "科技园街道办")


def test_cases_outside_the_area_do_not_exist(cases_api: Harness) -> None:
    clerk = _clerk(cases_api)
    url = f"/api/v1/cases/{_case_id(cases_api, 'E2')}"
    assert cases_api.client.get(url, headers=clerk).status_code == 404
    assert (
        cases_api.client.post(f"{url}/accept", json={"version": 1}, headers=clerk).status_code
        == 404
    )
    assert cases_api.client.get("/api/v1/cases/99999", headers=clerk).status_code == 404


def test_metrics(cases_api: Harness) -> None:
    got = cases_api.client.get("/api/v1/cases/metrics", headers=cases_api.as_role("leader")).json()
    assert got["scope_limited"] is False and got["total"] == 2
    assert got["by_status"] == {"dispatched": 2} and got["by_street"] == {"S1": 1, "S2": 1}
    scoped = cases_api.client.get(
        "/api/v1/cases/metrics", headers=cases_api.as_role("leader", ["street:S1"])
    ).json()
    assert scoped["scope_limited"] is True and scoped["total"] is None
