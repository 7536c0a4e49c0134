"""A case a clerk can act on: its evidence month by month, and the on-site result that becomes
the topic's label."""

from __future__ import annotations

import io

import pyarrow as pa
import pytest
from PIL import Image

from api.conftest import Harness
from api.scoped_data import findings_table, write_findings
from citybrain.cases import CaseSettings, open_cases, outcome_labels

DEPARTMENT = "城市运行管理中心"
TOPIC = "group_rental"


def _reason(signal: str, observed: float, expected: float) -> dict[str, object]:
    return {
        "signal": signal, "observed": observed, "expected": expected, "contribution": 0.4,
        "text_zh": f"{signal} {observed} / {expected}", "text_en": f"{signal} {observed}",
    }  # fmt: skip


@pytest.fixture
def case_api(api: Harness) -> Harness:
    full = "天府大道1号锦城小区3栋2单元502室"
    register = pa.table({"address_id": ["D1"], "level": ["dwelling"], "full_address": [full]})
    with api.workspace.engine() as engine:
        engine.write(register, "std", "standard_address")
    base = {
        "topic": TOPIC, "subject_type": "dwelling", "subject_id": "D1", "street_id": "S01",
        "community_id": "C01", "grid_id": "G01", "model_version": "group_rental-1",
    }  # fmt: skip
    rows = [
        base | {"period": "2026-01", "score": 0.8,
                "reasons": [_reason("water_per_person", 9.0, 3.0)]},
        base | {"period": "2026-02", "score": 0.9,
                "reasons": [_reason("water_per_person", 11.0, 3.5), _reason("deliveries", 80, 20)]},
        base | {"subject_id": "D2", "period": "2026-02", "score": 0.9,
                "reasons": [_reason("water_per_person", 1.0, 3.0)]},
    ]  # fmt: skip
    findings = findings_table(rows)
    write_findings(api.workspace, findings, topic=TOPIC)
    latest = findings.filter(pa.compute.equal(findings["period"], "2026-02")).drop_columns(
        ["run_id"]
    )
    open_cases(api.security.ops_engine, latest, settings=CaseSettings(), clock=api.clock)
    return api


def _clerk(api: Harness) -> dict[str, str]:
    return api.headers(api.user("clerk", scope=["street:S01"], department=DEPARTMENT))


def _case(api: Harness, headers: dict[str, str], subject_address: str) -> dict[str, object]:
    items = api.client.get("/api/v1/cases", headers=headers).json()["items"]
    found: dict[str, object] = next(c for c in items if c["address"] == subject_address)
    return found


def test_evidence_series_reads_the_subjects_findings_month_by_month(case_api: Harness) -> None:
    clerk = _clerk(case_api)
    case = _case(case_api, clerk, "天府大道1号锦城小区3栋")
    answer = case_api.client.get(f"/api/v1/cases/{case['id']}/evidence/series", headers=clerk)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["periods"] == ["2026-01", "2026-02"]  # D2's finding is not this case's
    water = next(s for s in body["signals"] if s["signal"] == "water_per_person")
    assert water["observed"] == [9.0, 11.0] and water["expected"] == [3.0, 3.5]
    deliveries = next(s for s in body["signals"] if s["signal"] == "deliveries")
    assert deliveries["observed"] == [None, 80.0]
    outsider = case_api.as_role("clerk", scope=["street:S99"])
    gone = case_api.client.get(f"/api/v1/cases/{case['id']}/evidence/series", headers=outsider)
    assert gone.status_code == 404


def _work_to_site(api: Harness, headers: dict[str, str], case_id: object) -> int:
    url = f"/api/v1/cases/{case_id}"
    version = api.client.get(url, headers=headers).json()["case"]["version"]
    for step in ("accept", "start"):
        done = api.client.post(f"{url}/{step}", json={"version": version}, headers=headers)
        assert done.status_code == 200, done.text
        version = done.json()["case"]["version"]
    return int(version)


