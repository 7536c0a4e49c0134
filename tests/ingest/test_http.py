"""The HTTP JSON API connector against sim.serve on loopback, with injected faults."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI, Response

from citybrain.core.workspace import Workspace
from citybrain.ingest import Manifest, RawZone, SourceContract
from citybrain.ingest.streams import load_http
from citybrain.sim.formats import write_connection_file, write_parquet
from citybrain.sim.serve import Faults, create_app
from fixtures.browser import serve_in_thread
from ingest._helpers import MakeContract

ROWS = 250
KEY = "k-123"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("city")
    ids = list(range(ROWS))
    rows = pa.table(
        {
            "lot_id": [f"P{i:05d}" for i in ids],
            "occupied": ids,
            "ts": [dt.datetime(2024, 1, 1) + dt.timedelta(minutes=i) for i in ids],
        }
    )
    write_connection_file(root / "parking_lots", "http", path="/api/parking_lots")
    write_parquet(root / "parking_lots" / "data" / "a.parquet", rows, row_group_size=60)
    return root


Serve = Callable[..., str]


@pytest.fixture
def serve(city: Path) -> Iterator[Serve]:
    """Start sim.serve with the given faults; returns its base URL."""
    with contextlib.ExitStack() as stack:

        def start(faults: Faults | None = None, api_key: str | None = None) -> str:
            app = create_app(city, api_key=api_key, faults=faults or Faults())
            return stack.enter_context(contextlib.contextmanager(serve_in_thread)(app))

        yield start


def http_contract(
    make_contract: MakeContract, url: str, extra: str = "", timeout: float = 2.0
) -> SourceContract:
    return make_contract(
        f"kind: http\nurl: '{url}/api/parking_lots'\nrecords_path: items\n"
        f"timeout_seconds: {timeout}\nbackoff_seconds: 0.01\n" + extra,
        system="parking_api",
        mapping="",
    )


PAGES = "pagination: {kind: page, size_param: page_size, page_size: 40}\n"


def landed_ids(manifest: Manifest) -> list[str]:
    assert manifest.status == "completed", manifest.message
    assert manifest.raw_path is not None
    return list(pq.read_table(manifest.raw_path).column("lot_id").to_pylist())


def assert_exactly_once(manifest: Manifest) -> None:
    ids = landed_ids(manifest)
    assert (manifest.rows_read, manifest.rows_landed, manifest.rows_quarantined) == (ROWS, ROWS, 0)
    assert sorted(ids) == [f"P{i:05d}" for i in range(ROWS)]


@pytest.mark.parametrize(
    "paging",
    [
        PAGES,
        "pagination: {kind: cursor, page_param: cursor, size_param: page_size, page_size: 70,"
        " cursor_path: next_cursor}\n",
        "pagination: {kind: link, next_link_path: next}\nparams: {page_size: '55'}\n",
    ],
    ids=["page", "cursor", "link"],
)
def test_every_page_lands_once(
    workspace: Workspace, make_contract: MakeContract, serve: Serve, paging: str
) -> None:
    manifest = load_http(workspace.lake, http_contract(make_contract, serve(), paging))
    assert_exactly_once(manifest)
    assert manifest.input_checksum.startswith("sha256:")
    assert manifest.source_file.endswith("/api/parking_lots")


def test_offset_pagination(
    workspace: Workspace, make_contract: MakeContract, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = FastAPI()

    @app.get("/api/parking_lots")
    def page(offset: int = 0, limit: int = 10) -> dict[str, object]:
        ids = range(offset, min(offset + limit, ROWS))
        return {"items": [{"lot_id": f"P{i:05d}"} for i in ids]}

    with contextlib.contextmanager(serve_in_thread)(app) as url:
        contract = http_contract(
            make_contract, url, "pagination: {kind: offset, size_param: limit, page_size: 50}\n"
        )
        manifest = load_http(workspace.lake, contract)
    assert_exactly_once(manifest)


def test_server_errors_are_retried_and_rows_land_once(
    workspace: Workspace, make_contract: MakeContract, serve: Serve
) -> None:
    url = serve(Faults(error_rate=0.5, seed=7))
    contract = http_contract(make_contract, url, PAGES + "retries: 12\n")
    manifest = load_http(workspace.lake, contract)
    assert_exactly_once(manifest)
    assert any("retried" in w for w in manifest.warnings)


def test_slow_pages_time_out_and_are_retried(
    workspace: Workspace, make_contract: MakeContract, serve: Serve
) -> None:
    url = serve(Faults(slow_rate=0.4, slow_seconds=1.0, seed=3))
    contract = http_contract(
        make_contract, url, PAGES.replace("40", "100") + "retries: 12\n", timeout=0.3
    )
    manifest = load_http(workspace.lake, contract)
    assert_exactly_once(manifest)
    assert any("retried" in w for w in manifest.warnings)


def test_persistent_errors_fail_after_the_retries(
    workspace: Workspace, make_contract: MakeContract, serve: Serve
) -> None:
    contract = http_contract(make_contract, serve(), PAGES + "retries: 2\nparams: {fault: error}\n")
    manifest = load_http(workspace.lake, contract)
    assert manifest.status == "failed"
    assert manifest.message is not None
    assert (
        "page 1 (" in manifest.message and "failed after 3 attempts: HTTP 500" in manifest.message
    )
    assert RawZone(workspace.lake, "parking_api").partitions() == []


def test_malformed_page_fails_the_load_naming_the_page(
    workspace: Workspace, make_contract: MakeContract, serve: Serve
) -> None:
    contract = http_contract(make_contract, serve(), PAGES + "params: {fault: malformed}\n")
    manifest = load_http(workspace.lake, contract)
    assert manifest.status == "failed"
    assert manifest.message is not None
    assert manifest.message.startswith("source parking_api: page 1 (http://")
    assert "is not valid JSON" in manifest.message
    assert RawZone(workspace.lake, "parking_api").partitions() == []


def test_missing_records_path_fails_naming_the_page(
    workspace: Workspace, make_contract: MakeContract, serve: Serve
) -> None:
    contract = http_contract(make_contract, serve(), PAGES.replace("items", "x"))
    contract = contract.model_copy(
        update={"connector": contract.connector.model_copy(update={"records_path": "data.rows"})}
    )
    manifest = load_http(workspace.lake, contract)
    assert manifest.status == "failed"
    assert manifest.message is not None
    assert "page 1 (" in manifest.message and "no list of records at data.rows" in manifest.message


def test_missing_api_key_is_a_clear_401(
    workspace: Workspace, make_contract: MakeContract, serve: Serve
) -> None:
    url = serve(api_key=KEY)
    manifest = load_http(workspace.lake, http_contract(make_contract, url, PAGES))
    assert manifest.status == "failed"
    assert manifest.message is not None
    assert "HTTP 401 unauthorised" in manifest.message
    assert "auth_header_env" in manifest.message


def test_api_key_from_the_environment(
    workspace: Workspace,
    make_contract: MakeContract,
    serve: Serve,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = serve(api_key=KEY)
    auth = "auth_header: X-API-Key\nauth_header_env: PARKING_API_KEY\n"
    contract = http_contract(make_contract, url, PAGES + auth)
    monkeypatch.setenv("PARKING_API_KEY", "wrong")
    wrong = load_http(workspace.lake, contract)
    assert (
        wrong.message is not None
        and "check the key in environment variable PARKING_API_KEY" in (wrong.message)
    )
    monkeypatch.setenv("PARKING_API_KEY", KEY)
    assert_exactly_once(load_http(workspace.lake, contract))
    assert KEY not in contract.model_dump_json()


def test_an_unchanged_api_snapshot_is_not_landed_again(
    workspace: Workspace, make_contract: MakeContract, serve: Serve
) -> None:
    contract = http_contract(make_contract, serve(), PAGES)
    first = load_http(workspace.lake, contract)
    again = load_http(workspace.lake, contract)
    assert again.status == "skipped" and again.load_id == first.load_id
    assert len(RawZone(workspace.lake, "parking_api").partitions()) == 1


def test_incremental_api_sends_the_last_watermark(
    workspace: Workspace, make_contract: MakeContract
) -> None:
    changes = [{"id": i, "updated": f"2024-05-01T08:{i:02d}:00"} for i in range(30)]
    asked: list[str | None] = []
    app = FastAPI()

    @app.get("/api/parking_lots")
    def page(page: int = 1, size: int = 500, since: str | None = None) -> dict[str, object]:
        asked.append(since)
        newer = [c for c in changes if since is None or c["updated"] > since]  # type: ignore[operator]
        return {"items": newer[(page - 1) * size : page * size]}

    with contextlib.contextmanager(serve_in_thread)(app) as url:
        contract = make_contract(
            f"kind: http\nurl: '{url}/api/parking_lots'\nrecords_path: items\n"
            "pagination: {kind: page, page_size: 12}\nparams: {since: '{watermark}'}",
            system="parking_api",
            mapping="",
            extra="refresh: {mode: incremental, watermark: updated}\n",
        )
        first = load_http(workspace.lake, contract)
        changes.extend({"id": i, "updated": f"2024-05-01T09:{i:02d}:00"} for i in range(5))
        second = load_http(workspace.lake, contract)
        third = load_http(workspace.lake, contract)
    assert (first.rows_landed, first.watermark) == (30, "2024-05-01T08:29:00")
    assert asked[0] is None and "2024-05-01T08:29:00" in asked
    assert (second.status, second.rows_landed, second.watermark) == (
        "completed",
        5,
        "2024-05-01T09:04:00",
    )
    assert third.status == "skipped" and third.load_id == second.load_id


def test_incremental_api_by_the_watermark_param_named_in_the_contract(
    workspace: Workspace, make_contract: MakeContract
) -> None:
    """``watermark_param: updated_since``: the last landed watermark goes in that query
    parameter, the first run sends none, and a run with nothing newer lands nothing."""
    changes = [{"id": f"L{i}", "updated": f"2024-05-01 08:{i:02d}:00"} for i in range(25)]
    asked: list[str | None] = []
    app = FastAPI()

    @app.get("/api/lots")
    def page(
        page: int = 1, page_size: int = 10, updated_since: str | None = None
    ) -> dict[str, object]:
        asked.append(updated_since)
        newer = [c for c in changes if updated_since is None or c["updated"] > updated_since]
        return {"items": newer[(page - 1) * page_size : page * page_size]}

    with contextlib.contextmanager(serve_in_thread)(app) as url:
        contract = make_contract(
            f"kind: http\nurl: '{url}/api/lots'\nrecords_path: items\n"
            "watermark_param: updated_since\n"
            "pagination: {kind: page, size_param: page_size, page_size: 10}",
            system="parking_api",
            mapping=(
                "mapping:\n  columns:\n"
                "    - {source: id, target: lot_id}\n"
                "    - {source: updated, target: updated_at, type: timestamp,"
                " formats: ['%Y-%m-%d %H:%M:%S']}\n"
            ),
            extra="keys: [lot_id]\nrefresh: {mode: incremental, watermark: updated_at}\n",
        )
        first = load_http(workspace.lake, contract)
        changes.append({"id": "L0", "updated": "2024-05-01 09:00:00"})
        changes.append({"updated": "2024-05-01 09:01:00"})  # no id: quarantined
        second = load_http(workspace.lake, contract)
        third = load_http(workspace.lake, contract)
    assert (first.status, first.rows_read, first.rows_landed) == ("completed", 25, 25)
    assert first.watermark == "2024-05-01 08:24:00"
    assert asked[:3] == [None, None, None]  # three pages, no watermark yet
    assert asked[3] == "2024-05-01 08:24:00"
    assert (second.rows_read, second.rows_landed, second.rows_quarantined) == (2, 1, 1)
    assert second.reconciled and second.quarantined_by_reason == {"missing_key:id": 1}
    assert landed_ids(second) == ["L0"]
    # the source's own newest value, quarantined rows too, so a bad row is not asked for again
    assert second.watermark == "2024-05-01 09:01:00"
    assert third.status == "skipped" and third.load_id == second.load_id
    assert asked[-1] == "2024-05-01 09:01:00"


def test_a_failure_on_a_later_page_leaves_nothing_and_the_rerun_lands_once(
    workspace: Workspace, make_contract: MakeContract
) -> None:
    broken = {"page": 3}
    app = FastAPI()

    @app.get("/api/parking_lots")
    def page(page: int = 1, size: int = 40) -> Response:
        if page == broken["page"]:
            return Response('{"error": "database down"}', status_code=503)
        ids = range((page - 1) * size, min(page * size, ROWS))
        body = {"items": [{"lot_id": f"P{i:05d}"} for i in ids]}
        return Response(json.dumps(body), media_type="application/json")

    with contextlib.contextmanager(serve_in_thread)(app) as url:
        contract = http_contract(
            make_contract, url, "pagination: {kind: page, page_size: 40}\nretries: 1\n"
        )
        failed = load_http(workspace.lake, contract)
        zone = RawZone(workspace.lake, "parking_api")
        assert failed.status == "failed" and "page 3 (" in (failed.message or "")
        assert zone.partitions() == [] and not any(zone.raw.glob("_staging/*"))
        assert [m.load_id for m in zone.failed_manifests()] == [failed.load_id]
        broken["page"] = 0
        assert_exactly_once(load_http(workspace.lake, contract))
