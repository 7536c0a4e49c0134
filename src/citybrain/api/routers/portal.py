"""The public portal (市民 and 企业): its page at ``/portal/`` and the residents' routes.

Residents need no account. A report goes through the Open311 intake (``cases.submit_report``,
channel ``open311``) and is answered with a *receipt number*: the report id and a signature of it
under the service's signing key (``123-K7Q2M9XW4T``). Only the receipt opens the report (status,
department, deadline, answer) and rates it (满意率), so nobody follows another person's report by
counting ids. A typed address is read and placed on the address register by ``api.addresses`` (the
register's parser and matcher, which correct typos, as nearest parking does), and shown back for
confirmation before the report is sent. Photos are checked (first bytes, size,
Pillow must decode them), stripped of their EXIF location unless the reporter allows it, and stored
once by content (``cases.photos``).

A resident may also sign in with a phone number and a one-time code (``security.phone``) and
then sees the reports made with that number, and only those. A clerk enters the report of a
resident who phoned (代办) through the same intake and reads the receipt number out to them.

The enterprises' routes are in ``portal_firm``.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Annotated, Any

import ibis
import numpy as np
import pyarrow as pa
from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select

from citybrain.api import addresses
from citybrain.api.deps import (
    Lake,
    OpsEngine,
    Principal,
    Security,
    get_lake,
    get_security,
    get_workspace,
    public,
    require,
)
from citybrain.api.receipts import portal_settings, receipt_for, reporter_of
from citybrain.api.security import phone as phones
from citybrain.api.security.roles import Permission
from citybrain.api.security.tokens import issue_access_token
from citybrain.cases import STATUS_ZH, Report, Status, get_report, settings_for_workspace
from citybrain.cases.intake import CLOSED, UnknownService, rate_case, submit_report
from citybrain.cases.opsdb_models import Case, CaseReporter
from citybrain.cases.photos import MAX_BYTES, PhotoRefused, check_photo, find_photo, store_photo
from citybrain.cases.settings import CaseSettings
from citybrain.core import UserError, Workspace
from citybrain.core.coords import great_circle_m
from citybrain.core.opsdb import session
from citybrain.topics.builtin.air_quality.topic import DAILY_TABLE
from citybrain.web import static_dir

router = APIRouter(tags=["portal"])
page_router = APIRouter(tags=["portal"], include_in_schema=False)

PUBLIC = [Depends(public)]


# --- the page ---------------------------------------------------------------------------------


@page_router.get("/portal", dependencies=PUBLIC)
def portal_no_slash() -> RedirectResponse:
    return RedirectResponse("/portal/", status_code=308)


_WARMING = threading.Lock()


def _warm(state: Any, lake: Lake) -> None:
    """Build the address book (the register's index and parser; the parser's division index alone
    takes a few CPU seconds once per process) off the request path, so the first typed address
    is read without that wait. One warmer at a time; a current book makes it a no-op."""
    if not _WARMING.acquire(blocking=False):
        return

    def run() -> None:
        try:
            addresses.place(addresses.address_book(state, lake), "天府大道1号")
        except Exception:  # best effort: a real request meets the same error and answers it
            pass
        finally:
            _WARMING.release()

    threading.Thread(target=run, name="portal-address-book", daemon=True).start()


@page_router.get("/portal/", dependencies=PUBLIC)
def portal_page(request: Request, lake: Annotated[Lake, Depends(get_lake)]) -> FileResponse:
    """The portal's page (a second entry of the web build), zh-CN by default; opening it warms
    the address book for the report form and 我家附近."""
    _warm(request.app.state, lake)
    page = static_dir() / "portal.html"
    if not page.is_file():
        raise HTTPException(
            404, detail="the portal is not built: run `cd frontend && npm run build`"
        )
    return FileResponse(page, media_type="text/html", headers={"Cache-Control": "no-cache"})


# --- typed addresses ---------------------------------------------------------------------------


class Resolved(BaseModel):
    """What the parser read and where the register puts it."""

    text: str
    components: dict[str, str] = Field(description="province … room as read by the parser")
    canonical: str
    matched: bool
    address_id: str | None = None
    full_address: str | None = None
    lon: float | None = None
    lat: float | None = None
    street: str | None = None
    community: str | None = None
    grid: str | None = None
    level: str | None = Field(
        None, description="what placed it: dwelling, unit, building, road_number, estate or road"
    )
    confidence: float | None = Field(None, description="the matcher's, when it matched surely")
    notes: list[str] = []


_SHOWN = ("province", "city", "district", "street", "community", "road", "road_number", "estate",
          "zone", "building", "unit", "floor", "room")  # fmt: skip


def resolve(book: addresses.AddressBook, text: str) -> Resolved:
    """Read ``text`` with the register's parser (typos in its road and estate names corrected)
    and place it with the register's matcher (``api.addresses``), in its street, community and
    grid."""
    found = addresses.place(book, text)
    parsed = found.parsed if found is not None else addresses.read(book, text)
    components = {k: str(v) for k in _SHOWN if (v := getattr(parsed, k))}
    out = Resolved(text=text, components=components, canonical=parsed.canonical, matched=False,
                   notes=list(parsed.notes))  # fmt: skip
    if found is None:
        return out
    out.matched, out.level, out.confidence = True, found.level, found.confidence
    out.address_id, out.full_address = found.address_id, found.matched
    out.lon, out.lat = found.lon, found.lat
    where = addresses.areas_of(book, found.lon, found.lat)
    out.street, out.community, out.grid = where.street, where.community, where.grid
    return out


class AddressQuery(BaseModel):
    text: str = Field(min_length=2, max_length=200)


@router.post("/portal/address", dependencies=PUBLIC)
def resolve_address(
    body: AddressQuery, request: Request, lake: Annotated[Lake, Depends(get_lake)]
) -> Resolved:
    """Read a typed address and place it on the register, for the reporter to confirm."""
    return resolve(addresses.address_book(request.app.state, lake), body.text.strip())


# --- air quality near me -----------------------------------------------------------------------


class StationAir(BaseModel):
    sensor_id: str
    date: str = Field(description="the station's latest day with a valid AQI")
    aqi: int
    category_zh: str | None
    category_en: str | None
    primary: str | None = Field(None, description="the primary pollutant, when the AQI > 50")
    distance_m: float


class AirNearMe(BaseModel):
    place: Resolved
    stations: list[StationAir] = Field(description="the nearest stations, nearest first")
    message: str | None = None


def _station_days(lake: Lake) -> pa.Table | None:
    """Each station's latest valid daily AQI in the air-quality topic's latest run, with its
    place; None when the topic never ran."""
    if not lake.exists("topic", DAILY_TABLE):
        return None
    with lake.engine() as engine:
        t = engine.table("topic", DAILY_TABLE)
        t = t.filter(t.run_id == t.run_id.max().as_scalar())
        t = t.filter(t.aqi.notnull() & t.lon.notnull() & t.lat.notnull() & ~t.aqi.isnan())
        latest = t.group_by("sensor_id").aggregate(date=t.date.max())
        t = t.semi_join(latest, ["sensor_id", "date"])
        columns = ["sensor_id", "date", "aqi", "category_zh", "category_en", "primary", "lon",
                   "lat"]  # fmt: skip
        return engine.to_arrow(t.select(*[c for c in columns if c in t.columns]))


@router.get("/portal/air", dependencies=PUBLIC,
            responses={404: {"description": "an address the register does not know"}})  # fmt: skip
def air_near_me(
    request: Request,
    lake: Annotated[Lake, Depends(get_lake)],
    address: Annotated[str, Query(min_length=2, max_length=200, description="a typed address")],
    k: Annotated[int, Query(ge=1, le=5, description="how many stations")] = 3,
) -> AirNearMe:
    """Air quality now near a typed address: the nearest stations' latest daily AQI (HJ 633)."""
    place = resolve(addresses.address_book(request.app.state, lake), address.strip())
    if not place.matched or place.lon is None or place.lat is None:
        raise HTTPException(
            404, detail=f"address not found in the address register: {address.strip()}"
        )
    days = _station_days(lake)
    if days is None or days.num_rows == 0:
        return AirNearMe(place=place, stations=[], message="no air-quality data yet (暂无数据)")
    metres = great_circle_m(
        days["lon"].to_numpy(zero_copy_only=False).astype(float),
        days["lat"].to_numpy(zero_copy_only=False).astype(float),
        place.lon,
        place.lat,
    )
    order = np.argsort(metres, kind="stable")[:k]
    rows = days.take(pa.array(order)).to_pylist()
    stations = [
        StationAir(
            sensor_id=str(r["sensor_id"]), date=str(r["date"])[:10], aqi=round(r["aqi"]),
            category_zh=r.get("category_zh"), category_en=r.get("category_en"),
            primary=r.get("primary") or None, distance_m=round(float(metres[i]), 1),
        )
        for r, i in zip(rows, order, strict=True)  # at most k (5)
    ]  # fmt: skip
    return AirNearMe(place=place, stations=stations)


