"""Subjects in and out of the matrix test's area for the data routers: a case and findings each.

Subject ``P1`` lies in street ``S-IN`` (grid ``G-IN``), ``P3`` in ``S-OUT``; the matrix checks that
a caller scoped to ``S-IN`` sees ``P1``, one scoped elsewhere does not, and a city-wide one does.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pyarrow as pa

from citybrain.cases import Case, CaseEvent, CaseEvidence
from citybrain.cases.opsdb_models import CaseReporter
from citybrain.core import Workspace
from citybrain.core.opsdb import session
from citybrain.topics import FINDINGS_SCHEMA, REASON_TYPE
from citybrain.topics.runner import findings_table_name

TOPIC = "probe"
IN_LON = 104.061


def findings_table(rows: list[dict[str, object]], run_id: str = "run-1") -> pa.Table:
    """Findings in ``FINDINGS_SCHEMA`` plus ``run_id``, from partial rows with defaults filled."""
    reason = {
        "signal": "electricity", "observed": 900.0, "expected": 200.0, "contribution": 0.6,
        "text_zh": "月用电900度，同类住户约200度", "text_en": "900 kWh a month; others 200",
    }  # fmt: skip
    full = [
        {
            "topic": TOPIC,
            "subject_type": "enterprise",
            "period": "2026-02",
            "score": 0.9,
            "level": "high",
            "lon": 104.06,
            "lat": 30.55,
            "grid_id": None,
            "community_id": None,
            "street_id": None,
            "model_version": f"{TOPIC}-1",
            "reasons": [reason],
        }
        | row
        for row in rows
    ]
    table = pa.Table.from_pylist(full, schema=FINDINGS_SCHEMA)
    assert table.schema.field("reasons").type.value_type == REASON_TYPE
    return table.append_column("run_id", pa.array([run_id] * table.num_rows, pa.string()))


def write_findings(workspace: Workspace, table: pa.Table, topic: str = TOPIC) -> None:
    with workspace.engine() as engine:
        engine.write(
            table, "topic", findings_table_name(topic), mode="append", partition_by=["run_id"]
        )


def entity_tables() -> dict[tuple[str, str], pa.Table]:
    """A tiny base zone: person P1, enterprise E1 and dwelling D1 inside S-IN, P3 and D3 outside.

    The person and enterprise records carry the std tables' matched areas; the dwellings' grid
    codes begin with their street's code.
    """
    people = pa.table(
        {
            "source_system": ["police_household"] * 3,
            "source_row": [0, 1, 2],
            "name": ["张三", "李四", "张三"],
            "id_number": ["510104199001011234", "510104197001015678", "510104199001011234"],
            "phone": ["13812345678"] * 3,
            "address": [
                "锦城小区3栋2单元501室",
                "益州大道8号2幢1单元302室",
                "锦城小区3栋2单元501室",
            ],
            "household_id": ["H1", "H3", "H1"],
            "street_id": ["S-IN", "S-OUT", "S-IN"],
            "community_id": ["C-IN", "C-OUT", "C-IN"],
            "grid_id": ["G-IN", "G-OUT", "G-IN"],
        }
    )
    person = pa.table(
        {
            "golden_person_id": ["P1", "P3"],
            "name": ["张三", "李四"],
            "id_number": ["510104199001011234", "510104197001015678"],
            "phone": ["13812345678", "13812345678"],
            "address": ["锦城小区3栋2单元501室", "益州大道8号2幢1单元302室"],
            "name__source_system": ["police_household"] * 2,
            "systems": [1, 1],
            "records": [2, 1],
        }
    )
    person_link = pa.table(
        {
            "record_id": [1, 2, 3],
            "source_system": ["police_household"] * 3,
            "source_table": ["person_registration"] * 3,
            "source_key": ["k0", "k1", "k2"],
            "source_row": [0, 1, 2],
            "load_id": ["L1"] * 3,
            "golden_person_id": ["P1", "P3", "P1"],
        }
    )
    firms = pa.table(
        {
            "source_system": ["market_registry"],
            "source_row": [0],
            "uscc": ["91510100MA61234567"],
            "name": ["锦城科技有限公司"],
            "legal_rep_name": ["张三丰"],
            "street_id": ["S-IN"],
            "address": ["天府大道1号"],
        }
    )
    enterprise = pa.table(
        {
            "golden_enterprise_id": ["E1"],
            "name": ["锦城科技有限公司"],
            "uscc": ["91510100MA61234567"],
            "address": ["天府大道1号"],
            "records": [1],
        }
    )
    enterprise_link = pa.table(
        {
            "record_id": [1],
            "source_system": ["market_registry"],
            "source_table": ["enterprise_registration"],
            "source_key": ["k"],
            "source_row": [0],
            "load_id": ["L1"],
            "golden_enterprise_id": ["E1"],
        }
    )
    dwelling = pa.table(
        {
            "golden_dwelling_id": ["D1", "D3"],
            "address_id": ["A1", "A3"],
            "full_address": ["锦城小区3栋2单元501室", "益州大道8号2幢1单元302室"],
            "estate_name": ["锦城小区", None],
            "grid_code": ["S-IN-G01", "S-OUT-G01"],
            "linked_records": [2, 1],
            "linked_persons": [1, 1],
        }
    )
    dwelling_link = pa.table({
        "golden_dwelling_id": ["D1", "D1", "D3"], "kind": ["person"] * 3,
        "record_id": [1, 3, 2], "source_system": ["police_household"] * 3,
        "source_key": ["k0", "k2", "k1"], "source_row": [0, 2, 1],
        "golden_entity_id": ["P1", "P1", "P3"],
    })  # fmt: skip
    return {
        ("std", "person_registration"): people, ("std", "enterprise_registration"): firms,
        ("base", "person"): person, ("base", "person_link"): person_link,
        ("base", "enterprise"): enterprise, ("base", "enterprise_link"): enterprise_link,
        ("base", "dwelling"): dwelling, ("base", "dwelling_link"): dwelling_link,
    }  # fmt: skip


def seed_entities(workspace: Workspace) -> None:
    with workspace.engine() as engine:
        for (zone, name), table in entity_tables().items():
            engine.write(table, zone, name)


def seed(workspace: Workspace, ops_engine: object) -> None:
    seed_entities(workspace)
    write_findings(
        workspace,
        findings_table(
            [
                {"subject_id": "P1", "street_id": "S-IN", "grid_id": "G-IN", "lon": IN_LON},
                {"subject_id": "P3", "street_id": "S-OUT", "grid_id": "G-OUT", "lon": 104.2},
            ]
        ),
    )
    from sqlalchemy import Engine

    assert isinstance(ops_engine, Engine)
    with session(ops_engine) as db:
        for subject, street, grid, lon in (("P1", "S-IN", "G-IN", IN_LON),
                                           ("P3", "S-OUT", "G-OUT", 104.2)):  # fmt: skip
            db.add(
                Case(
                    topic=TOPIC,
                    subject_type="enterprise",
                    subject_id=subject,
                    period="2026-02",
                    title="probe",
                    level="high",
                    score=0.9,
                    lon=lon,
                    lat=30.55,
                    grid_id=grid,
                    street_id=street,
                    status="dispatched",
                    department="科技园街道办",
                    # the change the live feed (GET /events) reports
                    events=[
                        CaseEvent(
                            action="dispatch",
                            actor="system",
                            from_status="new",
                            to_status="dispatched",
                        )
                    ],
                )
            )


def seed_label(ops_engine: object) -> None:
    """For the matrix only (other tests count the seeded cases): a closed case that became a
    label of the group-rental topic, in P1's street."""
    from sqlalchemy import Engine

    assert isinstance(ops_engine, Engine)
    with session(ops_engine) as db:
        # A group-rental case of P1's street judged 属实 on site: a label of that topic.
        db.add(
            Case(
                topic="group_rental", subject_type="dwelling", subject_id="P1",
                period="2026-02", title="probe label", level="high", score=0.9,
                grid_id="G-IN", street_id="S-IN", status="closed", outcome="confirmed",
                evidence=[
                    CaseEvidence(
                        topic="group_rental", subject_id="P1", period="2026-02", score=0.9,
                        level="high", model_version="group_rental-1", reasons=[],
                    )
                ],
            )
        )  # fmt: skip


