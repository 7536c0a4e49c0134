"""Every place in words: the case, finding and desk answers name what their codes stand for.

A walker goes through each answer and fails on a bare code where a name exists: an area code
without its name beside it, a topic key without its title, a dwelling without its address.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from api.conftest import Harness
from api.scoped_data import findings_table, write_findings
from citybrain.cases import CaseSettings, open_cases

DEPARTMENT = "城市运行管理中心"  # the default routing's department
TOPIC = "group_rental"
TITLE = "群租房"
AREAS = {"S01": "科技园街道", "C01": "锦城社区", "G01": "一网格"}
FULL = "天府大道1号锦城小区3栋2单元502室"
BUILDING = "天府大道1号锦城小区3栋"


def _seed(api: Harness) -> None:
    admin = pa.table(
        {
            "level": ["street", "community", "grid"],
            "code": list(AREAS),
            "name": list(AREAS.values()),
            "parent_code": [None, "S01", "C01"],
        }
    )
    register = pa.table(
        {
            "address_id": ["D1", "B1"],
            "level": ["dwelling", "building"],
            "full_address": [FULL, BUILDING],
        }
    )
    golden = pa.table({"golden_dwelling_id": ["DD1"], "address_id": ["D1"]})
    with api.workspace.engine() as engine:
        engine.write(admin, "std", "admin_area")
        engine.write(register, "std", "standard_address")
        engine.write(golden, "base", "dwelling")
    findings = findings_table(
        [
            {
                "topic": TOPIC, "subject_type": "dwelling", "subject_id": "D1", "score": 0.95,
                "street_id": "S01", "community_id": "C01", "grid_id": "G01",
                "model_version": "group_rental-1",
            }
        ]
    )  # fmt: skip
    write_findings(api.workspace, findings, topic=TOPIC)
    opened = open_cases(
        api.security.ops_engine, findings.drop_columns(["run_id"]), settings=CaseSettings(),
        clock=api.clock,
    )  # fmt: skip
    assert len(opened.opened) == 1


@pytest.fixture
def seeded(api: Harness) -> Harness:
    _seed(api)
    return api


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def bare_codes(payload: Any, where: str = "$") -> list[str]:
    """Every object in ``payload`` that names a code without the name it stands for."""
    problems: list[str] = []
    if isinstance(payload, list):
        for i, item in enumerate(payload):
            problems += bare_codes(item, f"{where}[{i}]")
        return problems
    if not isinstance(payload, dict):
        return problems
    words = set(_strings(payload))
    for key, value in payload.items():
        if isinstance(value, dict | list):
            problems += bare_codes(value, f"{where}.{key}")
        elif value in AREAS and AREAS[value] not in words:
            problems.append(f"{where}.{key}: area {value} without its name {AREAS[value]}")
        elif value == TOPIC and TITLE not in words:
            problems.append(f"{where}.{key}: topic {TOPIC} without its title {TITLE}")
    if payload.get("subject_type") == "dwelling" and not payload.get("address"):
        problems.append(f"{where}: dwelling {payload.get('subject_id')} without its address")
    return problems


def test_the_walker_catches_a_bare_code() -> None:
    """The walker itself can fail: a code alone, a topic key alone, a dwelling without address."""
    assert bare_codes({"street_id": "S01"}) != []
    assert bare_codes({"street_id": "S01", "area_names": {"street": "科技园街道"}}) == []
    assert bare_codes([{"topic": TOPIC}]) != []
    assert bare_codes({"subject_type": "dwelling", "subject_id": "D1", "address": None}) != []


def test_case_finding_and_desk_answers_name_every_place(seeded: Harness) -> None:
    clerk = seeded.headers(seeded.user("clerk", scope=["street:S01"], department=DEPARTMENT))
    get = seeded.client.get
    desk = get("/api/v1/cases", params={"mine": True}, headers=clerk)
    assert desk.status_code == 200, desk.text
    [item] = desk.json()["items"]
    detail = get(f"/api/v1/cases/{item['id']}", headers=clerk)
    findings = get(f"/api/v1/topics/{TOPIC}/findings", headers=clerk)
    summary = get(f"/api/v1/topics/{TOPIC}/findings/summary", headers=clerk)
    for answer in (desk, detail, findings, summary):
        assert answer.status_code == 200, answer.text
        assert bare_codes(answer.json()) == [], answer.request.url

    case = detail.json()["case"]
    # The interface others rely on: the address as the role may see it, and the area names.
    assert case["address"] == BUILDING  # a clerk without an unmask grant: cut to the building
    assert case["area_names"] == {"street": "科技园街道", "community": "锦城社区", "grid": "一网格"}
    assert case["topic_title_zh"] == TITLE
    assert case["entity_id"] == "DD1"  # the dwelling's 360 page
    assert case["title"].startswith(BUILDING + "：")  # the title names the place, not the id
    [finding] = findings.json()["items"]
    assert finding["address"] == BUILDING
    assert finding["area_names"]["grid"] == "一网格"
    assert summary.json()["street_names"] == {"S01": "科技园街道"}


def test_a_case_names_its_place_before_the_register_is_standardised(api: Harness) -> None:
    """No register yet: names are null, never invented; the codes stay."""
    findings = findings_table([{"subject_id": "E1", "street_id": "S1", "grid_id": "G1"}])
    open_cases(
        api.security.ops_engine, findings.drop_columns(["run_id"]), settings=CaseSettings(),
        clock=api.clock,
    )  # fmt: skip
    admin = api.as_role("admin")
    [case] = api.client.get("/api/v1/cases", headers=admin).json()["items"]
    assert case["street_id"] == "S1"
    assert case["area_names"] == {"street": None, "community": None, "grid": None}