# --- notices for my community ------------------------------------------------------------------


class Notice(BaseModel):
    kind: str = Field(description="screening: a household screening round (入户排查)")
    title_zh: str
    title_en: str
    first_day: str | None
    last_day: str | None
    households: int = Field(description="households visited so far in the round")


class CommunityNotices(BaseModel):
    place: Resolved
    notices: list[Notice] = Field(description="newest first")
    message: str | None = None


@router.get("/portal/notices", dependencies=PUBLIC,
            responses={404: {"description": "an address the register does not know"}})  # fmt: skip
def community_notices(
    request: Request,
    lake: Annotated[Lake, Depends(get_lake)],
    address: Annotated[str, Query(min_length=2, max_length=200, description="a typed address")],
) -> CommunityNotices:
    """Notices for the community of a typed address: its household screening rounds (入户排查),
    as counts and dates only (no household is named)."""
    place = resolve(addresses.address_book(request.app.state, lake), address.strip())
    if not place.matched:
        raise HTTPException(
            404, detail=f"address not found in the address register: {address.strip()}"
        )
    if place.community is None:
        return CommunityNotices(place=place, notices=[], message="the address is in no community")
    if not lake.exists("std", "screening"):
        return CommunityNotices(place=place, notices=[], message="no notices (暂无通知)")
    with lake.engine() as engine:
        t = engine.table("std", "screening")
        if not {"community", "round", "screened_date"} <= set(t.columns):
            return CommunityNotices(place=place, notices=[], message="no notices (暂无通知)")
        mine = t.filter((t.community == place.community) & t["round"].notnull())
        rounds = engine.to_arrow(
            mine.group_by("round").aggregate(
                first_day=mine.screened_date.min(), last_day=mine.screened_date.max(),
                households=mine.count(),
            ).order_by(ibis.desc("round")).limit(10)
        )  # fmt: skip
    notices = [
        Notice(
            kind="screening", title_zh=f"{place.community}第{r['round']}轮入户排查",
            title_en=f"Household screening, round {r['round']}, {place.community}",
            first_day=None if r["first_day"] is None else str(r["first_day"])[:10],
            last_day=None if r["last_day"] is None else str(r["last_day"])[:10],
            households=int(r["households"]),
        )
        for r in rounds.to_pylist()  # at most 10
    ]  # fmt: skip
    return CommunityNotices(place=place, notices=notices,
                            message=None if notices else "no notices (暂无通知)")  # fmt: skip