def test_on_site_confirmed_becomes_the_topics_label(case_api: Harness) -> None:
    clerk = _clerk(case_api)
    case = _case(case_api, clerk, "天府大道1号锦城小区3栋")
    version = _work_to_site(case_api, clerk, case["id"])
    url = f"/api/v1/cases/{case['id']}/on-site"
    bad = case_api.client.post(url, json={"version": version, "result": "maybe"}, headers=clerk)
    assert bad.status_code == 422
    body = {"version": version, "result": "confirmed", "comment": "屋内上下铺8张"}
    closed = case_api.client.post(url, json=body, headers=clerk)
    assert closed.status_code == 200, closed.text
    detail = closed.json()
    assert detail["case"]["status"] == "closed" and detail["case"]["outcome"] == "confirmed"
    last = detail["history"][-1]
    assert last["details"]["on_site"] == "confirmed"
    assert last["comment"] == "现场核查：属实。屋内上下铺8张"

    labels = outcome_labels(case_api.security.ops_engine, TOPIC).to_pylist()
    assert labels == [{"topic": TOPIC, "subject_id": "D1", "period": "2026-02", "label": 1}]
    shown = case_api.client.get(f"/api/v1/topics/{TOPIC}/labels", headers=clerk)
    assert shown.status_code == 200, shown.text
    page = shown.json()
    assert page["total"] == 1 and page["positives"] == 1
    [item] = page["items"]
    assert item["label_zh"] == "属实" and item["address"] == "天府大道1号锦城小区3栋"
    outsider = case_api.as_role("clerk", scope=["street:S99"])
    elsewhere = case_api.client.get(f"/api/v1/topics/{TOPIC}/labels", headers=outsider).json()
    assert elsewhere["total"] == 0


def test_no_entry_closes_unverifiable_and_teaches_nothing(case_api: Harness) -> None:
    clerk = _clerk(case_api)
    case = _case(case_api, clerk, "天府大道1号锦城小区3栋")
    version = _work_to_site(case_api, clerk, case["id"])
    body = {"version": version, "result": "no_entry", "comment": "三次敲门无人"}
    closed = case_api.client.post(f"/api/v1/cases/{case['id']}/on-site", json=body, headers=clerk)
    assert closed.status_code == 200, closed.text
    assert closed.json()["case"]["outcome"] == "unverifiable"
    assert closed.json()["history"][-1]["details"]["on_site"] == "no_entry"
    assert outcome_labels(case_api.security.ops_engine, TOPIC).num_rows == 0


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(out, format="PNG")
    return out.getvalue()


PNG = _png()


def test_a_photo_from_the_site_is_stored_once_and_served_only_for_its_case(
    case_api: Harness,
) -> None:
    clerk = _clerk(case_api)
    case = _case(case_api, clerk, "天府大道1号锦城小区3栋")
    url = f"/api/v1/cases/{case['id']}/photos"
    post = case_api.client.post
    first = post(url, files={"file": ("门口.png", PNG, "image/png")}, headers=clerk)
    assert first.status_code == 201, first.text
    photo = first.json()
    assert photo["media_type"] == "image/png" and photo["name"] == "门口.png"
    again = post(url, files={"file": ("again.png", PNG, "image/png")}, headers=clerk).json()
    assert again["sha256"] == photo["sha256"]  # stored by content, once
    stored = list((case_api.workspace.root / "files" / "case-photos").rglob("*.png"))
    assert len(stored) == 1
    # The type is read from the bytes, not from the declared type or the name.
    text = post(url, files={"file": ("x.png", b"not an image", "image/png")}, headers=clerk)
    assert text.status_code == 415 and "not a JPEG, PNG or WebP" in text.json()["detail"]
    head = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # the magic bytes lie: no picture behind them
    lying = post(url, files={"file": ("head.png", head, "image/png")}, headers=clerk)
    assert lying.status_code == 415, lying.text
    big = PNG + b"\x00" * (10 * 1024 * 1024)
    assert (
        post(url, files={"file": ("big.png", big, "image/png")}, headers=clerk).status_code == 413
    )
    # Served only once the case's history names it, and only to callers who see the case.
    assert case_api.client.get(photo["url"], headers=clerk).status_code == 404
    version = _work_to_site(case_api, clerk, case["id"])
    attachment = {"name": photo["name"], "url": photo["url"], "kind": "photo"}
    body = {"version": version, "result": "confirmed", "attachments": [attachment]}
    closed = post(f"/api/v1/cases/{case['id']}/on-site", json=body, headers=clerk)
    assert closed.status_code == 200, closed.text
    assert closed.json()["history"][-1]["attachments"] == [attachment]
    served = case_api.client.get(photo["url"], headers=clerk)
    assert served.status_code == 200 and served.content == PNG
    assert served.headers["content-type"] == "image/png"
    outsider = case_api.as_role("clerk", scope=["street:S99"])
    assert case_api.client.get(photo["url"], headers=outsider).status_code == 404
