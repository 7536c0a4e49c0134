"""Entities: an enterprise's credit report with reasons, and the parking queries (the lots with
free spaces for staff; the nearest lots with free spaces for anyone, ``api.parking``).

The credit score and its reasons are documented in ``citybrain.api.credit``; reports are served
from an index over the std zone that is rebuilt when one of its input tables changes.
"""

from __future__ import annotations

from typing import Annotated

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field, StringConstraints

from citybrain.api import addresses, parking
from citybrain.api.credit import CreditReport
from citybrain.api.deps import CreditIndexDep, LakeDep, Principal, public, require
from citybrain.api.security.roles import Permission
from citybrain.core.coords import great_circle_m

router = APIRouter(tags=["entities"])

# GB 32100: 18 characters of digits and upper-case letters (I, O, S, V, Z excluded).
Uscc = Annotated[str, StringConstraints(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")]


class ParkingLot(BaseModel):
    lot_id: str
    name: str | None
    capacity: int | None
    free: int | None
    updated_at: str | None
    distance_m: float | None = None


class ParkingAnswer(BaseModel):
    lots: list[ParkingLot]
    located: bool = Field(description="false: the lots have no coordinates, so no distances")
    message: str | None = None


@router.get(
    "/enterprises/{uscc}/credit-report",
    response_model=CreditReport,
    responses={404: {"description": "no records of this enterprise"}},
)
async def enterprise_credit_report(
    uscc: Uscc,
    _: Annotated[Principal, Depends(require(Permission.CREDIT_READ))],
    index: CreditIndexDep,
) -> Response:
    """An enterprise's credit score with the reasons behind it, in zh-CN and en."""
    report = index.report(uscc)
    if report is None:
        raise HTTPException(404, detail=f"no registration, penalty or tax record for {uscc}")
    # Serialised once here; FastAPI would validate the model a second time on the way out.
    return Response(report.model_dump_json(), media_type="application/json")


@router.get("/parking/lots")
def parking_lots(
    _: Annotated[Principal, Depends(require(Permission.MAP_READ))],
    lake: LakeDep,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    radius_m: Annotated[float, Query(gt=0, le=50_000)] = 1000.0,
    min_free: Annotated[int, Query(ge=0, le=100_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> ParkingAnswer:
    """Lots with at least ``min_free`` free spaces in their latest snapshot, nearest first when
    the lots have coordinates and a point is given, otherwise most free spaces first."""
    if not lake.exists("std", "parking_occupancy"):
        return ParkingAnswer(lots=[], located=False, message="no parking data in the std zone")
    with lake.engine() as engine:
        t = engine.table("std", "parking_occupancy")
        latest = t.group_by("lot_id").aggregate(updated_at=t.updated_at.max())
        table = engine.to_arrow(t.semi_join(latest, ["lot_id", "updated_at"]).distinct(on="lot_id"))
    table = table.filter(pc.fill_null(pc.greater_equal(table["free"], min_free), False))
    located = {"lon", "lat"} <= set(table.column_names)
    message = None
    if located and lon is not None and lat is not None:
        distance = pa.array(
            great_circle_m(
                table["lon"].to_numpy(zero_copy_only=False).astype(float),
                table["lat"].to_numpy(zero_copy_only=False).astype(float),
                lon,
                lat,
            ),
            pa.float64(),
            from_pandas=True,  # a lot with no place (NaN) has no distance (null)
        )
        table = table.append_column("distance_m", distance)
        table = table.filter(pc.fill_null(pc.less_equal(distance, radius_m), False))
        table = table.sort_by([("distance_m", "ascending")])
    else:
        if lon is not None and not located:
            message = "the parking lots carry no coordinates yet; most free spaces first"
        table = table.sort_by([("free", "descending"), ("lot_id", "ascending")])
    rows = table.slice(0, limit).to_pylist()
    lots = [
        ParkingLot(
            lot_id=str(r["lot_id"]),
            name=r.get("name"),
            capacity=r.get("capacity"),
            free=r.get("free"),
            updated_at=None if r.get("updated_at") is None else str(r["updated_at"]),
            distance_m=r.get("distance_m"),
        )
        for r in rows
    ]
    return ParkingAnswer(lots=lots, located=located, message=message)


class ParkingPoint(BaseModel):
    lon: float
    lat: float
    matched: str | None = Field(None, description="the register's address that placed the text")
    level: str | None = Field(
        None, description="dwelling, unit, building, road_number, estate or road"
    )


class NearestLots(BaseModel):
    point: ParkingPoint
    lots: list[ParkingLot]
    located: bool = Field(description="false: the lots have no coordinates, so none is near")
    message: str | None = None


@router.get(
    "/parking/nearest",
    dependencies=[Depends(public)],
    responses={
        404: {"description": "an address the register does not know"},
        422: {"description": "neither a point (lon and lat) nor an address"},
    },
)
def nearest_lots(
    request: Request,
    lake: LakeDep,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    address: Annotated[
        str | None, Query(min_length=2, max_length=200, description="a typed address")
    ] = None,
    k: Annotated[int, Query(ge=1, le=20, description="how many lots")] = 5,
    min_free: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> NearestLots:
    """The ``k`` lots nearest a point (``lon``/``lat``, or a typed ``address`` the register
    places) with at least ``min_free`` free spaces in their newest snapshot: distance and free
    spaces. Open to anyone (residents), rate-limited per client address."""
    state = request.app.state
    if lon is not None and lat is not None:
        point = parking.Point(lon, lat)
    elif address is not None:
        found = addresses.place(addresses.address_book(state, lake), address.strip())
        if found is None:
            raise HTTPException(
                404, detail=f"address not found in the address register: {address.strip()}"
            )
        point = parking.Point(found.lon, found.lat, matched=found.matched, level=found.level)
    else:
        raise HTTPException(422, detail="give lon and lat, or an address")
    where = ParkingPoint(lon=point.lon, lat=point.lat, matched=point.matched, level=point.level)
    lots = parking.lots_now(state, lake)
    if lots is None:
        return NearestLots(point=where, lots=[], located=False, message="no parking data")
    located = lots.num_rows > 0 and pc.sum(pc.is_valid(lots["lon"]).cast(pa.int64())).as_py() > 0
    if not located:
        message = "the parking lots carry no coordinates" if lots.num_rows else "no parking data"
        return NearestLots(point=where, lots=[], located=False, message=message)
    rows = parking.nearest(lots, point, k, min_free).to_pylist()
    found_lots = [
        ParkingLot(
            lot_id=str(r["lot_id"]),
            name=r["name"],
            capacity=r["capacity"],
            free=r["free"],
            updated_at=None if r["updated_at"] is None else str(r["updated_at"]),
            distance_m=r["distance_m"],
        )
        for r in rows  # at most k (20)
    ]
    return NearestLots(point=where, lots=found_lots, located=True)