# --- photos -----------------------------------------------------------------------------------


class PhotoStored(BaseModel):
    sha256: str
    size: int
    media_type: str
    location_removed: bool = Field(description="an EXIF GPS block was taken out")


@router.post(
    "/portal/photos",
    status_code=201,
    dependencies=PUBLIC,
    responses={413: {"description": "over 10 MB"}, 415: {"description": "not an image"},
               422: {"description": "empty"}},
)  # fmt: skip
def upload_photo(
    workspace: Annotated[Workspace, Depends(get_workspace)],
    file: UploadFile,
    keep_location: Annotated[bool, Form()] = False,
) -> PhotoStored:
    """A photo for a report: a real JPEG, PNG or WebP of at most 10 MB, stored once by content."""
    data = file.file.read(MAX_BYTES + 1)
    try:
        checked = check_photo(data, "photo", keep_location=keep_location)
        stored = store_photo(workspace.root, checked.data, "photo")
    except PhotoRefused as exc:
        raise HTTPException(exc.status, detail=str(exc)) from None
    return PhotoStored(sha256=stored.sha256, size=stored.size, media_type=stored.media_type,
                       location_removed=checked.location_removed)  # fmt: skip


def photo_url(sha: str) -> str:
    return f"/api/v1/portal/photos/{sha}"


