"""Patrol and drone intake (全面全时巡视、无人机巡查): what grid workers and drone flights see
enters the same loop as residents' reports.

* ``POST /patrol/reports`` — a grid worker's mobile report: a category, a note, the phone's
  position (or a typed address, or the photo's own GPS) and up to ``MAX_REPORT_PHOTOS`` photos.
* ``POST /patrol/drone-flights`` — a drone flight's batch: a JSON manifest with the operator's
  marks (image name → category, note, optionally a position) and the geotagged images. Each image
  is placed by its mark's position or its EXIF GPS. A bad image is refused with one line naming
  it while the others land; the answer's counts reconcile (landed + refused = sent).

Every report is placed on the address base (the register's nearest address, and its street,
community and grid), goes through ``cases.intake`` (channel ``patrol`` or ``drone``), so the merge
rule joins it to a nearby open case of the same category, and brings its photos as evidence on
that case: checked as real pictures (``cases.photos.check_photo``), stored once by content, their
EXIF location taken out unless the sender keeps it. The sender's own id (``report_id``; the
flight id and image name) makes a resend file nothing new.

Hostile input: the request body is bounded per route (``BODY_LIMITS``, by the body-size
middleware), each photo by size and pixels, and each caller by an upload budget in megabytes
(``UPLOAD_BURST_MB``, refilled at ``UPLOAD_MB_PER_SECOND``; 429 with Retry-After) on top of the
per-caller request rate limit.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from numpy.typing import NDArray
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from citybrain.api import addresses
from citybrain.api.deps import Lake, OpsEngine, Principal, get_lake, get_workspace, require
from citybrain.api.errors import describe
from citybrain.api.security.limits import TokenBucketLimiter
from citybrain.api.security.roles import Permission
from citybrain.api.uploads import case_photo_url, upload_name
from citybrain.cases import settings_for_workspace
from citybrain.cases.areas import AreaIndex
from citybrain.cases.intake import Evidence, Report, submit_with_evidence
from citybrain.cases.photos import CheckedPhoto, PhotoRefused, check_photo, store_photo
from citybrain.cases.settings import Service
from citybrain.core import Workspace
from citybrain.core.coords import gcj02_to_wgs84, great_circle_m

router = APIRouter(prefix="/patrol", tags=["patrol"])

MAX_REPORT_PHOTOS = 6
MAX_REPORT_PHOTO_BYTES = 10 * 1024 * 1024
MAX_FLIGHT_IMAGES = 100  # a longer flight comes in several batches under the same flight id
MAX_DRONE_IMAGE_BYTES = 32 * 1024 * 1024
MAX_DRONE_PIXELS = 100_000_000  # 45 Mpx survey cameras fit
MAX_MANIFEST_CHARS = 200_000
#: Request body limits of these routes, under the API prefix (the API's default for every other
#: route is ``max_body_bytes``).
BODY_LIMITS: dict[str, int] = {
    "/patrol/reports": MAX_REPORT_PHOTOS * MAX_REPORT_PHOTO_BYTES + 1024 * 1024,
    "/patrol/drone-flights": 512 * 1024 * 1024,
}
UPLOAD_BURST_MB = 2048.0
UPLOAD_MB_PER_SECOND = 2.0
#: Farther than this from every address of the register, a position is not in this city.
MAX_OFF_BASE_M = 2000.0
SENDER_ID_CHARS = 255  # the reporter's external id column (cases.intake.Report)
ADDRESS_CHARS = 512  # the reporter's address column
WORKER = Depends(require(Permission.CASES_WRITE))  # grid workers and drone operators are clerks


# --- limits ------------------------------------------------------------------------------------

_BUDGET_LOCK = threading.Lock()


def _charge_upload(request: Request, principal: Principal) -> None:
    """Take the request's size from the caller's upload budget; 429 when it is spent."""
    state = request.app.state
    with _BUDGET_LOCK:
        budget: TokenBucketLimiter | None = getattr(state, "patrol_uploads", None)
        if budget is None:
            if not state.security.settings.rate_limit_enabled:
                return
            budget = TokenBucketLimiter(UPLOAD_MB_PER_SECOND, int(UPLOAD_BURST_MB))
            state.patrol_uploads = budget
    try:
        size = int(request.headers.get("content-length", "0"))
    except ValueError:
        size = 0
    wait = budget.hit(f"user:{principal.user_id}", max(size, 1) / 1024 / 1024)
    if wait > 0:
        raise HTTPException(
            429,
            detail=f"upload budget spent ({UPLOAD_BURST_MB:g} MB, refilled at "
            f"{UPLOAD_MB_PER_SECOND:g} MB/s); retry after the seconds given",
            headers={"Retry-After": TokenBucketLimiter.retry_after(wait)},
        )


# --- placing on the address base -----------------------------------------------------------------


class Placement(BaseModel):
    """Where a report was put: its position and the register's nearest address."""

    lon: float
    lat: float
    position_from: Literal["device", "address", "photo", "manifest"]
    address: str | None = Field(None, description="the register's nearest address")
    address_id: str | None = None
    address_distance_m: float | None = None
    street: str | None = None
    community: str | None = None
    grid: str | None = None


