"""A case's dwelling in raw monthly figures beside similar flats of its building, and the printable
on-site check sheet (现场核查单) with the address as text."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest
from sqlalchemy import select

from api.conftest import Harness
from api.scoped_data import findings_table, write_findings
from citybrain.api.check_sheet import get_sheet_printer
from citybrain.api.opsdb_models import AuditLog
from citybrain.cases import CaseSettings, open_cases
from citybrain.core.opsdb import session

TOPIC = "group_rental"
BUILDING = "天府大道1号锦城小区3栋"
MONTHS = ["2026-01", "2026-02"]


def _register() -> pa.Table:
    # D1 the case's flat (60 m²); D2-D4 similar flats of the building; D5 a large one of the same
    # building; D9 a flat of another building.
    ids = ["D1", "D2", "D3", "D4", "D5", "D9"]
    return pa.table(
        {
            "address_id": ids, "level": ["dwelling"] * 6,
            "full_address": [f"{BUILDING}2单元50{i}室" for i in range(1, 7)],
            "estate_name": ["锦城小区"] * 5 + ["天府花园"],
            "building_no": ["3"] * 5 + ["3"],
            "area_m2": [60.0, 58.0, 62.0, 70.0, 150.0, 60.0],
        }
    )  # fmt: skip


def _readings() -> pa.Table:
    water = {"D1": (30.0, 34.0), "D2": (6.0, 7.0), "D3": (8.0, 9.0), "D4": (10.0, 11.0),
             "D5": (90.0, 90.0), "D9": (500.0, 500.0)}  # fmt: skip
    rows = [
        {"address_id": a, "address_level": "dwelling", "utility": u, "period": m, "usage": v}
        for a, values in water.items()
        for i, m in enumerate(MONTHS)
        for u, v in (("water", values[i]), ("electricity", values[i] * 10), ("gas", values[i] / 2))
    ]
    # a second water meter on D1 in January: the month's total is what counts
    rows.append({"address_id": "D1", "address_level": "dwelling", "utility": "water",
                 "period": "2026-01", "usage": 2.0})  # fmt: skip
    return pa.Table.from_pylist(rows)


@pytest.fixture
def case_api(api: Harness) -> Harness:
    deliveries = pa.table(
        {"address_id": ["D1", "D1", "D2", "D3", "D4"], "address_level": ["dwelling"] * 5,
         "period": ["2026-02", "2026-02", "2026-02", "2026-02", "2026-02"],
         "items": [50, 30, 5, 7, 9]}
    )  # fmt: skip
    permits = pa.table(
        {"id_number": ["P1", "P2", "P3"], "address_id": ["D1", "D1", "D2"],
         "issued_date": [date(2026, 1, 5), date(2026, 2, 1), date(2026, 1, 9)],
         "cancelled_date": [date(2026, 2, 20), None, None]}
    )  # fmt: skip
    with api.workspace.engine() as engine:
        engine.write(_register(), "std", "standard_address")
        engine.write(_readings(), "std", "utility_reading")
        engine.write(deliveries, "std", "delivery")
        engine.write(permits, "std", "residence_permit")
    reason = {
        "signal": "water_per_person", "observed": 17.0, "expected": 4.0, "contribution": 0.5,
        "text_zh": "人均月用水17吨，同楼同面积住户约4吨", "text_en": "17 t per person",
    }  # fmt: skip
    findings = findings_table(
        [{"topic": TOPIC, "subject_type": "dwelling", "subject_id": "D1", "street_id": "S01",
          "community_id": "C01", "grid_id": "G01", "model_version": "group_rental-1",
          "reasons": [reason]}]
    )  # fmt: skip
    write_findings(api.workspace, findings, topic=TOPIC)
    open_cases(
        api.security.ops_engine, findings.drop_columns(["run_id"]), settings=CaseSettings(),
        clock=api.clock,
    )  # fmt: skip
    return api


def _case_id(api: Harness, headers: dict[str, str]) -> int:
    [case] = api.client.get("/api/v1/cases", headers=headers).json()["items"]
    return int(case["id"])


def test_the_dwelling_month_by_month_beside_similar_flats(case_api: Harness) -> None:
    clerk = case_api.as_role("clerk", scope=["street:S01"])
    case_id = _case_id(case_api, clerk)
    answer = case_api.client.get(f"/api/v1/cases/{case_id}/evidence/dwelling", headers=clerk)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["periods"] == MONTHS
    assert body["building"] == "锦城小区3栋"
    assert (body["peers"], body["peers_by_area"]) == (3, True)  # D2-D4, not D5 nor D9
    series = {s["key"]: s for s in body["series"]}
    assert list(series) == ["water", "electricity", "gas", "deliveries"]
    assert series["water"]["observed"] == [32.0, 34.0]  # two meters in January, summed
    assert series["water"]["peers"] == [8.0, 9.0]  # the median of D2, D3, D4
    assert series["electricity"]["peers"] == [80.0, 90.0]
    assert series["deliveries"]["observed"] == [None, 80.0]
    assert series["deliveries"]["peers"] == [None, 7.0]
    assert body["permits_issued"] == [1, 1] and body["permits_cancelled"] == [0, 1]
    outsider = case_api.as_role("clerk", scope=["street:S99"])
    gone = case_api.client.get(f"/api/v1/cases/{case_id}/evidence/dwelling", headers=outsider)
    assert gone.status_code == 404


def test_check_sheet_names_the_place_as_the_role_may_see_it_and_is_audited(
    case_api: Harness,
) -> None:
    printed: list[str] = []

    def printer(html: str) -> bytes:  # the real print is the browser test's (test_case_page)
        printed.append(html)
        return b"%PDF-1.4 sheet"

    case_api.app.dependency_overrides[get_sheet_printer] = lambda: printer
    clerk_name = case_api.user("clerk", scope=["street:S01"])
    clerk = case_api.headers(clerk_name)
    case_id = _case_id(case_api, clerk)
    answer = case_api.client.get(f"/api/v1/cases/{case_id}/check-sheet.pdf", headers=clerk)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content == b"%PDF-1.4 sheet"
    [html] = printed
    assert BUILDING in html and "2单元501室" not in html  # the room stays masked for a clerk
    assert "人均月用水17吨" in html and "核实实际居住人数" not in html
    for words in ("现场核查单", "实际居住人数", "属实", "无法入户", "核查人签名"):
        assert words in html
    with session(case_api.security.ops_engine) as db:
        rows = db.scalars(select(AuditLog).where(AuditLog.action == "cases.check_sheet")).all()
        assert [(r.actor, r.subjects) for r in rows] == [(clerk_name, ["D1"])]
    outsider = case_api.as_role("clerk", scope=["street:S99"])
    gone = case_api.client.get(f"/api/v1/cases/{case_id}/check-sheet.pdf", headers=outsider)
    assert gone.status_code == 404
    assert case_api.client.get(f"/api/v1/cases/{case_id}/check-sheet.pdf").status_code == 401
    assert len(printed) == 1
