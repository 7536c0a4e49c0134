"""Cases from outside: citizen reports (Open311, 12345 hotline) and patrol / drone events.

Reports of one problem — the same category, within ``merge.distance_m`` metres and
``merge.window_hours`` of an open case — merge into that case; every reporter is kept and every
one gets the answer when it closes, and may rate it afterwards (满意率).

A report may bring photos (``Evidence``, stored by content in ``cases.photos``): they are attached
to the case it opens or joins, in the event that records it, so the case desk shows and serves them.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select
from sqlalchemy.orm import Session

from citybrain.cases.areas import AreaIndex
from citybrain.cases.desk import SYSTEM_ACTOR, apply_action
from citybrain.cases.opsdb_models import Case, CaseEvent, CaseReporter
from citybrain.cases.routing import route
from citybrain.cases.settings import CaseSettings, Service
from citybrain.cases.states import Action, Status
from citybrain.core.coords import EARTH_RADIUS_M, great_circle_m
from citybrain.core.errors import UserError
from citybrain.core.opsdb import session, utcnow
from citybrain.topics import Level

CLOSED = (Status.closed.value, Status.archived.value)


class UnknownService(UserError):
    def __init__(self, code: str, known: Sequence[str]) -> None:
        super().__init__(
            f"unknown service_code {code!r}",
            hint=f"known services: {', '.join(known) or 'none configured'}",
        )
        self.code = code


class Report(BaseModel):
    """One report of a problem at a place, from a citizen or an inspection."""

    model_config = ConfigDict(extra="forbid")

    # Lengths are the columns' own, so a long value is refused here rather than by the database.
    service_code: str = Field(min_length=1, max_length=64)
    channel: str = Field(
        "open311", min_length=1, max_length=32, description="open311 | hotline | patrol | drone"
    )
    description: str = Field("", max_length=10_000)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    address: str | None = Field(None, max_length=512)
    name: str | None = Field(None, max_length=255)
    email: str | None = Field(None, max_length=255)
    phone: str | None = Field(None, max_length=64)
    media_url: str | None = Field(None, max_length=1024)
    external_id: str | None = Field(
        None, max_length=255, description="the sender's own id; resending is a no-op"
    )
    reported_at: datetime | None = None
    level: Level | None = None


@dataclass(frozen=True)
class IntakeResult:
    case_id: int
    reporter_id: int
    merged: bool  # joined an existing case instead of opening one
    known: bool = False  # the sender's id was seen before: nothing new was filed


@dataclass(frozen=True)
class Evidence:
    """A stored photo a report brings (its SHA-256 names it)."""

    name: str
    sha256: str
    media_type: str
    size: int


#: (case id, SHA-256) → the URL the case desk serves a case's photo at
PhotoUrl = Callable[[int, str], str]


def _attachments(case_id: int, evidence: Sequence[Evidence], url: PhotoUrl) -> list[dict[str, Any]]:
    return [
        {"name": e.name, "url": url(case_id, e.sha256), "kind": "photo", "sha256": e.sha256,
         "media_type": e.media_type, "size": e.size}
        for e in evidence
    ]  # fmt: skip


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (``core.coords.great_circle_m`` for one pair)."""
    return float(great_circle_m(np.array([lon1]), np.array([lat1]), lon2, lat2)[0])


def _nearby_open_case(
    db: Session, report: Report, settings: CaseSettings, at: datetime
) -> Case | None:
    if report.lon is None or report.lat is None:
        return None
    limit = settings.merge.distance_m
    dlat = math.degrees(limit / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(report.lat)), 1e-6)
    since = at - timedelta(hours=settings.merge.window_hours)
    candidates = db.scalars(
        select(Case).where(
            Case.topic == report.service_code,
            Case.open_key.is_not(None),
            Case.created_at >= since,
            Case.lat.between(report.lat - dlat, report.lat + dlat),
            Case.lon.between(report.lon - dlon, report.lon + dlon),
        )
    ).all()
    scored = [
        (distance_m(report.lon, report.lat, c.lon, c.lat), c.id, c)
        for c in candidates
        if c.lon is not None and c.lat is not None
    ]
    near = [item for item in scored if item[0] <= limit]
    return min(near, key=lambda item: (item[0], item[1]))[2] if near else None


def _reporter(report: Report, case_id: int, at: datetime) -> CaseReporter:
    return CaseReporter(
        case_id=case_id,
        channel=report.channel,
        external_id=report.external_id,
        service_code=report.service_code,
        description=report.description,
        lon=report.lon,
        lat=report.lat,
        address=report.address,
        name=report.name,
        email=report.email,
        phone=report.phone,
        media_url=report.media_url,
        reported_at=at,
    )