@router.get("/portal/photos/{sha}", responses={404: {"description": "no such photo"}})
def portal_photo(
    _: Annotated[Principal, Depends(require(Permission.CASES_READ))],
    workspace: Annotated[Workspace, Depends(get_workspace)],
    sha: Annotated[str, PathParam(pattern=r"^[0-9a-f]{64}$")],
) -> FileResponse:
    """A reporter's photo, for the clerks handling cases (its SHA-256 is its name)."""
    stored = find_photo(workspace.root, sha)
    if stored is None:
        raise HTTPException(404, detail="no such photo")
    return FileResponse(stored.path, media_type=stored.media_type,
                        headers={"Cache-Control": "private, max-age=86400",
                                 "X-Content-Type-Options": "nosniff"})  # fmt: skip


# --- reports and receipts ---------------------------------------------------------------------


class PortalReport(BaseModel):
    service_code: str = Field(min_length=1, max_length=64)
    description: str = Field(min_length=1, max_length=2000)
    address: str = Field(min_length=2, max_length=200, description="as typed and confirmed")
    photo: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="an uploaded photo")
    name: str | None = Field(None, max_length=64)
    phone: str | None = Field(None, max_length=32, pattern=r"^[0-9+\- ]*$")


class Receipt(BaseModel):
    receipt: str
    case_id: int
    merged: bool
    notice_zh: str
    notice_en: str


@router.post(
    "/portal/reports",
    status_code=201,
    dependencies=PUBLIC,
    responses={404: {"description": "unknown category, or a photo not uploaded"}},
)
def report_problem(
    body: PortalReport,
    request: Request,
    ops_engine: OpsEngine,
    security: Annotated[Security, Depends(get_security)],
    workspace: Annotated[Workspace, Depends(get_workspace)],
    lake: Annotated[Lake, Depends(get_lake)],
) -> Receipt:
    """Report a problem through the Open311 intake; answered with a receipt number."""
    settings = settings_for_workspace(workspace.root)
    book = addresses.address_book(request.app.state, lake)
    place = resolve(book, body.address.strip())
    if body.photo is not None and find_photo(workspace.root, body.photo) is None:
        raise HTTPException(
            404, detail="photo: no such photo; upload it first (POST /api/v1/portal/photos)"
        )
    try:
        report = Report(
            service_code=body.service_code, channel="open311", description=body.description,
            lon=place.lon, lat=place.lat, address=place.full_address or body.address.strip(),
            name=body.name or None, phone=_phone_as_stored(body.phone),
            media_url=photo_url(body.photo) if body.photo else None,
        )  # fmt: skip
        result = submit_report(ops_engine, report, settings=settings, areas=book.areas)
    except UnknownService as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except UserError as exc:
        raise HTTPException(400, detail=str(exc)) from None
    receipt = receipt_for(security.signing_key, result.reporter_id)
    return Receipt(
        receipt=receipt, case_id=result.case_id, merged=result.merged,
        notice_zh=f"已受理，回执号 {receipt}，请保存以便查询进度",
        notice_en=f"Received. Your receipt number is {receipt}; keep it to follow your report.",
    )  # fmt: skip


