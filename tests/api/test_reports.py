"""The daily reports listed and served by the API (files as `citybrain report daily` writes)."""

from __future__ import annotations

from api.conftest import Harness


def _write(api: Harness) -> None:
    folder = api.workspace.root / "reports"
    folder.mkdir()
    for day in ("2025-03-13", "2025-03-14"):
        (folder / f"daily-{day}.html").write_text(f"<h1>大数据专报 {day}</h1>", "utf-8")
    (folder / "daily-2025-03-14.pdf").write_bytes(b"%PDF-1.4 test")


def test_reports_listed_newest_first_and_served(api: Harness) -> None:
    _write(api)
    headers = api.as_role("leader")
    listed = api.client.get("/api/v1/reports", headers=headers)
    assert listed.status_code == 200
    body = listed.json()
    assert [r["date"] for r in body] == ["2025-03-14", "2025-03-13"]
    assert body[0]["pdf"] == "/api/v1/reports/daily-2025-03-14.pdf" and body[1]["pdf"] is None
    html = api.client.get(body[0]["html"], headers=headers)
    assert html.status_code == 200 and "大数据专报 2025-03-14" in html.text
    pdf = api.client.get(body[0]["pdf"], headers=headers)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_reports_need_permission_and_a_real_name(api: Harness) -> None:
    _write(api)
    assert api.client.get("/api/v1/reports").status_code == 401
    assert api.client.get("/api/v1/reports", headers=api.as_role("public")).status_code == 403
    headers = api.as_role("leader")
    assert (
        api.client.get("/api/v1/reports/daily-2025-01-01.pdf", headers=headers).status_code == 404
    )
    assert api.client.get("/api/v1/reports/..%2Fops.sqlite", headers=headers).status_code in (
        404,
        422,
    )
