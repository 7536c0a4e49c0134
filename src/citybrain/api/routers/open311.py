"""Open311 GeoReport v2 intake for citizen reports (12345-style), mounted at ``/open311/v2``.

Endpoints follow the specification's JSON format: ``services.json``, ``POST requests.json``
(form-encoded), ``requests/{id}.json`` and ``requests.json``. Errors are a list of
``{"code", "description"}``. A request's ``service_request_id`` is its report id; reports of one
problem share a case but each keeps its own id and is answered when the case closes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from citybrain.api.deps import OpsEngine, get_workspace
from citybrain.cases import (
    STATUS_ZH,
    Case,
    CaseReporter,
    CaseSettings,
    Report,
    Status,
    UnknownService,
    get_report,
    list_reports,
    settings_for_workspace,
    submit_report,
)
from citybrain.core import UserError, Workspace

router = APIRouter(tags=["open311"])

_CLOSED = (Status.closed.value, Status.archived.value)
_MAX_ID_DIGITS = 18  # ids are 64-bit integers in the ops database


def get_case_settings(workspace: Annotated[Workspace, Depends(get_workspace)]) -> CaseSettings:
    return settings_for_workspace(workspace.root)


SettingsDep = Annotated[CaseSettings, Depends(get_case_settings)]


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[dict[str, str]]


class Created(BaseModel):
    service_request_id: str
    service_notice: str
    account_id: str | None = None


class ServiceRequest(BaseModel):
    service_request_id: str
    status: str  # open | closed
    status_notes: str | None
    service_name: str | None
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class Open311Error(BaseModel):
    code: int
    description: str


_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": list[Open311Error], "description": "a missing or malformed parameter"},
    404: {"model": list[Open311Error], "description": "unknown service or request"},
}


def _error(code: int, description: str) -> JSONResponse:
    return JSONResponse(status_code=code, content=[{"code": code, "description": description}])


def _local(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return moment.astimezone(zone).isoformat() if moment is not None else None


def _request_view(reporter: CaseReporter, case: Case, settings: CaseSettings) -> ServiceRequest:
    zone = settings.sla.calendar.zone
    service = settings.service(reporter.service_code)
    closed = case.status in _CLOSED
    notes = reporter.answer if closed else f"{STATUS_ZH[Status(case.status)]} ({case.status})"
    return ServiceRequest(
        service_request_id=str(reporter.id),
        status="closed" if closed else "open",
        status_notes=notes,
        service_name=service.service_name if service else None,
        service_code=reporter.service_code,
        description=reporter.description or None,
        agency_responsible=case.department,
        service_notice=f"case {case.id}",
        requested_datetime=_local(reporter.reported_at, zone) or "",
        updated_datetime=_local(case.updated_at, zone) or "",
        expected_datetime=_local(case.sla_due_at, zone),
        address=reporter.address,
        address_id=None,
        zipcode=None,
        lat=reporter.lat,
        long=reporter.lon,
        media_url=reporter.media_url,
    )


@router.get("/services.json", response_model=list[Service])
def services(settings: SettingsDep) -> list[Service]:
    """The kinds of problem that can be reported."""
    return [
        Service(
            service_code=s.service_code,
            service_name=s.service_name,
            description=s.description,
            metadata=False,
            type="realtime",
            keywords=",".join(s.keywords),
            group=s.group,
        )
        for s in settings.services
    ]


@router.get("/services/{service_code}.json", response_model=ServiceDefinition, responses=_ERRORS)
def service_definition(
    service_code: str, settings: SettingsDep
) -> ServiceDefinition | JSONResponse:
    if settings.service(service_code) is None:
        return _error(404, f"unknown service_code {service_code!r}")
    return ServiceDefinition(service_code=service_code, attributes=[])


@router.post("/requests.json", status_code=201, response_model=list[Created], responses=_ERRORS)
def create_request(
    ops_engine: OpsEngine,
    settings: SettingsDep,
    service_code: Annotated[str, Form()] = "",
    lat: Annotated[float | None, Form()] = None,
    long: Annotated[float | None, Form()] = None,
    address_string: Annotated[str | None, Form()] = None,
    description: Annotated[str, Form()] = "",
    email: Annotated[str | None, Form()] = None,
    first_name: Annotated[str | None, Form()] = None,
    last_name: Annotated[str | None, Form()] = None,
    phone: Annotated[str | None, Form()] = None,
    media_url: Annotated[str | None, Form()] = None,
    account_id: Annotated[str | None, Form()] = None,
    device_id: Annotated[str | None, Form()] = None,
) -> list[Created] | JSONResponse:
    """Report a problem; a report of an already-reported problem joins its case."""
    if not service_code:
        return _error(400, "service_code is required")
    if (lat is None or long is None) and not address_string:
        return _error(400, "give lat and long, or address_string")
    name = " ".join(part for part in (last_name, first_name) if part) or None
    try:
        report = Report(
            service_code=service_code, channel="open311", description=description, lon=long,
            lat=lat, address=address_string, name=name, email=email, phone=phone,
            media_url=media_url,
        )  # fmt: skip
    except ValidationError as exc:
        first = exc.errors()[0]
        field = {"lon": "long"}.get(str(first["loc"][0]), str(first["loc"][0]))
        return _error(400, f"{field}: {first['msg']}")
    try:
        result = submit_report(ops_engine, report, settings=settings)
    except UnknownService as exc:
        return _error(404, str(exc))
    except UserError as exc:
        return _error(400, str(exc))
    notice = (
        f"已合并到同一问题的案件 {result.case_id} (merged into case {result.case_id})"
        if result.merged
        else f"已受理，案件 {result.case_id} (accepted as case {result.case_id})"
    )
    return [Created(service_request_id=str(result.reporter_id), service_notice=notice,
                    account_id=account_id)]  # fmt: skip


@router.get(
    "/requests/{service_request_id}.json",
    response_model=list[ServiceRequest],
    responses=_ERRORS,
)
def get_request(
    service_request_id: str, ops_engine: OpsEngine, settings: SettingsDep
) -> list[ServiceRequest] | JSONResponse:
    if not (service_request_id.isdigit() and len(service_request_id) <= _MAX_ID_DIGITS):
        return _error(404, f"no service request {service_request_id!r}")
    found = get_report(ops_engine, int(service_request_id))
    if found is None:
        return _error(404, f"no service request {service_request_id!r}")
    return [_request_view(*found, settings)]


_W3C_TIME = Query(
    description="a W3C (RFC 3339) time with offset, e.g. 2026-11-23T09:00:00+08:00",
    json_schema_extra={"format": "date-time"},
)


def _parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{name} {value!r} is not a W3C time such as 2026-11-23T09:00:00+08:00"
        ) from None
    if parsed.utcoffset() is None:
        raise ValueError(f"{name} needs a time zone offset (W3C format)")
    return parsed


@router.get("/requests.json", response_model=list[ServiceRequest], responses=_ERRORS)
def list_requests(
    ops_engine: OpsEngine,
    settings: SettingsDep,
    service_request_id: Annotated[
        str | None, Query(pattern=r"^(\d{1,18}(,\d{1,18})*)?$", description="ids, comma-separated")
    ] = None,
    service_code: Annotated[str | None, Query(description="codes, comma-separated")] = None,
    start_date: Annotated[str | None, _W3C_TIME] = None,
    end_date: Annotated[str | None, _W3C_TIME] = None,
    status: Annotated[
        str | None, Query(pattern=r"^((open|closed)(,(open|closed))*)?$", description="open,closed")
    ] = None,
) -> list[ServiceRequest] | JSONResponse:
    """Requests, newest first; ids, codes and statuses are comma-separated lists."""
    ids = None
    if service_request_id:
        parts = [p.strip() for p in service_request_id.split(",") if p.strip()]
        if not all(p.isdigit() and len(p) <= _MAX_ID_DIGITS for p in parts):
            return _error(400, "service_request_id must be a comma-separated list of ids")
        ids = [int(p) for p in parts]
    statuses = {s.strip() for s in (status or "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        return _error(400, "status is open, closed or both")
    open_ = None if len(statuses) != 1 else statuses == {"open"}
    try:
        start, end = _parse_time(start_date, "start_date"), _parse_time(end_date, "end_date")
    except ValueError as exc:
        return _error(400, str(exc))
    codes = [c.strip() for c in (service_code or "").split(",") if c.strip()]
    found = list_reports(
        ops_engine, ids=ids, service_codes=codes, open_=open_, start=start, end=end
    )
    return [_request_view(reporter, case, settings) for reporter, case in found]