#: the phone P1 reported the matrix's case with (a resident signed in with it sees that report)
P1_PHONE = "13800000001"


def seed_reporter(ops_engine: object) -> None:
    """For the matrix only: P1 reported P1's case by phone (the resident's routes show it to a
    resident signed in with that phone, and to nobody else)."""
    from sqlalchemy import Engine, select

    assert isinstance(ops_engine, Engine)
    with session(ops_engine) as db:
        case_id = db.scalars(select(Case.id).where(Case.subject_id == "P1", Case.topic == TOPIC))
        db.add(
            CaseReporter(
                case_id=case_id.one(), channel="open311", service_code=TOPIC,
                description="P1's own report", phone=P1_PHONE,
            )
        )  # fmt: skip


def _reports_p1(response: httpx.Response) -> bool:
    assert response.status_code == 200, response.text
    return "P1's own report" in {r["description"] for r in response.json()["reports"]}


#: Routes that show a resident (role ``resident``, signed in by phone) the reports made with
#: their phone: a request and how to tell whether P1's report was in the answer.
RESIDENT_ROUTES: dict[str, tuple[str, Callable[[httpx.Response], bool]]] = {
    "GET /api/v1/portal/my/reports": ("/api/v1/portal/my/reports", _reports_p1),
}


def _items_have_p1(response: httpx.Response) -> bool:
    assert response.status_code == 200, response.text
    return "P1" in {item["subject_id"] for item in response.json()["items"]}


