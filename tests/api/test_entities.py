"""Enterprise credit report (the credit topic's grade, or 未评级 / not graded and why) and the
parking query."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from api.conftest import Harness

GOOD, BAD = "91510100MA61234567", "91510100MA6ABCDEF8"


@pytest.fixture
def credit_api(api: Harness) -> Harness:
    tables = {
        "enterprise_registration": pa.table({
            "uscc": [GOOD, BAD], "name": ["锦城科技有限公司", "天府贸易有限公司"],
            "status": ["存续", "吊销"], "legal_rep_name": ["张三丰", "欧阳娜娜"],
            "industry_code": ["I6510", "F5191"],
        }),
        "penalty": pa.table({"uscc": [BAD, BAD], "amount": [1000.0, 500.0]}),
        "dishonest_judgment": pa.table({"identifier": [BAD], "court": ["成都高新法院"]}),
        "commitment": pa.table({
            "uscc": [GOOD, BAD, BAD], "check_result": ["已履约", "未履约", "待核查"],
        }),
        "tax_declaration": pa.table({
            "uscc": [GOOD] * 6 + [BAD], "period": [f"2026-0{m}" for m in range(1, 7)] + ["2025-01"],
        }),
        "parking_occupancy": pa.table({
            "lot_id": ["L1", "L1", "L2", "L3"], "name": ["一号", "一号", "二号", "三号"],
            "capacity": [100, 100, 50, 30], "free": [0, 40, 10, 0],
            "updated_at": [datetime(2026, 3, 1, 8), datetime(2026, 3, 1, 9),
                           datetime(2026, 3, 1, 9), datetime(2026, 3, 1, 9)],
        }),
    }  # fmt: skip
    with api.workspace.engine() as engine:
        for name, table in tables.items():
            engine.write(table, "std", name)
    return api


def _scores(run_id: str, uscc: str, score: int, grade: str) -> pa.Table:
    """One run's row of topic/credit_scores as the credit topic writes it (the columns the API
    reads)."""
    reason = {"signal": "penalty", "points": -5, "observed": 1.0,
              "text_zh": "受到行政处罚1次", "text_en": "1 administrative penalties"}  # fmt: skip
    return pa.table({
        "uscc": [uscc], "score": [score], "grade": [grade], "reasons": [[reason]],
        "model_version": ["credit-1"], "period": ["2026-06"], "run_id": [run_id],
    })  # fmt: skip


def test_credit_report_is_not_graded_until_the_topic_ran(credit_api: Harness) -> None:
    headers = credit_api.as_role("public")
    good = credit_api.client.get(f"/api/v1/enterprises/{GOOD}/credit-report", headers=headers)
    assert good.status_code == 200, good.text
    body = good.json()
    assert (body["graded"], body["score"], body["grade"], body["reasons"]) == (
        False,
        None,
        None,
        [],
    )
    assert body["not_graded"]["code"] == "topic_not_run"
    assert "未评级" in body["not_graded"]["text_zh"]
    assert "not graded" in body["not_graded"]["text_en"]
    assert body["legal_rep_name"] == "张**" and body["name"] == "锦城科技有限公司"
    bad = credit_api.client.get(f"/api/v1/enterprises/{BAD}/credit-report", headers=headers).json()
    assert bad["grade"] is None and bad["status"] == "吊销"  # no placeholder score for anyone


def test_credit_report_refusals(credit_api: Harness) -> None:
    headers = credit_api.as_role("leader")
    unknown = "91510100MA6ZZZZZZ0".replace("Z", "X")
    assert (
        credit_api.client.get(
            f"/api/v1/enterprises/{unknown}/credit-report", headers=headers
        ).status_code
        == 404
    )
    assert (
        credit_api.client.get(
            "/api/v1/enterprises/not-a-code/credit-report", headers=headers
        ).status_code
        == 422
    )
    assert (
        credit_api.client.get(
            f"/api/v1/enterprises/{GOOD}/credit-report", headers=credit_api.as_role("auditor")
        ).status_code
        == 403
    )


def test_parking_lots_with_free_spaces(credit_api: Harness) -> None:
    headers = credit_api.as_role("clerk", ["street:S1"])
    got = credit_api.client.get(
        "/api/v1/parking/lots", params={"lon": 104.06, "lat": 30.55}, headers=headers
    ).json()
    assert [(lot["lot_id"], lot["free"]) for lot in got["lots"]] == [("L1", 40), ("L2", 10)]
    assert got["located"] is False and "coordinates" in got["message"]


def test_parking_without_data(api: Harness) -> None:
    got = api.client.get("/api/v1/parking/lots", headers=api.as_role("admin")).json()
    assert got == {"lots": [], "located": False, "message": "no parking data in the std zone"}


def test_credit_index_follows_the_lake(credit_api: Harness) -> None:
    headers = credit_api.as_role("analyst")
    url = f"/api/v1/enterprises/{GOOD}/credit-report"
    assert credit_api.client.get(url, headers=headers).json()["graded"] is False
    with credit_api.workspace.engine() as engine:  # the credit topic ran and graded GOOD only
        engine.write(
            _scores("run-1", GOOD, 72, "B"), "topic", "credit_scores",
            mode="append", partition_by=["run_id"],
        )  # fmt: skip
    graded = credit_api.client.get(url, headers=headers).json()
    assert (graded["graded"], graded["score"], graded["grade"]) == (True, 72, "B")
    assert graded["not_graded"] is None and graded["period"] == "2026-06"
    assert [r["signal"] for r in graded["reasons"]] == ["penalty"]
    bad = credit_api.client.get(f"/api/v1/enterprises/{BAD}/credit-report", headers=headers)
    assert bad.json()["grade"] is None
    assert bad.json()["not_graded"]["code"] == "insufficient_data"
    with credit_api.workspace.engine() as engine:  # a newer run: the newest grade shows
        engine.write(
            _scores("run-2", GOOD, 48, "D"), "topic", "credit_scores",
            mode="append", partition_by=["run_id"],
        )  # fmt: skip
    assert credit_api.client.get(url, headers=headers).json()["grade"] == "D"


def test_credit_report_without_std_data(api: Harness) -> None:
    response = api.client.get(
        "/api/v1/enterprises/91510100MA61234567/credit-report", headers=api.as_role("analyst")
    )
    assert response.status_code == 404