class Followed(BaseModel):
    receipt: str
    service_code: str
    service_name: str | None
    description: str
    address: str | None
    status: str
    status_zh: str
    closed: bool
    department: str | None
    deadline: str | None = Field(description="when the department must answer (local time)")
    answer: str | None
    reported_at: str
    rating: int | None
    can_rate: bool
    photo: bool


def _iso(moment: datetime | None, zone: Any) -> str | None:
    return moment.astimezone(zone).isoformat(timespec="minutes") if moment else None


def _followed(reporter: CaseReporter, case: Case, settings: CaseSettings, receipt: str) -> Followed:
    zone = settings.sla.calendar.zone
    service = settings.service(reporter.service_code)
    closed = case.status in CLOSED
    return Followed(
        receipt=receipt.strip().upper(), service_code=reporter.service_code,
        service_name=service.service_name if service else None,
        description=reporter.description or "", address=reporter.address, status=case.status,
        status_zh=STATUS_ZH[Status(case.status)], closed=closed, department=case.department,
        deadline=_iso(case.sla_due_at, zone), answer=reporter.answer if closed else None,
        reported_at=_iso(reporter.reported_at, zone) or "", rating=reporter.rating,
        can_rate=closed and reporter.rating is None, photo=bool(reporter.media_url),
    )  # fmt: skip


def _follow(ops_engine: SqlEngine, workspace: Workspace, key: bytes, receipt: str) -> Followed:
    reporter_id = reporter_of(key, receipt)
    found = get_report(ops_engine, reporter_id) if reporter_id is not None else None
    if found is None:
        raise HTTPException(404, detail="no report with this receipt number (查无此回执号)")
    reporter, case = found
    return _followed(reporter, case, portal_settings(workspace.root), receipt)


ReceiptNo = Annotated[str, PathParam(min_length=3, max_length=40, pattern=r"^[0-9]+-[A-Za-z2-7]+$")]


@router.get("/portal/receipts/{receipt}", dependencies=PUBLIC,
            responses={404: {"description": "no such receipt"}})  # fmt: skip
def follow_report(
    receipt: ReceiptNo,
    ops_engine: OpsEngine,
    workspace: Annotated[Workspace, Depends(get_workspace)],
    security: Annotated[Security, Depends(get_security)],
) -> Followed:
    """A report by its receipt number: status, department, deadline and the answer."""
    return _follow(ops_engine, workspace, security.signing_key, receipt)


class Rating(BaseModel):
    rating: int = Field(ge=1, le=5, description="5 very satisfied … 1 very dissatisfied")


@router.post("/portal/receipts/{receipt}/rating", dependencies=PUBLIC,
             responses={404: {"description": "no such receipt"},
                        409: {"description": "not answered yet, or rated already"}})  # fmt: skip
def rate_answer(
    receipt: ReceiptNo,
    body: Rating,
    ops_engine: OpsEngine,
    workspace: Annotated[Workspace, Depends(get_workspace)],
    security: Annotated[Security, Depends(get_security)],
) -> Followed:
    """Rate the answer once the case is closed (满意率: 4 and 5 are satisfied); once only."""
    followed = _follow(ops_engine, workspace, security.signing_key, receipt)
    if not followed.can_rate:
        why = "already rated (已评价)" if followed.rating else "not answered yet (尚未办结)"
        raise HTTPException(409, detail=why)
    reporter_id = reporter_of(security.signing_key, receipt)
    assert reporter_id is not None
    try:
        rate_case(ops_engine, reporter_id, body.rating, clock=security.clock)
    except UserError as exc:
        raise HTTPException(409, detail=str(exc)) from None
    return _follow(ops_engine, workspace, security.signing_key, receipt)


# --- residents signed in by phone --------------------------------------------------------------