class OffBase(ValueError):
    """A position farther than ``MAX_OFF_BASE_M`` from every address of the register."""


@dataclass(frozen=True)
class AddressBase:
    """The register's addresses with a point and the admin areas: enough to place a point. (The
    typed-address resolver, ``api.addresses``, also builds the parser and matcher, a few CPU
    seconds; a report with a position does not wait for them.)"""

    stamp: tuple[tuple[str, int, int], ...]
    points: pa.Table  # address_id, full_address (strings) of the addresses with a point
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    areas: AreaIndex | None
    area_names: dict[str, str]


_BASE_TABLES = ("standard_address", "admin_area")
_BASE_LOCK = threading.Lock()


def address_base(request: Request, lake: Lake) -> AddressBase:
    """The app's snapshot of the address base, rebuilt when its std tables were rewritten."""
    stamp = lake.stamp(*_BASE_TABLES)
    held: AddressBase | None = getattr(request.app.state, "patrol_base", None)
    if held is not None and held.stamp == stamp:
        return held
    with _BASE_LOCK:
        register = lake.read("std", "standard_address")
        if register is None or not {"lon", "lat"} <= set(register.column_names):
            register = pa.table({"lon": pa.array([], pa.float64()),
                                 "lat": pa.array([], pa.float64())})  # fmt: skip
        register = register.filter(
            pc.and_(pc.is_valid(register["lon"]), pc.is_valid(register["lat"]))
        )
        n = register.num_rows
        points = pa.table({
            c: register[c].cast(pa.string()) if c in register.column_names else pa.nulls(n)
            for c in ("address_id", "full_address")
        })  # fmt: skip
        lon = register["lon"].to_numpy(zero_copy_only=False).astype(float)
        lat = register["lat"].to_numpy(zero_copy_only=False).astype(float)
        areas, area_names = addresses.area_index(lake.read("std", "admin_area"))
        base = AddressBase(stamp, points, lon, lat, areas, area_names)
        request.app.state.patrol_base = base
    return base


def place_point(
    base: AddressBase,
    lon: float,
    lat: float,
    position_from: Literal["device", "address", "photo", "manifest"],
) -> Placement:
    """The register's nearest address to a point and the areas it lies in; ``OffBase`` when the
    register has addresses and none is within ``MAX_OFF_BASE_M``."""
    out = Placement(lon=lon, lat=lat, position_from=position_from)
    if len(base.lon):
        metres = great_circle_m(base.lon, base.lat, lon, lat)
        i = int(np.argmin(metres))
        if metres[i] > MAX_OFF_BASE_M:
            raise OffBase(
                f"position ({lon:.6f}, {lat:.6f}) is {metres[i] / 1000:.1f} km from the nearest "
                "address of the register: not in this city (WGS-84 expected)"
            )
        out.address = base.points["full_address"][i].as_py()
        out.address_id = base.points["address_id"][i].as_py()
        out.address_distance_m = round(float(metres[i]), 1)
    if base.areas is not None:
        where = base.areas.locate(pa.array([lon]), pa.array([lat])).to_pylist()[0]
        out.street, out.community, out.grid = (
            base.area_names.get(where[f"{level}_id"] or "") for level in ("street", "community",
                                                                          "grid")
        )  # fmt: skip
    return out


# --- photos ------------------------------------------------------------------------------------


class PhotoLanded(BaseModel):
    name: str
    sha256: str
    size: int
    media_type: str
    url: str = Field(description="where the case desk serves it")
    location_removed: bool


def _stored(workspace: Workspace, name: str, checked: CheckedPhoto) -> Evidence:
    stored = store_photo(workspace.root, checked.data, name)
    return Evidence(name, stored.sha256, stored.media_type, stored.size)


