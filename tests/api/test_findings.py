"""Findings routes: latest run only, filters, score order, paging, reasons, area scope, masking."""

from __future__ import annotations

import pytest

from api.conftest import Harness
from api.scoped_data import findings_table, write_findings


@pytest.fixture
def findings_api(api: Harness) -> Harness:
    write_findings(
        api.workspace,
        findings_table([{"subject_id": "OLD", "street_id": "S1"}], run_id="run-1"),
    )
    rows = [
        {"subject_id": "E1", "street_id": "S1", "grid_id": "G1", "score": 0.95},
        {"subject_id": "E2", "street_id": "S1", "grid_id": "G2", "score": 0.6, "level": "medium"},
        {"subject_id": "E3", "street_id": "S2", "grid_id": "G3", "score": 0.8, "period": "2026-01"},
        {"subject_id": "成都市高新区天府大道1号锦城小区3栋2单元501室", "subject_type": "dwelling",
         "street_id": "S1", "grid_id": "G1", "score": 0.7},
    ]  # fmt: skip
    write_findings(api.workspace, findings_table(rows, run_id="run-2"))
    return api


def test_latest_run_sorted_by_score_with_reasons(findings_api: Harness) -> None:
    headers = findings_api.as_role("analyst")
    page = findings_api.client.get("/api/v1/topics/probe/findings", headers=headers).json()
    assert page["total"] == 4  # run-1's finding is not the latest
    assert [f["score"] for f in page["items"]] == [0.95, 0.8, 0.7, 0.6]
    reason = page["items"][0]["reasons"][0]
    assert reason["text_zh"].startswith("月用电") and reason["text_en"]


def test_filters_and_paging(findings_api: Harness) -> None:
    headers = findings_api.as_role("leader")
    get = findings_api.client.get
    medium = get("/api/v1/topics/probe/findings", params={"level": "medium"}, headers=headers)
    assert [f["subject_id"] for f in medium.json()["items"]] == ["E2"]
    january = get("/api/v1/topics/probe/findings", params={"period": "2026-01"}, headers=headers)
    assert [f["subject_id"] for f in january.json()["items"]] == ["E3"]
    grid = get("/api/v1/topics/probe/findings", params={"grid_id": "G2"}, headers=headers)
    assert grid.json()["total"] == 1
    page2 = get(
        "/api/v1/topics/probe/findings", params={"page_size": 2, "page": 2, "sort": "score"},
        headers=headers,
    ).json()  # fmt: skip
    assert [f["score"] for f in page2["items"]] == [0.8, 0.95]
    assert (
        get("/api/v1/topics/probe/findings", params={"min_score": 2}, headers=headers).status_code
        == 422
    )
    assert get("/api/v1/topics/nothing/findings", headers=headers).status_code == 404
    assert get("/api/v1/topics/..%2Fetc/findings", headers=headers).status_code in (404, 422)


def test_filters_combine(findings_api: Harness) -> None:
    headers = findings_api.as_role("leader")
    params = {"street_id": "S1", "min_score": 0.65}
    page = findings_api.client.get("/api/v1/topics/probe/findings", params=params, headers=headers)
    assert page.status_code == 200, page.text  # two filters once failed on a length mismatch
    assert page.json()["total"] == 2  # E1 (0.95) and the dwelling (0.7); not E2 (0.6), not E3 (S2)


def test_a_street_clerk_sees_only_its_area_and_dwellings_cut_to_building(
    findings_api: Harness,
) -> None:
    clerk = findings_api.as_role("clerk", ["street:S1"])
    page = findings_api.client.get("/api/v1/topics/probe/findings", headers=clerk).json()
    ids = {f["subject_id"] for f in page["items"]}
    assert ids == {"E1", "E2", "成都市高新区天府大道1号锦城小区3栋"}
    summary = findings_api.client.get("/api/v1/topics/probe/findings/summary", headers=clerk)
    assert summary.json()["by_street"] == {"S1": 3}
    assert summary.json()["by_level"] == {"high": 2, "medium": 1}

    nowhere = findings_api.as_role("clerk")
    empty = findings_api.client.get("/api/v1/topics/probe/findings", headers=nowhere).json()
    assert empty["total"] == 0