def _phone_as_stored(phone: str | None) -> str | None:
    """A mobile number as the 11 digits (so the resident finds the report after signing in);
    anything else as typed."""
    if not phone or not phone.strip():
        return None
    try:
        return phones.normalise(phone)
    except phones.PhoneRefused:
        return phone.strip()


PhoneNo = Annotated[
    str,
    Field(min_length=11, max_length=15, pattern=phones.PHONE_PATTERN,
          description="a mainland mobile number, e.g. 13812345678 (no spaces)"),
]  # fmt: skip


class CodeRequest(BaseModel):
    phone: PhoneNo


class CodeSent(BaseModel):
    phone: str = Field(description="the number, masked (138****5678)")
    expires_in: int = Field(description="seconds the code is valid")
    notice_zh: str
    notice_en: str


def get_code_sender(
    request: Request, security: Annotated[Security, Depends(get_security)]
) -> phones.CodeSender:
    """The city's SMS gateway when one is plugged in (``app.state.code_sender``); else the
    offline outbox (``sms_outbox``), which sends nothing over any network."""
    sender: phones.CodeSender | None = getattr(request.app.state, "code_sender", None)
    return sender or phones.OutboxSender(security.ops_engine)


def _refused(exc: phones.PhoneRefused) -> HTTPException:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return HTTPException(exc.status, detail=str(exc), headers=headers)


@router.post(
    "/portal/phone/code", status_code=202, dependencies=PUBLIC,
    responses={422: {"description": "not a mainland mobile number"},
               429: {"description": "asked too recently or too often (Retry-After)"}},
)  # fmt: skip
def request_phone_code(
    body: CodeRequest,
    security: Annotated[Security, Depends(get_security)],
    sender: Annotated[phones.CodeSender, Depends(get_code_sender)],
) -> CodeSent:
    """Send a one-time sign-in code to a phone (once a minute, five times an hour at most)."""
    try:
        number = phones.normalise(body.phone)
        lifetime = phones.request_code(security.ops_engine, security.signing_key, number,
                                       sender, security.clock())  # fmt: skip
    except phones.PhoneRefused as exc:
        raise _refused(exc) from None
    return CodeSent(
        phone=phones.masked(number), expires_in=lifetime,
        notice_zh=f"验证码已发送至 {phones.masked(number)}，{lifetime // 60} 分钟内有效",
        notice_en=f"A code was sent to {phones.masked(number)}; valid {lifetime // 60} minutes.",
    )  # fmt: skip


class CodeCheck(BaseModel):
    phone: PhoneNo
    code: str = Field(pattern=r"^[0-9]{6}$", description="the six digits received")


