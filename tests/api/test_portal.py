"""The public portal's routes: a resident's report to its rated answer, photos, typed addresses,
and a firm's own credit and its dispute (信用修复) up to the new grade."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from PIL import Image
from sqlalchemy import select

from api.conftest import Harness, make_harness
from api.scoped_data import findings_table, write_findings
from citybrain.api.opsdb_models import ApiUser, PhoneCode
from citybrain.api.receipts import receipt_for
from citybrain.api.security.phone import PhoneRefused, normalise, outbox
from citybrain.cases import desk
from citybrain.cases.opsdb_models import Case
from citybrain.core.opsdb import session
from citybrain.topics.builtin.credit.repair import review

FIRM, OTHER = "91510100MA61234567", "91510100MA6XXXXX0Y"
PENALTY = "示高监罚〔2023〕00031号"


def _square(x: float, y: float, size: float) -> str:
    return f"POLYGON(({x} {y},{x + size} {y},{x + size} {y + size},{x} {y + size},{x} {y}))"


def _reason(signal: str, points: int, zh: str) -> dict[str, object]:
    return {"signal": signal, "points": points, "observed": 1.0, "text_zh": zh, "text_en": zh}


def seed(harness: Harness) -> None:
    admin = pa.table({
        "level": ["street", "community", "grid"], "code": ["S01", "C01", "G01"],
        "name": ["科技园街道", "锦城社区", "一网格"], "parent_code": [None, "S01", "C01"],
        "geometry": [_square(104.0, 30.5, 0.1), _square(104.0, 30.5, 0.05),
                     _square(104.0, 30.5, 0.025)],
    })  # fmt: skip
    register = pa.table({  # two gates, a building on each, a unit (without a point) in one
        "address_id": ["R1", "B1", "U1", "R2", "B2"],
        "level": ["road_number", "building", "unit", "road_number", "building"],
        "parent_id": [None, "R1", "B1", None, "R2"],
        "full_address": ["天府大道1号锦城小区", "天府大道1号锦城小区3栋",
                         "天府大道1号锦城小区3栋2单元", "天府大道9号", "天府大道9号1栋"],
        "road_name": ["天府大道"] * 5, "road_no": ["1", "1", "1", "9", "9"],
        "estate_name": ["锦城小区"] * 3 + [None] * 2, "building_no": [None, "3", "3", None, "1"],
        "unit_no": [None, None, "2", None, None], "room_no": [None] * 5,
        "lon": [104.0105, 104.01, None, 104.09, 104.0901],
        "lat": [30.5105, 30.51, None, 30.59, 30.5901],
    })  # fmt: skip
    penalty = pa.table({
        "decision_no": [PENALTY, "其他〔2023〕1号"], "uscc": [FIRM, OTHER],
        "legal_rep_name": ["张三", "李四"], "violation": ["虚假宣传", "无照经营"],
        "decided_date": ["2023-05-01", "2023-06-01"],
    })  # fmt: skip
    registration = pa.table({
        "registration_id": ["R-A", "R-B"], "uscc": [FIRM, OTHER],
        "name": ["示例科技有限公司", "别家公司"], "status": ["存续"] * 2,
        "address": ["天府大道9号1栋", None],
    })  # fmt: skip
    links = pa.table({
        "source_table": ["enterprise_registration"] * 2, "source_key": ["R-A", "R-B"],
        "golden_enterprise_id": ["G-A", "G-B"],
    })  # fmt: skip
    why = {"signal": "insured", "observed": 12.0, "expected": 10.0, "contribution": 1.0,
           "text_zh": "参保12人，政策要求至少10人",
           "text_en": "12 insured, at least 10"}  # fmt: skip
    pushed = findings_table(
        [{"topic": "policy_push", "subject_type": "enterprise_policy", "subject_id": sid,
          "period": "2026-01", "score": score, "level": "high", "reasons": [why]}
         for sid, score in (("rent_relief:G-A", 0.7), ("rd_credit:G-A", 0.9),
                            ("rent_relief:G-B", 0.9))]
    )  # fmt: skip
    scores = pa.table({
        "uscc": [FIRM, OTHER], "period": ["2026-01", "2026-01"], "score": [77, 90],
        "grade": ["B", "A"],
        "reasons": [[_reason("penalty", -5, "受到行政处罚1次")], []],
        "model_version": ["credit-1"] * 2, "model_points": [82.0, 95.0],
        "dishonest": [0, 0], "penalties": [1, 1], "tax_penalties": [0, 0], "broken": [0, 0],
        "kept": [0, 0], "inactive": [0, 0], "run_id": ["20260201T000000Z-00000001"] * 2,
    })  # fmt: skip
    write_findings(harness.workspace, pushed, topic="policy_push")
    with harness.workspace.engine() as engine:
        engine.write(admin, "std", "admin_area")
        engine.write(register, "std", "standard_address")
        engine.write(penalty, "std", "penalty")
        engine.write(registration, "std", "enterprise_registration")
        engine.write(links, "base", "enterprise_link")
        engine.write(scores, "topic", "credit_scores", partition_by=["run_id"])


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    for harness in make_harness(tmp_path_factory.mktemp("portal")):
        seed(harness)
        yield harness


def jpeg(with_gps: bool, colour: str = "red") -> bytes:
    image = Image.new("RGB", (32, 24), colour)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    if with_gps:
        exif[0x8825] = {1: "N", 2: (30.0, 30.0, 36.0), 3: "E", 4: (104.0, 0.0, 36.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def _upload(portal: Harness, data: bytes, keep: bool = False) -> dict[str, object]:
    response = portal.client.post(
        "/api/v1/portal/photos", files={"file": ("p.jpg", data, "image/jpeg")},
        data={"keep_location": "true" if keep else "false"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def _stored(portal: Harness, sha: object) -> Path:
    return next((portal.workspace.root / "files" / "case-photos").rglob(f"{sha}.*"))


def test_a_photo_loses_its_location_unless_allowed_and_is_stored_once(portal: Harness) -> None:
    stripped = _upload(portal, jpeg(with_gps=True))
    assert stripped["location_removed"] is True
    with Image.open(_stored(portal, stripped["sha256"])) as image:
        exif = image.getexif()
        assert 0x8825 not in exif and exif[0x010F] == "PhoneMaker"
    kept = _upload(portal, jpeg(with_gps=True), keep=True)
    assert kept["location_removed"] is False
    with Image.open(_stored(portal, kept["sha256"])) as image:
        assert 0x8825 in image.getexif()
    again = _upload(portal, jpeg(with_gps=True))
    assert again["sha256"] == stripped["sha256"]
    assert len(list(_stored(portal, stripped["sha256"]).parent.glob(f"{stripped['sha256']}*"))) == 1


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GIF89a not taken", 415),
        (b"\xff\xd8\xff\xe0 a JPEG head and nothing else", 415),  # the magic bytes lie
        (b"", 422),
    ],
)
def test_a_file_that_is_not_a_real_photo_is_refused(
    portal: Harness, data: bytes, status: int
) -> None:
    response = portal.client.post("/api/v1/portal/photos", files={"file": ("x.jpg", data)})
    assert response.status_code == status, response.text


def test_a_typed_address_is_read_and_placed_on_the_register(portal: Harness) -> None:
    found = portal.client.post(
        "/api/v1/portal/address", json={"text": "高新区天府大道1号锦城小区3栋2单元"}
    ).json()
    assert found["matched"] is True
    assert found["full_address"] == "天府大道1号锦城小区3栋"
    assert (found["street"], found["community"], found["grid"]) == (
        "科技园街道",
        "锦城社区",
        "一网格",
    )
    assert found["components"]["road"] == "天府大道" and found["components"]["unit"] == "2"
    assert (found["address_id"], found["level"]) == ("B1", "building")  # the unit has no point
    # A mistyped road is read as the register's road, as standardize reads the lake's addresses;
    # the mistyped estate does not stop the match (the road number and building place it).
    typo = portal.client.post("/api/v1/portal/address", json={"text": "天府大到1号锦成小区3栋"})
    assert typo.json()["components"]["road"] == "天府大道", typo.json()
    assert (typo.json()["address_id"], typo.json()["matched"]) == ("B1", True)
    # Nearest parking reads a typed address with the same resolver: the typo leaves "1栋" unparsed,
    # below the matcher's threshold, so the corrected road number places it (the gate's point).
    near = portal.client.get("/api/v1/parking/nearest", params={"address": "天府大到9号1栋"})
    assert near.json()["point"] == {"lon": 104.09, "lat": 30.59, "matched": "天府大道9号",
                                    "level": "road_number"}  # fmt: skip
    unknown = portal.client.post("/api/v1/portal/address", json={"text": "火星路100号"}).json()
    assert unknown["matched"] is False and unknown["components"]["road"] == "火星路"


def test_air_quality_near_a_typed_address(portal: Harness) -> None:
    url = "/api/v1/portal/air"
    empty = portal.client.get(url, params={"address": "天府大道9号1栋"}).json()
    assert empty["stations"] == [] and "no air-quality data" in empty["message"]

    def day(run: str, sensor: str, date: str, aqi: float | None, lon: float) -> dict[str, object]:
        return {
            "run_id": run,
            "sensor_id": sensor,
            "date": date,
            "aqi": aqi,
            "lon": lon,
            "lat": 30.59,
            "category_zh": "良",
            "category_en": "Good",
            "primary": "PM2.5",
        }

    daily = pa.Table.from_pylist([
        day("r1", "near", "2026-03-02", 300.0, 104.0901),  # an older run: not shown
        day("r2", "near", "2026-03-01", 80.0, 104.0901),
        day("r2", "near", "2026-03-02", None, 104.0901),  # no valid AQI that day
        day("r2", "far", "2026-03-02", 40.0, 104.2),
    ])  # fmt: skip
    with portal.workspace.engine() as engine:
        engine.write(daily, "topic", "air_quality_station_daily", partition_by=["run_id"])
    got = portal.client.get(url, params={"address": "天府大道9号1栋", "k": 2})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["place"]["full_address"] == "天府大道9号1栋" and body["place"]["street"]
    assert [(s["sensor_id"], s["date"], s["aqi"]) for s in body["stations"]] == [
        ("near", "2026-03-01", 80),
        ("far", "2026-03-02", 40),
    ]
    assert body["stations"][0]["distance_m"] < 20 and body["stations"][0]["category_zh"] == "良"
    assert portal.client.get(url, params={"address": "火星路100号"}).status_code == 404


def test_notices_for_the_community_of_a_typed_address(portal: Harness) -> None:
    url, home = "/api/v1/portal/notices", {"address": "天府大道1号锦城小区3栋"}
    assert portal.client.get(url, params=home).json()["notices"] == []
    screening = pa.table({
        "record_id": ["1", "2", "3", "4"], "contact_name": ["张三", "李四", "王五", "赵六"],
        "community": ["锦城社区", "锦城社区", "锦城社区", "别的社区"], "round": [1, 1, 2, 3],
        "screened_date": [date(2026, 3, 1), date(2026, 3, 3), date(2026, 4, 2), date(2026, 5, 1)],
    })  # fmt: skip
    with portal.workspace.engine() as engine:
        engine.write(screening, "std", "screening")
    got = portal.client.get(url, params=home)
    assert got.status_code == 200, got.text
    assert got.json()["place"]["community"] == "锦城社区"
    assert [(n["title_zh"], n["first_day"], n["last_day"], n["households"])
            for n in got.json()["notices"]] == [
        ("锦城社区第2轮入户排查", "2026-04-02", "2026-04-02", 1),
        ("锦城社区第1轮入户排查", "2026-03-01", "2026-03-03", 2),
    ]  # fmt: skip
    assert "张三" not in got.text  # counts and dates only
    assert portal.client.get(url, params={"address": "火星路100号"}).status_code == 404


def test_a_resident_reports_follows_and_rates_by_receipt_only(portal: Harness) -> None:
    photo = _upload(portal, jpeg(with_gps=False, colour="blue"))
    sent = portal.client.post(
        "/api/v1/portal/reports",
        json={"service_code": "road_damage", "description": "路面塌陷一个大坑",
              "address": "天府大道1号锦城小区3栋", "photo": photo["sha256"]},
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    receipt, case_id = sent.json()["receipt"], sent.json()["case_id"]
    followed = portal.client.get(f"/api/v1/portal/receipts/{receipt}").json()
    assert followed["status"] == "dispatched" and followed["department"]
    assert followed["deadline"] and followed["answer"] is None and followed["can_rate"] is False
    case = desk.get_case(portal.security.ops_engine, case_id)
    assert (case.street_id, case.grid_id) == ("S01", "G01")  # placed, so the street's clerk sees it
    # Another id with this receipt's signature, or a made-up signature, opens nothing.
    head, sig = receipt.split("-")
    for forged in (f"{int(head) + 1}-{sig}", f"{head}-AAAAAAAAAA"):
        assert portal.client.get(f"/api/v1/portal/receipts/{forged}").status_code == 404
    early = portal.client.post(f"/api/v1/portal/receipts/{receipt}/rating", json={"rating": 5})
    assert early.status_code == 409

    for action in ("accept", "start"):
        desk.act(portal.security.ops_engine, case_id, action, actor="clerk")
    desk.act(portal.security.ops_engine, case_id, "close", actor="clerk",
             outcome="confirmed", comment="已修补路面")  # fmt: skip
    answered = portal.client.get(f"/api/v1/portal/receipts/{receipt.lower()}").json()
    assert answered["closed"] is True and "已修补路面" in answered["answer"]
    rated = portal.client.post(f"/api/v1/portal/receipts/{receipt}/rating", json={"rating": 4})
    assert rated.status_code == 200 and rated.json()["rating"] == 4
    assert (
        portal.client.post(
            f"/api/v1/portal/receipts/{receipt}/rating", json={"rating": 1}
        ).status_code
        == 409
    )  # once only
    metrics = portal.client.get("/api/v1/cases/metrics", headers=portal.as_role("leader")).json()
    assert metrics["satisfaction_rate"] == 1.0


def test_receipts_are_signed_with_the_service_key() -> None:
    assert receipt_for(b"k1", 7) != receipt_for(b"k2", 7)
    assert receipt_for(b"k1", 7).startswith("7-")


def test_a_firm_sees_its_own_credit_disputes_a_record_and_sees_the_new_grade(
    portal: Harness,
) -> None:
    portal.user("firm", username="firm-a", department=FIRM)
    portal.user("firm", username="firm-b", department=OTHER)
    mine = portal.headers("firm-a")
    credit = portal.client.get("/api/v1/portal/firm/credit", headers=mine).json()
    assert (credit["uscc"], credit["grade"], credit["name"]) == (FIRM, "B", "示例科技有限公司")
    assert [r["record_id"] for r in credit["records"]] == [PENALTY]  # not the other firm's
    assert "legal_rep_name" not in credit["records"][0]["fields"]
    assert [p["grade"] for p in credit["history"]] == ["B"]

    # A firm can only dispute its own records.
    other = {"kind": "penalty", "record_id": "其他〔2023〕1号", "reason": "不是我们的记录"}
    assert (
        portal.client.post("/api/v1/portal/firm/disputes", json=other, headers=mine).status_code
        == 404
    )
    body = {"kind": "penalty", "record_id": PENALTY, "reason": "处罚决定已被复议撤销"}
    filed = portal.client.post("/api/v1/portal/firm/disputes", json=body, headers=mine)
    assert filed.status_code == 201, filed.text
    assert (
        portal.client.post("/api/v1/portal/firm/disputes", json=body, headers=mine).status_code
        == 409
    )
    assert (
        portal.client.get("/api/v1/portal/firm/disputes", headers=portal.headers("firm-b")).json()
        == []
    )

    with portal.workspace.engine() as engine, session(portal.security.ops_engine) as db:
        review(db, engine, filed.json()["id"], uphold=True, by="steward2", note="已撤销")
    after = portal.client.get("/api/v1/portal/firm/credit", headers=mine).json()
    assert (after["grade"], after["score"]) == ("A", 82)
    assert [p["cause"] for p in after["history"]] == ["run", "repair"]
    assert after["records"][0]["dispute"] == "upheld"


def test_a_firm_sees_the_policies_pushed_to_it_and_their_case(portal: Harness) -> None:
    portal.user("firm", username="firm-p", department=FIRM)
    with session(portal.security.ops_engine) as db:
        db.add(Case(topic="policy_push", subject_type="enterprise_policy",
                    subject_id="rd_credit:G-A", period="2026-01", status="dispatched",
                    open_key="policy_push|enterprise_policy|rd_credit:G-A"))  # fmt: skip
    got = portal.client.get("/api/v1/portal/firm/policies", headers=portal.headers("firm-p"))
    assert got.status_code == 200, got.text
    policies = got.json()
    assert [(p["policy"], p["case_status"]) for p in policies] == [
        ("rd_credit", "dispatched"),
        ("rent_relief", None),
    ]  # mine only (not the other firm's rent relief), highest score first
    assert policies[0]["title_zh"] and policies[0]["department"]
    assert policies[0]["reasons"][0]["text_zh"] == "参保12人，政策要求至少10人"
    clerk = portal.client.get("/api/v1/portal/firm/policies", headers=portal.as_role("clerk"))
    assert clerk.status_code == 403
    # The firm answers on the open service case: a note the service centre sees on its case.
    mine = portal.headers("firm-p")
    answer = {"answer": "apply", "note": "下周提交材料"}
    applied = portal.client.post("/api/v1/portal/firm/policies/rd_credit/answer", json=answer,
                                 headers=mine)  # fmt: skip
    assert applied.status_code == 200, applied.text
    assert [(p["policy"], p["answer"]) for p in applied.json()] == [
        ("rd_credit", "apply"),
        ("rent_relief", None),
    ]
    with session(portal.security.ops_engine) as db:
        case = db.scalars(select(Case).where(Case.subject_id == "rd_credit:G-A")).one()
        assert case.events[-1].comment == "企业答复：拟申报（下周提交材料）"
        assert case.events[-1].actor == "firm:firm-p" and case.status == "dispatched"
    no_case = portal.client.post("/api/v1/portal/firm/policies/rent_relief/answer",
                                 json={"answer": "decline"}, headers=mine)  # fmt: skip
    assert no_case.status_code == 404


def test_a_firm_request_is_a_case_with_its_own_receipt_and_rating(portal: Harness) -> None:
    portal.user("firm", username="firm-r", department=FIRM)
    portal.user("firm", username="firm-s", department=OTHER)
    mine = portal.headers("firm-r")
    body = {"description": "厂区门口道路积水，货车无法进出", "contact": "王经理",
            "request_id": "q-1"}  # fmt: skip
    filed = portal.client.post("/api/v1/portal/firm/requests", json=body, headers=mine)
    assert filed.status_code == 201, filed.text
    receipt, case_id = filed.json()["receipt"], filed.json()["case_id"]
    assert filed.json()["department"] == "企业服务中心"
    again = portal.client.post("/api/v1/portal/firm/requests", json=body, headers=mine).json()
    assert (again["receipt"], again["case_id"]) == (receipt, case_id)  # sent twice, filed once
    case = desk.get_case(portal.security.ops_engine, case_id)
    assert (case.topic, case.source, case.status) == ("enterprise_request", "enterprise",
                                                     "dispatched")  # fmt: skip
    # Placed at the firm's registered address (its building on the register), in its street.
    assert filed.json()["address"] == "天府大道9号1栋"
    assert (case.lon, case.lat, case.street_id) == (104.0901, 30.5901, "S01")
    # A second request from the same place is a case of its own (a firm's request never merges).
    second = portal.client.post("/api/v1/portal/firm/requests", headers=mine,
                                json={"description": "申请协调用电增容"}).json()  # fmt: skip
    assert second["case_id"] != case_id
    # A firm without a registered address files its request unplaced.
    elsewhere = portal.client.post(
        "/api/v1/portal/firm/requests", json=body | {"request_id": "s-1"},
        headers=portal.headers("firm-s"),
    ).json()  # fmt: skip
    assert elsewhere["address"] is None
    listed = portal.client.get("/api/v1/portal/firm/requests", headers=mine).json()
    assert [(r["receipt"], r["status"]) for r in listed][-1] == (receipt, "dispatched")
    assert len(listed) == 2
    other = portal.client.get("/api/v1/portal/firm/requests", headers=portal.headers("firm-s"))
    assert [r["receipt"] for r in other.json()] == [elsewhere["receipt"]]
    followed = portal.client.get(f"/api/v1/portal/receipts/{receipt}").json()
    assert followed["service_name"] == "企业诉求" and followed["department"] == "企业服务中心"
    for action in ("accept", "start"):
        desk.act(portal.security.ops_engine, case_id, action, actor="clerk")
    desk.act(portal.security.ops_engine, case_id, "close", actor="clerk",
             outcome="confirmed", comment="已协调排水")  # fmt: skip
    rated = portal.client.post(f"/api/v1/portal/receipts/{receipt}/rating", json={"rating": 5})
    assert rated.status_code == 200 and "已协调排水" in rated.json()["answer"]
    listed = portal.client.get("/api/v1/portal/firm/requests", headers=mine).json()
    assert [r["rating"] for r in listed if r["receipt"] == receipt] == [5]
    anonymous = portal.client.post("/api/v1/portal/firm/requests", json=body)
    assert anonymous.status_code == 401


def test_a_firm_signs_the_commitments_its_grade_allows(portal: Harness) -> None:
    portal.user("firm", username="firm-c", department=FIRM)
    portal.user("firm", username="firm-new", department="91510100MA6YYYYY1X")  # no grade yet
    mine, new = portal.headers("firm-c"), portal.headers("firm-new")
    url = "/api/v1/portal/firm/commitments"
    offers = portal.client.get(url, headers=mine).json()
    assert offers["grade"] in ("A", "B") and offers["signed"] == []
    assert {o["kind"]: o["allowed"] for o in offers["offers"]} == {"compliance": True,
                                                                  "tolerance": True}  # fmt: skip
    unread = portal.client.post(url, json={"kind": "tolerance", "accept": False}, headers=mine)
    assert unread.status_code == 409
    signed = portal.client.post(url, json={"kind": "tolerance", "accept": True}, headers=mine)
    assert signed.status_code == 201, signed.text
    body = signed.json()
    assert body["grade"] == offers["grade"] and body["signed_by"] == "firm-c"
    days = datetime.fromisoformat(body["due_at"]) - datetime.fromisoformat(body["signed_at"])
    assert days.days == 30 and "30日内补齐" in body["text_zh"]
    again = portal.client.post(url, json={"kind": "tolerance", "accept": True}, headers=mine)
    assert again.status_code == 409 and "已签署" in again.json()["detail"]
    after = portal.client.get(url, headers=mine).json()
    assert [c["kind"] for c in after["signed"]] == ["tolerance"]
    assert {o["kind"]: o["allowed"] for o in after["offers"]}["tolerance"] is False
    # A firm without a grade may sign nothing, and sees none of the other firm's commitments.
    ungraded = portal.client.get(url, headers=new).json()
    assert ungraded["signed"] == [] and not any(o["allowed"] for o in ungraded["offers"])
    refused = portal.client.post(url, json={"kind": "compliance", "accept": True}, headers=new)
    assert refused.status_code == 409 and "no credit grade" in refused.json()["detail"]


@pytest.mark.parametrize("role", ["public", "clerk", "admin", "leader"])
def test_an_account_that_is_no_firm_gets_no_firm_page(portal: Harness, role: str) -> None:
    response = portal.client.get("/api/v1/portal/firm/credit", headers=portal.as_role(role))
    assert response.status_code == 403


def test_the_portal_page_is_served_under_portal(portal: Harness) -> None:
    page = portal.client.get("/portal/")
    assert page.status_code == 200
    assert '<html lang="zh-CN"' in page.text and "http" not in page.text.split("<body")[0].replace(
        'name="viewport"', ""
    )
    assert portal.client.get("/portal", follow_redirects=False).status_code == 308


# --- residents signed in by phone, and 代办 on the desk ------------------------------------------


def _code(portal: Harness, phone: str) -> str:
    """The code the offline sender wrote to the SMS outbox for ``phone`` (its latest text)."""
    texts = outbox(portal.security.ops_engine, phone)
    found = re.search(r"验证码为 (\d{6})", texts[0]) if texts else None
    assert found, texts
    return found.group(1)


def _sign_in(portal: Harness, phone: str) -> dict[str, str]:
    portal.clock.advance(minutes=2)  # past the resend interval of an earlier code
    sent = portal.client.post("/api/v1/portal/phone/code", json={"phone": phone})
    assert sent.status_code == 202, sent.text
    code = _code(portal, normalise(phone))
    got = portal.client.post("/api/v1/portal/phone/session", json={"phone": phone, "code": code})
    assert got.status_code == 200, got.text
    return {"Authorization": f"Bearer {got.json()['access_token']}"}


def test_a_resident_signs_in_by_phone_and_sees_only_the_reports_made_with_it(
    portal: Harness,
) -> None:
    mine, theirs = "13812345678", "13900001111"
    url = "/api/v1/portal/reports"
    typed = {"service_code": "road_damage", "description": "井盖缺失", "address": "天府大道9号1栋"}
    first = portal.client.post(url, json=typed | {"phone": "+86 138-1234-5678"}).json()
    other = portal.client.post(url, json=typed | {"phone": theirs, "description": "路灯不亮"})
    # 代办: the resident phoned; a clerk enters the report and reads the receipt number out.
    clerk = portal.as_role("clerk", scope=["street:S01"])
    assisted = {"service_code": "road_damage", "description": "老人来电：小区门口路面破损",
                "address": "天府大到1号锦城小区3栋", "phone": mine, "name": "王大爷",
                "request_id": "desk-0001"}  # fmt: skip
    entered = portal.client.post("/api/v1/portal/assisted-reports", json=assisted, headers=clerk)
    assert entered.status_code == 201, entered.text
    desk_receipt = entered.json()
    assert desk_receipt["address"]["full_address"] == "天府大道1号锦城小区3栋"  # typo read right
    assert desk_receipt["receipt"] in desk_receipt["notice_zh"] and "138****5678" in desk_receipt[
        "notice_zh"]  # fmt: skip
    again = portal.client.post("/api/v1/portal/assisted-reports", json=assisted, headers=clerk)
    assert again.json()["receipt"] == desk_receipt["receipt"]  # entered twice, filed once
    case = desk.get_case(portal.security.ops_engine, desk_receipt["case_id"])
    assert (case.source, case.street_id) == ("hotline", "S01")
    followed = portal.client.get(f"/api/v1/portal/receipts/{desk_receipt['receipt']}").json()
    assert followed["department"] and followed["status"] == "dispatched"
    for who, status in (
        (None, 401),
        (portal.as_role("firm"), 403),
        (portal.as_role("public"), 403),
    ):
        refused = portal.client.post("/api/v1/portal/assisted-reports", json=assisted,
                                     headers=who or {})  # fmt: skip
        assert refused.status_code == status

    # The code: sent to the outbox only, once a minute, hashed at rest, good once.
    phone_url, session_url = "/api/v1/portal/phone/code", "/api/v1/portal/phone/session"
    assert portal.client.post(phone_url, json={"phone": "12345678901"}).status_code == 422
    headers = _sign_in(portal, mine)
    code = _code(portal, mine)
    soon = portal.client.post(phone_url, json={"phone": mine})
    assert soon.status_code == 429 and int(soon.headers["Retry-After"]) > 0
    with session(portal.security.ops_engine) as db:
        stored = db.scalars(select(PhoneCode)).all()
        assert stored and all(mine not in (r.phone_hash + r.code_hash) for r in stored)
        assert all(code not in r.code_hash for r in stored)
    reused = portal.client.post(session_url, json={"phone": mine, "code": code})
    assert reused.status_code == 401  # used once

    reports = portal.client.get("/api/v1/portal/my/reports", headers=headers)
    assert reports.status_code == 200, reports.text
    got = reports.json()
    assert got["phone"] == "138****5678"
    assert {r["receipt"] for r in got["reports"]} == {first["receipt"], desk_receipt["receipt"]}
    assert all(r["department"] and r["deadline"] and r["status"] for r in got["reports"])
    assert other.json()["receipt"] not in reports.text and "路灯不亮" not in reports.text
    # The other resident sees their own report only.
    their = portal.client.get("/api/v1/portal/my/reports", headers=_sign_in(portal, theirs))
    assert [r["receipt"] for r in their.json()["reports"]] == [other.json()["receipt"]]
    for who, status in ((None, 401), (portal.as_role("clerk"), 403), (portal.as_role("firm"), 403),
                        (portal.as_role("admin"), 403)):  # fmt: skip
        assert (
            portal.client.get("/api/v1/portal/my/reports", headers=who or {}).status_code == status
        )


def test_a_phone_code_expires_and_dies_after_five_wrong_guesses(portal: Harness) -> None:
    phone, url = "13700002222", "/api/v1/portal/phone/session"
    portal.clock.advance(minutes=2)
    assert portal.client.post("/api/v1/portal/phone/code", json={"phone": phone}).status_code == 202
    code = _code(portal, phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert portal.client.post(url, json={"phone": phone, "code": wrong}).status_code == 401
    dead = portal.client.post(url, json={"phone": phone, "code": code})
    assert dead.status_code == 401 and "重新获取" in dead.json()["detail"]
    portal.clock.advance(minutes=2)
    assert portal.client.post("/api/v1/portal/phone/code", json={"phone": phone}).status_code == 202
    portal.clock.advance(minutes=6)  # past its five minutes
    late = portal.client.post(url, json={"phone": phone, "code": _code(portal, phone)})
    assert late.status_code == 401


@pytest.mark.parametrize(
    ("typed", "number"),
    [("13812345678", "13812345678"), ("+86 138-1234-5678", "13812345678"),
     ("0086 13812345678", "13812345678"), ("12812345678", None), ("1381234567", None)],
)  # fmt: skip
def test_a_phone_number_is_read_as_its_eleven_digits(typed: str, number: str | None) -> None:
    if number is None:
        with pytest.raises(PhoneRefused):
            normalise(typed)
    else:
        assert normalise(typed) == number


def test_a_firm_signs_in_with_its_uscc_checked_on_the_server(portal: Harness) -> None:
    password = "Firm-password-2026"
    portal.user("firm", username="firm-login", department=FIRM, password=password)
    portal.user("clerk", username="clerk-login", department=FIRM)
    with session(portal.security.ops_engine) as db:  # the same password (one argon2 hash less)
        users = {u.username: u for u in db.scalars(select(ApiUser))}
        users["clerk-login"].password_hash = users["firm-login"].password_hash
    url = "/api/v1/portal/firm/session"
    good = {"uscc": FIRM.lower(), "username": "firm-login", "password": password}
    signed = portal.client.post(url, json=good)
    assert signed.status_code == 200, signed.text
    assert signed.json()["uscc"] == FIRM
    token = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    assert portal.client.get("/api/v1/portal/firm/credit", headers=token).json()["uscc"] == FIRM
    # Another firm's USCC, or an account that is no firm's (a clerk whose department reads like
    # this USCC), is refused like a wrong password (wrong passwords: tests/api/test_auth*.py).
    for wrong in (good | {"uscc": OTHER}, good | {"username": "clerk-login"}):
        refused = portal.client.post(url, json=wrong)
        assert refused.status_code == 401, wrong
        assert refused.json()["detail"].startswith("wrong USCC, account or password")


def test_the_steward_upholds_or_rejects_a_dispute_from_the_queue(portal: Harness) -> None:
    """信用修复审核 (``/credit/disputes``): the queue shows the firm, the record and the firm's
    words; a rejection needs a note the firm reads; an upheld dispute redoes the grade."""
    from citybrain.api.opsdb_models import AuditLog

    firm = portal.headers(portal.user("firm", department=OTHER))
    steward = portal.headers(portal.user("data_steward", username="steward-q"))
    body = {"kind": "penalty", "record_id": "其他〔2023〕1号", "reason": "已补办执照，处罚已撤销"}
    first = portal.client.post("/api/v1/portal/firm/disputes", json=body, headers=firm).json()
    assert portal.client.get("/api/v1/credit/disputes", headers=firm).status_code == 403
    queue = portal.client.get("/api/v1/credit/disputes", headers=steward).json()
    mine = next(q for q in queue if q["id"] == first["id"])
    assert {k: mine[k] for k in ("uscc", "firm", "grade", "kind", "record_id", "reason")} == {
        "uscc": OTHER, "firm": "别家公司", "grade": "A", "kind": "penalty",
        "record_id": "其他〔2023〕1号", "reason": "已补办执照，处罚已撤销",
    }  # fmt: skip
    assert mine["record"] == {"violation": "无照经营", "decided_date": "2023-06-01"}
    url = f"/api/v1/credit/disputes/{first['id']}/review"
    assert portal.client.post(url, json={"decision": "reject"}, headers=steward).status_code == 422
    rejected = portal.client.post(url, json={"decision": "reject", "note": "执照补办不撤销处罚"},
                                  headers=steward)  # fmt: skip
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected"), rejected.text
    assert portal.client.post(url, json={"decision": "uphold"}, headers=steward).status_code == 409
    seen = portal.client.get("/api/v1/portal/firm/disputes", headers=firm).json()
    assert [(d["status"], d["review_note"]) for d in seen] == [("rejected", "执照补办不撤销处罚")]
    assert all(q["id"] != first["id"] for q in
               portal.client.get("/api/v1/credit/disputes", headers=steward).json())  # fmt: skip

    again = portal.client.post("/api/v1/portal/firm/disputes", json=body, headers=firm).json()
    upheld = portal.client.post(f"/api/v1/credit/disputes/{again['id']}/review",
                                json={"decision": "uphold"}, headers=steward).json()  # fmt: skip
    assert (upheld["status"], upheld["grade_before"], upheld["score_before"]) == ("upheld", "A", 90)
    assert upheld["score_after"] > 90 and upheld["run_id"]
    assert portal.client.post("/api/v1/credit/disputes/999999/review", json={"decision": "uphold"},
                              headers=steward).status_code == 404  # fmt: skip
    with session(portal.security.ops_engine) as db:
        rows = db.scalars(select(AuditLog).where(AuditLog.actor == "steward-q")).all()
        decided = [(r.action, r.detail.get("decision")) for r in rows if "dispute_id" in r.detail]
    assert decided == [("credit.review", "rejected"), ("credit.repair", "upheld")]
