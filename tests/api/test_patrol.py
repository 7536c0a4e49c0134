"""Patrol and drone intake through the API, with real image bytes: a grid worker's report and a
drone flight's batch become cases on the address base with their photos as evidence; bad files
are refused one line each while the rest land; body size and upload budget are bounded."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow as pa
import pytest
from PIL import Image
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from api.conftest import Harness, make_harness
from citybrain.api.security.limits import BodySizeLimitMiddleware, TokenBucketLimiter
from citybrain.cases.opsdb_models import Case, CaseEvent
from citybrain.cases.photos import GPS_IFD
from citybrain.core.opsdb import session

REPORTS, FLIGHTS = "/api/v1/patrol/reports", "/api/v1/patrol/drone-flights"
B1 = (104.01, 30.51)  # 天府大道1号锦城小区3栋
LONG = "DJI_0004_" + "航拍" * 120 + ".WEBP"  # 254 characters: with the flight id, over 255
R2 = (104.09, 30.59)  # 天府大道9号


def _square(x: float, y: float, size: float) -> str:
    return f"POLYGON(({x} {y},{x + size} {y},{x + size} {y + size},{x} {y + size},{x} {y}))"


@pytest.fixture(scope="module")
def patrol(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    for harness in make_harness(tmp_path_factory.mktemp("patrol")):
        admin = pa.table({
            "level": ["street", "community", "grid"], "code": ["S01", "C01", "G01"],
            "name": ["科技园街道", "锦城社区", "一网格"], "parent_code": [None, "S01", "C01"],
            "geometry": [_square(104.0, 30.5, 0.1), _square(104.0, 30.5, 0.05),
                         _square(104.0, 30.5, 0.025)],
        })  # fmt: skip
        register = pa.table({
            "address_id": ["R1", "B1", "R2"], "level": ["road_number", "building", "road_number"],
            "parent_id": [None, "R1", None],
            "full_address": ["天府大道1号锦城小区", "天府大道1号锦城小区3栋", "天府大道9号"],
            "road_name": ["天府大道"] * 3, "road_no": ["1", "1", "9"],
            "estate_name": ["锦城小区", "锦城小区", None], "building_no": [None, "3", None],
            "lon": [104.0105, B1[0], R2[0]], "lat": [30.5105, B1[1], R2[1]],
        })  # fmt: skip
        with harness.workspace.engine() as engine:
            engine.write(admin, "std", "admin_area")
            engine.write(register, "std", "standard_address")
        yield harness


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4)


def photo(fmt: str = "JPEG", at: tuple[float, float] | None = None, colour: str = "red") -> bytes:
    """A real picture; ``at`` (lon, lat) goes into its EXIF GPS block."""
    image = Image.new("RGB", (40, 30), colour)
    exif = Image.Exif()
    exif[0x010F] = "DJI"
    if at is not None:
        exif[GPS_IFD] = {1: "N", 2: _dms(at[1]), 3: "E", 4: _dms(at[0])}
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


def _case_events(harness: Harness, case_id: int) -> list[CaseEvent]:
    with session(harness.security.ops_engine) as db:
        return list(db.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)).all())


def _photo_urls(harness: Harness, case_id: int) -> list[str]:
    return [a["url"] for e in _case_events(harness, case_id) for a in e.attachments or []
            if a.get("kind") == "photo"]  # fmt: skip


def test_a_grid_workers_report_opens_a_case_with_its_photo(patrol: Harness) -> None:
    worker = patrol.as_role("clerk", scope=["grid:G01"])
    fields = {"category": "illegal_dumping", "note": "楼下堆放建筑垃圾", "report_id": "phone-1",
              "lon": str(B1[0] + 0.0001), "lat": str(B1[1])}  # fmt: skip
    sent = photo(at=B1)
    answer = patrol.client.post(REPORTS, data=fields, headers=worker,
                                files=[("photos", ("现场.jpg", sent, "image/jpeg"))])  # fmt: skip
    assert answer.status_code == 201, answer.text
    filed = answer.json()
    place = filed["place"]
    assert (place["address_id"], place["address"], place["position_from"]) == (
        "B1",
        "天府大道1号锦城小区3栋",
        "device",
    )
    assert (place["street"], place["community"], place["grid"]) == (
        "科技园街道",
        "锦城社区",
        "一网格",
    )
    assert not filed["merged"] and not filed["already"]
    (landed,) = filed["photos"]
    assert landed["location_removed"] and landed["name"] == "现场.jpg"
    assert _photo_urls(patrol, filed["case_id"]) == [landed["url"]]
    with session(patrol.security.ops_engine) as db:
        case = db.get(Case, filed["case_id"])
        assert case is not None
        assert (case.source, case.grid_id, case.address) == (
            "patrol",
            "G01",
            "天府大道1号锦城小区3栋",
        )
    # The case desk serves the evidence at the answer's URL: the same picture, no position.
    admin = patrol.as_role("admin")
    served = patrol.client.get(landed["url"], headers=admin)
    assert served.status_code == 200, served.text
    with Image.open(io.BytesIO(served.content)) as image, Image.open(io.BytesIO(sent)) as before:
        assert not image.getexif().get_ifd(GPS_IFD) and image.tobytes() == before.tobytes()
    # The phone resends (a flaky network): nothing new is filed.
    again = patrol.client.post(REPORTS, data=fields, headers=worker,
                               files=[("photos", ("现场.jpg", sent, "image/jpeg"))])  # fmt: skip
    assert again.json()["already"] and again.json()["case_id"] == filed["case_id"]
    assert len(_photo_urls(patrol, filed["case_id"])) == 1
    # Without GPS or a typed address, the photo's own position places it; not a picture: 415.
    by_photo = patrol.client.post(
        REPORTS, data={"category": "noise"}, headers=worker,
        files=[("photos", ("p.png", photo("PNG", at=R2), "image/png"))],
    )  # fmt: skip
    assert by_photo.json()["place"]["position_from"] == "photo", by_photo.text
    assert by_photo.json()["place"]["address_id"] == "R2"
    fake = patrol.client.post(
        REPORTS, data=fields | {"report_id": "phone-2"}, headers=worker,
        files=[("photos", ("x.jpg", b"\xff\xd8\xff\xe0 not a picture", "image/jpeg"))],
    )  # fmt: skip
    assert fake.status_code == 415 and fake.json()["detail"].startswith("x.jpg: not a readable")
    nowhere = patrol.client.post(REPORTS, data={"category": "noise"}, headers=worker)
    assert nowhere.status_code == 422 and "position" in nowhere.json()["detail"]


def _flight(harness: Harness, manifest: dict[str, Any],
            images: list[tuple[str, bytes]]) -> httpx.Response:  # fmt: skip
    response: httpx.Response = harness.client.post(
        FLIGHTS, headers=harness.as_role("clerk", scope=["grid:G01"]),
        data={"manifest": json.dumps(manifest, ensure_ascii=False)},
        files=[("images", (name, data, "application/octet-stream")) for name, data in images],
    )  # fmt: skip
    return response


def test_a_drone_flight_lands_its_images_as_cases_and_refuses_a_bad_one(patrol: Harness) -> None:
    near = (R2[0] + 0.0002, R2[1])  # ~19 m from the first image: the same problem
    images = [
        ("DJI_0001.JPG", photo(at=R2)),
        ("DJI_0002.JPG", photo(at=near, colour="blue")),
        ("DJI_0003.PNG", photo("PNG", colour="green")),  # no GPS: placed by its mark
        (LONG, photo("WEBP", at=B1, colour="white")),  # the flight's category; a long name
        ("DJI_0005.JPG", b"\xff\xd8\xff\xe0" + bytes(500)),  # a JPEG head on nothing
        ("DJI_0006.JPG", photo(at=(116.4, 39.9), colour="black")),  # Beijing: not this city
    ]
    manifest = {
        "flight_id": "F20261206-01", "operator": "无人机组王五", "category": "illegal_dumping",
        "marks": [
            {"image": "DJI_0001.JPG", "category": "muck_spill", "note": "渣土撒漏",
             "observed_at": "2026-03-01T15:30:00+08:00"},
            {"image": "DJI_0002.JPG", "category": "muck_spill"},
            {"image": "DJI_0003.PNG", "category": "road_damage", "lon": B1[0], "lat": B1[1]},
        ],
    }  # fmt: skip
    answer = _flight(patrol, manifest, images)
    assert answer.status_code == 201, answer.text
    flight = answer.json()
    assert (flight["sent"], flight["landed"], flight["refused"]) == (6, 4, 2)
    assert flight["landed"] + flight["refused"] == flight["sent"] == len(images)
    assert flight["refusals"][0].startswith("DJI_0005.JPG: not a readable JPEG image")
    assert flight["refusals"][1].startswith("DJI_0006.JPG: position (116.400000, 39.900000) is")
    assert all("\n" not in line for line in flight["refusals"])
    by_name = {i["image"]: i for i in flight["images"]}
    first, second = by_name["DJI_0001.JPG"], by_name["DJI_0002.JPG"]
    assert second["merged"] and second["case_id"] == first["case_id"]  # merged by the rule
    assert by_name["DJI_0003.PNG"]["place"]["position_from"] == "manifest"
    assert by_name[LONG]["place"]["address_id"] == "B1"
    assert len(flight["cases"]) == 3
    assert len(_photo_urls(patrol, first["case_id"])) == 2  # both images are its evidence
    for image in flight["images"]:
        if image["landed"]:
            assert image["photo"]["location_removed"] is (image["image"] != "DJI_0003.PNG")
    with session(patrol.security.ops_engine) as db:
        case = db.get(Case, first["case_id"])
        assert case is not None and (case.source, case.topic) == ("drone", "muck_spill")
    # The same flight sent again files nothing new; the counts still reconcile.
    again = _flight(patrol, manifest, images).json()
    assert (again["landed"], again["refused"]) == (4, 2)
    assert all(i["already"] for i in again["images"] if i["landed"])
    assert len(_photo_urls(patrol, first["case_id"])) == 2


@pytest.mark.parametrize(
    ("manifest", "images", "words"),
    [
        (
            {"flight_id": "F2", "marks": [{"image": "gone.jpg", "category": "noise"}]},
            [("a.jpg", b"x")],
            "manifest: marks name images not sent: gone.jpg",
        ),
        ({"flight_id": "F2", "marks": [], "extra": 1}, [("a.jpg", b"x")], "manifest: extra:"),
        (
            {"flight_id": "F2", "marks": [{"image": "a.jpg", "observed_at": "2026-03-01T15:30"}]},
            [("a.jpg", b"x")],
            "manifest: marks.0.observed_at: Input should have timezone info",
        ),
        (
            {"flight_id": "F2"},
            [("a.jpg", b"GIF89a")],
            "flight F2: no image landed — a.jpg: no category",
        ),
        (
            {"flight_id": "F2", "category": "noise"},
            [("a.jpg", b"GIF89a")],
            "flight F2: no image landed — a.jpg: not a JPEG, PNG or WebP image",
        ),
    ],
    ids=["unsent-mark", "unknown-key", "naive-time", "no-category", "not-an-image"],
)
def test_a_batch_that_cannot_land_is_refused_in_one_line(
    patrol: Harness, manifest: dict[str, Any], images: list[tuple[str, bytes]], words: str
) -> None:
    answer = _flight(patrol, manifest, images)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(words) and "\n" not in answer.json()["detail"]


def test_upload_routes_have_their_own_body_limit() -> None:
    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    app = Starlette(routes=[Route("/small", ok, methods=["POST"]),
                            Route("/big", ok, methods=["POST"]),
                            Route("/cases/{case_id}/photos", ok, methods=["POST"])])  # fmt: skip
    limited = BodySizeLimitMiddleware(
        app, max_bytes=10, larger={"/big": 100, "/cases/{case_id}/photos": 60}
    )
    with TestClient(limited) as client:
        assert client.post("/small", content=b"x" * 50).status_code == 413
        assert client.post("/big", content=b"x" * 50).text == "50"
        refused = client.post("/big", content=b"x" * 150)
        assert refused.status_code == 413 and "100 bytes" in refused.text
        assert client.post("/cases/7/photos", content=b"x" * 50).text == "50"
        assert client.post("/cases/7/photos", content=b"x" * 70).status_code == 413
    assert limited.limit_for("/cases/7/8/photos") == limited.limit_for("/cases/7") == 10


def test_the_app_gives_the_patrol_routes_their_limits_and_an_upload_budget(
    patrol: Harness,
) -> None:
    limits: dict[str, Any] = next(
        dict(m.kwargs) for m in patrol.app.user_middleware
        if getattr(m, "cls", None) is BodySizeLimitMiddleware
    )  # fmt: skip
    assert limits["larger"][FLIGHTS] > limits["max_bytes"] and REPORTS in limits["larger"]
    # A phone photo over the API's 1 MB default reaches the portal's photo route (its own 10 MB).
    noise = Image.frombytes("RGB", (700, 600), os.urandom(700 * 600 * 3))
    out = io.BytesIO()
    noise.save(out, format="PNG")
    assert out.tell() > limits["max_bytes"]
    big = patrol.client.post("/api/v1/portal/photos",
                             files={"file": ("big.png", out.getvalue(), "image/png")})  # fmt: skip
    assert big.status_code == 201, big.text
    # A stopped clock and a budget of 1 MB: a 0.6 MB request passes, the next one waits.
    patrol.app.state.patrol_uploads = TokenBucketLimiter(1.0, 1, clock=lambda: 0.0)
    try:
        worker = patrol.as_role("clerk", scope=["grid:G01"])
        fields = {"category": "noise", "lon": str(B1[0]), "lat": str(B1[1]),
                  "pad": "x" * 600_000}  # fmt: skip
        first = patrol.client.post(REPORTS, data=fields, headers=worker)
        assert first.status_code == 201, first.text
        second = patrol.client.post(REPORTS, data=fields, headers=worker)
        assert second.status_code == 429 and second.headers["Retry-After"] == "1"
        assert "upload budget" in second.json()["detail"]
    finally:
        del patrol.app.state.patrol_uploads