def _features_at_p1(response: httpx.Response) -> bool:
    assert response.status_code == 200, response.text
    return any(
        f["geometry"] and f["geometry"]["coordinates"][0] == IN_LON
        for f in response.json()["features"]
    )


def _street_counted(response: httpx.Response) -> bool:
    assert response.status_code == 200, response.text
    return "S-IN" in response.json()["by_street"]


def _event_in_street(response: httpx.Response) -> bool:
    assert response.status_code == 200, response.text
    return "S-IN" in {event["data"]["street_id"] for event in response.json()["events"]}


def _probe_counted(response: httpx.Response) -> bool:
    assert response.status_code == 200, response.text
    probe = [t for t in response.json() if t["topic"] == TOPIC]
    return bool(probe) and probe[0]["findings"] > 0 and probe[0]["open_cases"] > 0


def _found(response: httpx.Response) -> bool:
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


def _reached(response: httpx.Response) -> bool:
    """An action without a body: 422 once the case is found, 404 when it is outside the area."""
    assert response.status_code in (404, 422), response.text
    return response.status_code == 422


def _labels_p1(response: httpx.Response) -> bool:
    assert response.status_code == 200, response.text
    return "P1" in {item["subject_id"] for item in response.json()["items"]}


def _photo_reached(response: httpx.Response) -> bool:
    """No photo is stored: 404 either way, but naming the photo only once the case is found."""
    assert response.status_code == 404, response.text
    return "no such photo" in response.json()["detail"]


def _hits_p1(response: httpx.Response) -> bool:
    assert response.status_code == 200, response.text
    return "P1" in {item["id"] for item in response.json()["items"]}


ACTIONS = (
    "accept", "start", "note", "return", "archive", "dispatch", "close", "extension/request",
    "extension/approve", "extension/refuse", "on-site", "photos",
)  # fmt: skip

PHOTOS = "/api/v1/cases/1/photos"
SCOPED_DATA_ROUTES: dict[str, tuple[str, Callable[[httpx.Response], bool]]] = {
    "GET /api/v1/topics/{topic}/findings": (f"/api/v1/topics/{TOPIC}/findings", _items_have_p1),
    "GET /api/v1/topics/{topic}/findings/summary": (
        f"/api/v1/topics/{TOPIC}/findings/summary",
        _street_counted,
    ),
    "GET /api/v1/map/topics/{topic}/findings": (
        f"/api/v1/map/topics/{TOPIC}/findings",
        _features_at_p1,
    ),
    "GET /api/v1/map/cases": ("/api/v1/map/cases", _features_at_p1),
    "GET /api/v1/cases": ("/api/v1/cases", _items_have_p1),
    "GET /api/v1/events": ("/api/v1/events?since=case:0", _event_in_street),
    "GET /api/v1/overview/topics": ("/api/v1/overview/topics", _probe_counted),
    "GET /api/v1/cases/{case_id}": ("/api/v1/cases/1", _found),
    "GET /api/v1/cases/{case_id}/evidence/series": ("/api/v1/cases/1/evidence/series", _found),
    "GET /api/v1/cases/{case_id}/evidence/dwelling": ("/api/v1/cases/1/evidence/dwelling", _found),
    # the matrix swaps Chromium's print for a stand-in (tests/api/test_case_sheet_and_dwelling.py
    # prints for real): what is checked here is who reaches the sheet, not the PDF
    "GET /api/v1/cases/{case_id}/check-sheet.pdf": ("/api/v1/cases/1/check-sheet.pdf", _found),
    "GET /api/v1/cases/{case_id}/photos/{sha}": (
        f"/api/v1/cases/1/photos/{'0' * 64}",
        _photo_reached,
    ),
    "GET /api/v1/topics/{topic}/labels": ("/api/v1/topics/group_rental/labels", _labels_p1),
    "GET /api/v1/entities/person/{id}": ("/api/v1/entities/person/P1", _found),
    "GET /api/v1/entities/person/{id}/credit-report": (
        "/api/v1/entities/person/P1/credit-report",
        _found,
    ),
    "GET /api/v1/entities/enterprise/{id}": ("/api/v1/entities/enterprise/E1", _found),
    "GET /api/v1/entities/dwelling/{id}": ("/api/v1/entities/dwelling/D1", _found),
    "GET /api/v1/entities/search": ("/api/v1/entities/search?kind=person&q=张三", _hits_p1),
    **{
        f"POST /api/v1/cases/{{case_id}}/{action}": (f"/api/v1/cases/1/{action}", _reached)
        for action in ACTIONS
    },
}
