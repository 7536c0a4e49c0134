"""sim.serve: the paged JSON API over the synthetic city's HTTP systems."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from citybrain.sim.formats import write_connection_file, write_parquet
from citybrain.sim.serve import Faults, create_app, http_systems

ROWS = 250


def _lot_rows(start: int, n: int) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table(
        {
            "lot_id": [f"P{i:05d}" for i in ids],
            "occupied": ids,
            "rate": [i / 7 for i in ids],
            "ts": [dt.datetime(2024, 1, 1) + dt.timedelta(minutes=i) for i in ids],
            "名称": ["停车场" + str(i) for i in ids],
        }
    )


@pytest.fixture()
def city(tmp_path: Path) -> Path:
    lots = tmp_path / "parking_lots"
    write_connection_file(lots, "http", path="/api/parking_lots", api_key="k-123")
    # Two files, several row groups each, so pages straddle group and file boundaries.
    write_parquet(lots / "data" / "2024-01.parquet", _lot_rows(0, 150), row_group_size=40)
    write_parquet(lots / "data" / "2024-02.parquet", _lot_rows(150, 100), row_group_size=33)
    open_sys = tmp_path / "open_data"
    write_connection_file(open_sys, "http", page_size=2)
    write_parquet(open_sys / "data" / "a.parquet", _lot_rows(0, 5))
    (tmp_path / "files_only").mkdir()  # no connection.json: not served
    mqtt = tmp_path / "air"
    write_connection_file(mqtt, "mqtt")
    return tmp_path


def _client(city: Path, **kw: object) -> TestClient:
    return TestClient(create_app(city, faults=Faults(), **kw))  # type: ignore[arg-type]


def test_only_http_systems_are_served(city: Path) -> None:
    assert sorted(http_systems(city)) == ["open_data", "parking_lots"]
    listed = _client(city).get("/systems").json()
    assert {s["system"]: s["total"] for s in listed} == {"open_data": 5, "parking_lots": ROWS}
    assert {s["system"]: s["page_size"] for s in listed} == {"open_data": 2, "parking_lots": 100}


@pytest.mark.parametrize("size", [1, 7, 40, 100, 250, 1000])
def test_page_numbers_cover_every_row_once(city: Path, size: int) -> None:
    client = _client(city)
    seen: list[str] = []
    url: str | None = f"/api/parking_lots?page=1&page_size={size}"
    while url:
        body = client.get(url, headers={"X-API-Key": "k-123"}).json()
        assert body["total"] == ROWS
        seen += [item["lot_id"] for item in body["items"]]
        url = body["next"]
    assert seen == [f"P{i:05d}" for i in range(ROWS)]


def test_cursor_pages_cover_every_row_once(city: Path) -> None:
    client = _client(city, api_key="override")
    seen: list[int] = []
    params: dict[str, str | int] = {"page_size": 64}
    while True:
        body = client.get("/api/parking_lots", params=params, headers={"X-API-Key": "override"})
        page = body.json()
        seen += [item["occupied"] for item in page["items"]]
        if page["next_cursor"] is None:
            assert page["next"] is None
            break
        params = {"page_size": 64, "cursor": page["next_cursor"]}
    assert seen == list(range(ROWS))


def test_items_keep_types_and_chinese(city: Path) -> None:
    page = _client(city).get("/api/open_data").json()
    assert page["page_size"] == 2 and len(page["items"]) == 2  # the system's own default
    item = page["items"][0]
    assert item == {
        "lot_id": "P00000",
        "occupied": 0,
        "rate": 0.0,
        "ts": "2024-01-01T00:00:00",
        "名称": "停车场0",
    }


def test_api_key_enforced(city: Path) -> None:
    client = _client(city)
    assert client.get("/api/parking_lots").status_code == 401
    assert client.get("/api/parking_lots", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/api/parking_lots", headers={"X-API-Key": "k-123"}).status_code == 200
    assert client.get("/api/open_data").status_code == 200  # no key configured
    assert client.get("/api/nothing").status_code == 404
    assert client.get("/api/open_data?cursor=%%%").status_code == 400


def test_faults_by_query_flag(city: Path) -> None:
    client = TestClient(create_app(city, faults=Faults(slow_seconds=0.2)))
    assert client.get("/api/open_data?fault=error").status_code == 500
    bad = client.get("/api/open_data?fault=malformed")
    assert bad.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad.content)
    began = time.monotonic()
    slow = client.get("/api/open_data?fault=slow")
    assert time.monotonic() - began >= 0.2
    assert len(slow.json()["items"]) == 2  # slow, but whole


def test_faults_by_rate_are_seeded(city: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYBRAIN_SIM_FAULTS", "error=0.3,malformed=0.2,seed=7")

    def statuses() -> list[int]:
        client = TestClient(create_app(city))
        out = []
        for _ in range(40):
            r = client.get("/api/open_data")
            ok = r.status_code == 200 and r.content.endswith(b"]}")
            out.append(r.status_code if ok else -1 if r.status_code == 200 else r.status_code)
        return out

    first = statuses()
    assert first == statuses()
    assert 500 in first and -1 in first and 200 in first


def test_faults_parse_rejects_unknown() -> None:
    assert Faults.parse("error=0.5, slow=0.1, slow_seconds=3, seed=2") == Faults(
        error_rate=0.5, slow_rate=0.1, slow_seconds=3.0, seed=2
    )
    with pytest.raises(ValueError, match="unknown fault"):
        Faults.parse("explode=1")


@pytest.mark.slow
def test_real_server_times_out_a_slow_page(city: Path) -> None:
    """`serve` under uvicorn on a real socket: a client timeout fires on an injected slow page."""
    import os
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = (
        "from pathlib import Path; from citybrain.sim.serve import serve; "
        f"serve(Path({str(city)!r}), port={port})"
    )
    env = {**os.environ, "CITYBRAIN_SIM_FAULTS": "slow_seconds=2"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(f"{base}/health").json() == {"status": "ok"}
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
                time.sleep(0.1)
        assert httpx.get(f"{base}/api/open_data").json()["total"] == 5
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{base}/api/open_data?fault=slow", timeout=0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