def _new_case(
    db: Session,
    report: Report,
    service: Service,
    settings: CaseSettings,
    areas: AreaIndex | None,
    hints: Mapping[str, str | None] | None,
    at: datetime,
    now: datetime,
    evidence: Sequence[Evidence] = (),
    photo_url: PhotoUrl | None = None,
) -> Case:
    grid = community = street = None
    if areas is not None and report.lon is not None and report.lat is not None:
        located = areas.locate(pa.array([report.lon]), pa.array([report.lat])).to_pylist()[0]
        grid, community, street = located["grid_id"], located["community_id"], located["street_id"]
    level = (report.level or service.level).value
    decision = route(
        settings.routing,
        topic=service.service_code,
        level=level,
        grid_id=grid,
        community_id=community,
        street_id=street,
        hints=hints,
    )
    subject = f"{report.channel}-{uuid.uuid4().hex[:12]}"
    local = at.astimezone(settings.sla.calendar.zone)
    summary = report.description.strip().splitlines()[0][:80] if report.description.strip() else ""
    case = Case(
        topic=service.service_code,
        subject_type="location",
        subject_id=subject,
        period=local.date().isoformat(),
        source=report.channel,
        title=f"{service.service_name}：{summary}" if summary else service.service_name,
        level=level,
        score=1.0,
        lon=report.lon,
        lat=report.lat,
        grid_id=grid,
        community_id=community,
        street_id=street,
        address=report.address,
        status=Status.new.value,
        department=decision.department,
        co_departments=list(decision.departments[1:]),
        routing_rule=decision.rule,
        open_key=f"{service.service_code}|location|{subject}",
        created_at=now,
        updated_at=now,
    )
    db.add(case)
    db.flush()
    db.add(
        CaseEvent(
            case_id=case.id, action=Action.create.value, actor=SYSTEM_ACTOR, at=now,
            from_status=None, to_status=Status.new.value,
            comment=f"{report.channel} 上报 ({service.service_name})",
            attachments=_attachments(case.id, evidence, photo_url) if photo_url else [],
            details={},
        )
    )  # fmt: skip
    if settings.auto_dispatch and decision.department:
        apply_action(
            db, case, Action.dispatch, actor=SYSTEM_ACTOR, now=now, settings=settings,
            comment=f"按路由自动派发：{decision.reason_zh}",
        )  # fmt: skip
    return case


def _submit(
    db: Session,
    report: Report,
    settings: CaseSettings,
    areas: AreaIndex | None,
    hints: Mapping[str, str | None] | None,
    now: datetime,
    evidence: Sequence[Evidence] = (),
    photo_url: PhotoUrl | None = None,
    merge_nearby: bool = True,
) -> IntakeResult:
    if evidence and photo_url is None:
        raise ValueError("evidence needs photo_url")
    service = settings.service(report.service_code)
    if service is None:
        raise UnknownService(report.service_code, [s.service_code for s in settings.services])
    if report.external_id is not None:
        known = db.scalars(
            select(CaseReporter).where(
                CaseReporter.channel == report.channel,
                CaseReporter.external_id == report.external_id,
            )
        ).one_or_none()
        if known is not None:
            return IntakeResult(known.case_id, known.id, merged=True, known=True)
    at = report.reported_at or now
    case = _nearby_open_case(db, report, settings, at) if merge_nearby else None
    merged = case is not None
    if case is None:
        case = _new_case(db, report, service, settings, areas, hints, at, now, evidence, photo_url)
    reporter = _reporter(report, case.id, at)
    photos = _attachments(case.id, evidence, photo_url) if photo_url else []
    if photos and not reporter.media_url:
        reporter.media_url = photos[0]["url"]
    db.add(reporter)
    db.flush()
    if merged:
        media = [{"kind": "media", "url": report.media_url}] * bool(report.media_url)
        db.add(
            CaseEvent(
                case_id=case.id, action=Action.attach.value, actor=SYSTEM_ACTOR, at=now,
                from_status=case.status, to_status=case.status,
                comment=f"合并同一问题的 {report.channel} 上报 (merged report {reporter.id})",
                attachments=media + photos, details={"reporter_id": reporter.id},
            )
        )  # fmt: skip
    return IntakeResult(case.id, reporter.id, merged)


def submit_report(
    ops_engine: SqlEngine,
    report: Report,
    *,
    settings: CaseSettings | None = None,
    areas: AreaIndex | None = None,
    hints: Mapping[str, str | None] | None = None,
    clock: Callable[[], datetime] = utcnow,
    merge_nearby: bool = True,
) -> IntakeResult:
    """Turn one report into a case, or merge it into the open case of the same problem (unless
    ``merge_nearby`` is off: a report that is its sender's own, e.g. a firm's request)."""
    with session(ops_engine) as db:
        return _submit(db, report, settings or CaseSettings(), areas, hints, clock(),
                       merge_nearby=merge_nearby)  # fmt: skip