def _landed(
    case_id: int, evidence: list[Evidence], photos: list[CheckedPhoto]
) -> list[PhotoLanded]:
    return [
        PhotoLanded(name=e.name, sha256=e.sha256, size=e.size, media_type=e.media_type,
                    url=case_photo_url(case_id, e.sha256), location_removed=p.location_removed)
        for e, p in zip(evidence, photos, strict=True)
    ]  # fmt: skip


# --- a grid worker's report ----------------------------------------------------------------------


class PatrolFiled(BaseModel):
    case_id: int
    reporter_id: int
    merged: bool = Field(description="joined an open case of the same problem nearby")
    already: bool = Field(description="this report_id was filed before: nothing new was filed")
    place: Placement
    photos: list[PhotoLanded]
    message_zh: str
    message_en: str


def _refuse(status: int, message: str) -> HTTPException:
    return HTTPException(status, detail=message)


@router.post(
    "/reports",
    status_code=201,
    responses={
        404: {"description": "unknown category"},
        413: {"description": "a photo or the request is too large"},
        415: {"description": "a file is not a real JPEG, PNG or WebP picture"},
        422: {"description": "no position, a position outside the city, or bad fields"},
        429: {"description": "the caller's upload budget is spent"},
    },
)
def patrol_report(
    request: Request,
    principal: Annotated[Principal, WORKER],
    ops_engine: OpsEngine,
    workspace: Annotated[Workspace, Depends(get_workspace)],
    lake: Annotated[Lake, Depends(get_lake)],
    category: Annotated[str, Form(min_length=1, max_length=64, description="a service code")],
    note: Annotated[str, Form(max_length=2000)] = "",
    lon: Annotated[float | None, Form(ge=-180, le=180, description="WGS-84")] = None,
    lat: Annotated[float | None, Form(ge=-90, le=90, description="WGS-84")] = None,
    address: Annotated[str | None, Form(max_length=200, description="typed, without GPS")] = None,
    report_id: Annotated[
        str | None,
        Form(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="the phone's id; a resend is a no-op"),
    ] = None,
    keep_location: Annotated[bool, Form(description="keep the photos' EXIF GPS")] = False,
    photos: Annotated[list[UploadFile] | None, File(description="up to 6 photos")] = None,
) -> PatrolFiled:
    """A grid worker's report from the street (巡查上报): photo, position, category and note;
    it opens a case or joins the open one of the same problem nearby, with the photos attached."""
    _charge_upload(request, principal)
    files = photos or []
    if len(files) > MAX_REPORT_PHOTOS:
        raise _refuse(422, f"photos: {len(files)} sent, at most {MAX_REPORT_PHOTOS}")
    if (lon is None) != (lat is None):
        raise _refuse(422, "lon and lat: send both or neither")
    settings = settings_for_workspace(workspace.root)
    service = settings.service(category)
    if service is None:
        known = ", ".join(s.service_code for s in settings.services)
        raise _refuse(404, f"category: unknown service code {category!r} (known: {known})")
    checked: list[CheckedPhoto] = []
    names: list[str] = []
    for n, upload in enumerate(files, 1):
        name = upload_name(upload, f"photo-{n}")
        try:
            data = upload.file.read(MAX_REPORT_PHOTO_BYTES + 1)
            checked.append(check_photo(data, name, keep_location=keep_location,
                                       max_bytes=MAX_REPORT_PHOTO_BYTES))  # fmt: skip
        except PhotoRefused as exc:
            raise _refuse(exc.status, str(exc)) from None
        names.append(name)
    base = address_base(request, lake)
    try:
        if lon is not None and lat is not None:
            place = place_point(base, lon, lat, "device")
        elif address and address.strip():
            book = addresses.address_book(request.app.state, lake)  # the resolver, once built
            found = addresses.place(book, address.strip())
            if found is None:
                raise _refuse(422, f"address: not found in the address register: {address.strip()}")
            place = place_point(base, found.lon, found.lat, "address")
            place.address, place.address_id = found.matched, found.address_id
        elif (gps := next((c.gps for c in checked if c.gps is not None), None)) is not None:
            place = place_point(base, gps[0], gps[1], "photo")
        else:
            raise _refuse(422, "position: send lon and lat, a typed address, or a geotagged photo")
    except OffBase as exc:
        raise _refuse(422, str(exc)) from None
    evidence = [_stored(workspace, name, c) for name, c in zip(names, checked, strict=True)]
    report = Report(
        service_code=category, channel="patrol", description=note.strip(), lon=place.lon,
        lat=place.lat, address=(place.address or "")[:ADDRESS_CHARS] or None,
        name=principal.username,
        external_id=f"{principal.username}:{report_id}" if report_id else None,
    )  # fmt: skip
    (result,) = submit_with_evidence(
        ops_engine, [(report, evidence)], photo_url=case_photo_url, settings=settings,
        areas=base.areas,
    )  # fmt: skip
    how = "已存在 (filed before)" if result.known else "已并入" if result.merged else "已立案"
    return PatrolFiled(
        case_id=result.case_id, reporter_id=result.reporter_id, merged=result.merged,
        already=result.known, place=place, photos=_landed(result.case_id, evidence, checked),
        message_zh=f"{how}：案件 {result.case_id}（{service.service_name}）",
        message_en=f"case {result.case_id}: "
        + ("filed before" if result.known else "joined" if result.merged else "opened"),
    )  # fmt: skip