class ResidentSession(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the session ends")
    phone: str = Field(description="the number, masked")


@router.post(
    "/portal/phone/session", dependencies=PUBLIC,
    responses={401: {"description": "wrong, used or expired code"},
               422: {"description": "not a mainland mobile number"}},
)  # fmt: skip
def phone_session(
    body: CodeCheck, security: Annotated[Security, Depends(get_security)]
) -> ResidentSession:
    """Sign in with a phone and the code it received: a session that sees the reports made with
    that phone, and nothing else."""
    now = security.clock()
    try:
        number = phones.normalise(body.phone)
        user_id = phones.verify_code(security.ops_engine, security.signing_key, number,
                                     body.code, now)  # fmt: skip
    except phones.PhoneRefused as exc:
        raise _refused(exc) from None
    lifetime = timedelta(minutes=security.settings.access_token_minutes)
    token = issue_access_token(security.signing_key, user_id, now, lifetime)
    return ResidentSession(access_token=token, expires_in=int(lifetime.total_seconds()),
                           phone=phones.masked(number))  # fmt: skip


class MyReports(BaseModel):
    phone: str | None = Field(description="the signed-in number, masked")
    reports: list[Followed] = Field(description="newest first, at most 100")


def _same_phone(number: str) -> Any:
    """Reports whose phone is ``number``, however it was typed (spaces, dashes, +86)."""
    typed = func.replace(func.replace(CaseReporter.phone, " ", ""), "-", "")
    return typed.in_([number, f"86{number}", f"+86{number}", f"0086{number}"])


@router.get("/portal/my/reports")
def my_reports(
    principal: Annotated[Principal, Depends(require(Permission.PORTAL_RESIDENT))],
    ops_engine: OpsEngine,
    workspace: Annotated[Workspace, Depends(get_workspace)],
    security: Annotated[Security, Depends(get_security)],
) -> MyReports:
    """The reports made with the signed-in resident's phone: status, department, deadline,
    answer and rating (each with its receipt number, to rate it)."""
    number = principal.department
    if not number or not phones.PHONE.match(number):
        return MyReports(phone=None, reports=[])
    settings = portal_settings(workspace.root)
    with session(ops_engine) as db:
        rows = db.execute(
            select(CaseReporter, Case)
            .join(Case, Case.id == CaseReporter.case_id)
            .where(_same_phone(number))
            .order_by(CaseReporter.reported_at.desc(), CaseReporter.id.desc())
            .limit(100)
        ).all()
        reports = [
            _followed(reporter, case, settings, receipt_for(security.signing_key, reporter.id))
            for reporter, case in rows  # at most 100
        ]
    return MyReports(phone=phones.masked(number), reports=reports)


# --- 代办: a clerk enters the report of a resident who phoned -----------------------------------


class AssistedReport(BaseModel):
    service_code: str = Field(min_length=1, max_length=64)
    description: str = Field(min_length=1, max_length=2000)
    address: str = Field(min_length=2, max_length=200, description="as the resident said it")
    phone: PhoneNo
    name: str | None = Field(None, max_length=64)
    request_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="the desk's id for this entry: sending it again files nothing new",
    )  # fmt: skip


class AssistedReceipt(Receipt):
    address: Resolved = Field(description="where the typed address was placed")


@router.post(
    "/portal/assisted-reports", status_code=201,
    responses={404: {"description": "unknown category"},
               422: {"description": "not a mainland mobile number"}},
)  # fmt: skip
def assisted_report(
    body: AssistedReport,
    principal: Annotated[Principal, Depends(require(Permission.CASES_WRITE))],
    request: Request,
    ops_engine: OpsEngine,
    security: Annotated[Security, Depends(get_security)],
    workspace: Annotated[Workspace, Depends(get_workspace)],
    lake: Annotated[Lake, Depends(get_lake)],
) -> AssistedReceipt:
    """代办: a clerk enters the report of a resident who phoned (channel ``hotline``), through
    the same intake; the receipt number is read out to the resident, who follows it on the
    portal by that number or by signing in with the same phone."""
    try:
        number = phones.normalise(body.phone)
    except phones.PhoneRefused as exc:
        raise _refused(exc) from None
    book = addresses.address_book(request.app.state, lake)
    place = resolve(book, body.address.strip())
    external = f"desk:{body.request_id}" if body.request_id else None
    try:
        report = Report(
            service_code=body.service_code, channel="hotline", description=body.description,
            lon=place.lon, lat=place.lat, address=place.full_address or body.address.strip(),
            name=body.name or None, phone=number, external_id=external,
        )  # fmt: skip
        result = submit_report(ops_engine, report, settings=portal_settings(workspace.root),
                               areas=book.areas)  # fmt: skip
    except UnknownService as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except UserError as exc:
        raise HTTPException(400, detail=str(exc)) from None
    receipt = receipt_for(security.signing_key, result.reporter_id)
    return AssistedReceipt(
        receipt=receipt, case_id=result.case_id, merged=result.merged, address=place,
        notice_zh=f"代办已受理（录入人 {principal.username}）。请告知市民回执号 {receipt}，"
        f"可在门户凭回执号或手机号 {phones.masked(number)} 查询进度",
        notice_en=f"Entered for the resident by {principal.username}. Read out the receipt "
        f"number {receipt}; they follow it on the portal by it or by signing in with "
        f"{phones.masked(number)}.",
    )  # fmt: skip


__all__ = ["get_code_sender", "page_router", "resolve", "router"]