def submit_with_evidence(
    ops_engine: SqlEngine,
    items: Sequence[tuple[Report, Sequence[Evidence]]],
    *,
    photo_url: PhotoUrl,
    settings: CaseSettings | None = None,
    areas: AreaIndex | None = None,
    hints: Mapping[str, str | None] | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> list[IntakeResult]:
    """Reports with their photos (a grid worker's report, a drone flight's marked images), in one
    transaction and in order, so a later report of the batch joins the case an earlier one opened
    when it is the same problem; a report whose sender id was seen before files nothing."""
    config = settings or CaseSettings()
    now = clock()
    with session(ops_engine) as db:
        return [
            _submit(db, report, config, areas, hints, now, evidence, photo_url)
            for report, evidence in items
        ]


INSPECTION_COLUMNS = ("event_id", "channel", "category", "lon", "lat", "observed_at")


def intake_inspections(
    ops_engine: SqlEngine,
    events: pa.Table,
    *,
    settings: CaseSettings | None = None,
    areas: AreaIndex | None = None,
    hints: Mapping[str, str | None] | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> list[IntakeResult]:
    """Patrol and drone inspection events (无人机巡查, 全面全时巡视) as cases, in one transaction.

    Columns: event_id, channel (patrol | drone), category (a service code), lon, lat,
    observed_at (timestamp with time zone); optional description, inspector, media_url.
    Re-sending an event id changes nothing.
    """
    missing = [c for c in INSPECTION_COLUMNS if c not in events.column_names]
    if missing:
        raise UserError(f"inspection events lack column(s) {', '.join(missing)}")
    config = settings or CaseSettings()
    now = clock()
    with session(ops_engine) as db:
        return [
            _submit(db, _inspection_report(row), config, areas, hints, now)
            for row in events.to_pylist()
        ]


def _inspection_report(row: dict[str, Any]) -> Report:
    return Report(
        service_code=row["category"],
        channel=row["channel"],
        description=row.get("description") or "",
        lon=row["lon"],
        lat=row["lat"],
        name=row.get("inspector"),
        media_url=row.get("media_url"),
        external_id=str(row["event_id"]),
        reported_at=row["observed_at"],
    )


def rate_case(
    ops_engine: SqlEngine, reporter_id: int, rating: int, *, clock: Callable[[], datetime] = utcnow
) -> CaseReporter:
    """A reporter's rating (1–5) of how their closed case was handled; 4 and 5 are satisfied."""
    if not 1 <= rating <= 5:
        raise UserError(f"rating {rating} is out of range", hint="rate from 1 to 5")
    with session(ops_engine) as db:
        reporter = db.get(CaseReporter, reporter_id)
        if reporter is None:
            raise UserError(f"report {reporter_id} does not exist")
        case = db.get(Case, reporter.case_id)
        if case is None or case.status not in CLOSED:
            raise UserError(
                f"report {reporter_id}: its case {reporter.case_id} is not closed yet",
                hint="a report can be rated once its case is closed (办结)",
            )
        reporter.rating = rating
        reporter.rated_at = clock()
        return reporter


def get_report(ops_engine: SqlEngine, reporter_id: int) -> tuple[CaseReporter, Case] | None:
    with session(ops_engine) as db:
        reporter = db.get(CaseReporter, reporter_id)
        if reporter is None:
            return None
        case = db.get(Case, reporter.case_id)
        assert case is not None
        return reporter, case


def list_reports(
    ops_engine: SqlEngine,
    *,
    ids: Sequence[int] | None = None,
    service_codes: Sequence[str] | None = None,
    open_: bool | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
) -> list[tuple[CaseReporter, Case]]:
    """Reports with their cases, newest first (Open311 GET requests.json)."""
    query = select(CaseReporter, Case).join(Case, Case.id == CaseReporter.case_id)
    if ids:
        query = query.where(CaseReporter.id.in_(list(ids)))
    if service_codes:
        query = query.where(CaseReporter.service_code.in_(list(service_codes)))
    if open_ is True:
        query = query.where(Case.status.not_in(CLOSED))
    elif open_ is False:
        query = query.where(Case.status.in_(CLOSED))
    if start is not None:
        query = query.where(CaseReporter.reported_at >= start)
    if end is not None:
        query = query.where(CaseReporter.reported_at <= end)
    query = query.order_by(CaseReporter.reported_at.desc(), CaseReporter.id.desc()).limit(limit)
    with session(ops_engine) as db:
        return [(reporter, case) for reporter, case in db.execute(query).all()]