# --- a drone flight's batch --------------------------------------------------------------------


class DroneMark(BaseModel):
    """The operator's mark on one image."""

    model_config = ConfigDict(extra="forbid")

    image: str = Field(min_length=1, max_length=255, description="the image's file name")
    category: str | None = Field(None, min_length=1, max_length=64, description="a service code")
    note: str = Field("", max_length=2000)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    observed_at: AwareDatetime | None = Field(
        None, description="when the image was taken, with its UTC offset"
    )


class DroneManifest(BaseModel):
    """A flight's manifest: who flew, what the operator marked."""

    model_config = ConfigDict(extra="forbid")

    flight_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    operator: str | None = Field(None, max_length=64)
    category: str | None = Field(
        None, min_length=1, max_length=64, description="for images whose mark names none"
    )
    crs: Literal["wgs84", "gcj02"] = Field("wgs84", description="of the marks' positions")
    keep_location: bool = False
    marks: list[DroneMark] = Field(default_factory=list, max_length=MAX_FLIGHT_IMAGES)


class DroneImage(BaseModel):
    image: str
    landed: bool
    refused: str | None = Field(None, description="why, in one line naming the image")
    case_id: int | None = None
    merged: bool = False
    already: bool = False
    place: Placement | None = None
    photo: PhotoLanded | None = None


class DroneFlight(BaseModel):
    flight_id: str
    sent: int
    landed: int
    refused: int
    cases: list[int] = Field(description="the cases the images opened or joined")
    refusals: list[str] = Field(description="one line per refused image")
    images: list[DroneImage]
    message_zh: str
    message_en: str


def _manifest(text: str) -> DroneManifest:
    try:
        return DroneManifest.model_validate_json(text)
    except ValidationError as exc:
        raise _refuse(422, f"manifest: {describe(list(exc.errors()))}") from None
    except (ValueError, json.JSONDecodeError) as exc:
        raise _refuse(422, f"manifest: not JSON ({exc})") from None


@router.post(
    "/drone-flights",
    status_code=201,
    responses={
        413: {"description": "the batch is too large"},
        422: {"description": "a bad manifest, or no image landed"},
        429: {"description": "the caller's upload budget is spent"},
    },
)
def drone_flight(
    request: Request,
    principal: Annotated[Principal, WORKER],
    ops_engine: OpsEngine,
    workspace: Annotated[Workspace, Depends(get_workspace)],
    lake: Annotated[Lake, Depends(get_lake)],
    manifest: Annotated[
        str, Form(max_length=MAX_MANIFEST_CHARS, description="DroneManifest as JSON")
    ],
    images: Annotated[list[UploadFile], File(description=f"at most {MAX_FLIGHT_IMAGES} images")],
) -> DroneFlight:
    """A drone flight's geotagged images with the operator's marks (无人机巡查): each image is
    placed by its mark's position or its EXIF GPS, opens a case or joins the open one of the same
    problem nearby, and is attached to it; a bad image is refused in one line, the others land."""
    _charge_upload(request, principal)
    flight = _manifest(manifest)
    if len(images) > MAX_FLIGHT_IMAGES:
        raise _refuse(413, f"images: {len(images)} sent, at most {MAX_FLIGHT_IMAGES} per batch")
    names = [upload_name(upload, f"image-{n}") for n, upload in enumerate(images, 1)]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise _refuse(422, f"images: the same name sent twice: {', '.join(twice[:5])}")
    marks = {m.image: m for m in flight.marks}
    if len(marks) < len(flight.marks):
        raise _refuse(422, "manifest: an image is marked twice")
    unsent = sorted(set(marks) - set(names))
    if unsent:
        raise _refuse(422, f"manifest: marks name images not sent: {', '.join(unsent[:5])}")
    settings = settings_for_workspace(workspace.root)
    base = address_base(request, lake)
    outcomes: list[DroneImage] = []
    batch: list[tuple[Report, list[Evidence]]] = []
    pending: list[tuple[DroneImage, CheckedPhoto]] = []
    for upload, name in zip(images, names, strict=True):
        outcome = DroneImage(image=name, landed=False)
        outcomes.append(outcome)
        try:
            report, evidence, checked, outcome.place = _drone_report(
                workspace, base, flight, marks.get(name), name, upload,
                settings.service, principal,
            )  # fmt: skip
        except _Refused as exc:
            outcome.refused = f"{name}: {exc}"
            continue
        batch.append((report, [evidence]))
        pending.append((outcome, checked))
    results = submit_with_evidence(
        ops_engine, batch, photo_url=case_photo_url, settings=settings, areas=base.areas
    )
    for (outcome, checked), (_, files), result in zip(pending, batch, results, strict=True):
        outcome.landed, outcome.case_id = True, result.case_id
        outcome.merged, outcome.already = result.merged, result.known
        outcome.photo = _landed(result.case_id, files, [checked])[0]
    refusals = [o.refused for o in outcomes if o.refused]
    landed = sum(o.landed for o in outcomes)
    cases = sorted({o.case_id for o in outcomes if o.case_id is not None})
    if not landed:
        raise _refuse(422, f"flight {flight.flight_id}: no image landed — " + "; ".join(refusals))
    return DroneFlight(
        flight_id=flight.flight_id, sent=len(images), landed=landed, refused=len(refusals),
        cases=cases, refusals=refusals, images=outcomes,
        message_zh=f"航次 {flight.flight_id}：收到 {len(images)} 张，入库 {landed} 张，"
        f"退回 {len(refusals)} 张，涉及案件 {len(cases)} 件",
        message_en=f"flight {flight.flight_id}: {len(images)} sent, {landed} landed, "
        f"{len(refusals)} refused, {len(cases)} case(s)",
    )  # fmt: skip


class _Refused(Exception):
    """One image of a batch refused; the message (without the name) says why."""


def _drone_report(
    workspace: Workspace,
    base: AddressBase,
    flight: DroneManifest,
    mark: DroneMark | None,
    name: str,
    upload: UploadFile,
    service_of: Callable[[str], Service | None],
    principal: Principal,
) -> tuple[Report, Evidence, CheckedPhoto, Placement]:
    """One image as a report with its photo, checked, placed and stored; ``_Refused`` if not."""
    category = (mark.category if mark else None) or flight.category
    if category is None:
        raise _Refused("no category: the manifest has no mark for it and no flight category")
    if service_of(category) is None:
        raise _Refused(f"unknown category {category!r}")
    try:
        data = upload.file.read(MAX_DRONE_IMAGE_BYTES + 1)
        checked = check_photo(
            data, name, keep_location=flight.keep_location, max_bytes=MAX_DRONE_IMAGE_BYTES,
            max_pixels=MAX_DRONE_PIXELS,
        )  # fmt: skip
    except PhotoRefused as exc:
        raise _Refused(exc.message.removeprefix(f"{name}: ")) from None
    try:
        if mark is not None and mark.lon is not None and mark.lat is not None:
            lon, lat = mark.lon, mark.lat
            if flight.crs == "gcj02":
                wlon, wlat = gcj02_to_wgs84(np.array([lon]), np.array([lat]))
                lon, lat = float(wlon[0]), float(wlat[0])
            place = place_point(base, lon, lat, "manifest")
        elif checked.gps is not None:
            place = place_point(base, checked.gps[0], checked.gps[1], "photo")
        else:
            raise _Refused("no position: no GPS in its EXIF and none in its mark")
    except OffBase as exc:
        raise _Refused(str(exc)) from None
    note = (mark.note.strip() if mark else "") or f"无人机巡查 {flight.flight_id}：{name}"
    sender_id = f"{flight.flight_id}/{name}"
    if len(sender_id) > SENDER_ID_CHARS:  # a long file name: its digest names it
        sender_id = f"{flight.flight_id}/sha1:{hashlib.sha1(name.encode()).hexdigest()}"
    report = Report(
        service_code=category, channel="drone", description=note, lon=place.lon, lat=place.lat,
        address=(place.address or "")[:ADDRESS_CHARS] or None,
        name=flight.operator or principal.username, external_id=sender_id,
        reported_at=mark.observed_at if mark else None,
    )  # fmt: skip
    evidence = _stored(workspace, name, checked)
    return report, evidence, checked, place
