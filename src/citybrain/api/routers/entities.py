"""Entities: an enterprise's credit report with reasons, and a parking query.

Credit report (until the credit topic replaces it) — a documented score from what the std zone
holds, starting at 100:

=========================================  ===========================  =========
signal                                     rule                         points
=========================================  ===========================  =========
registration status (企业登记)              not 存续 / 在业 / 开业         −30
court dishonesty list (失信被执行人)         each listing, at most 2       −40 each
administrative penalties (行政处罚)          each, at most 3               −10 each
credit commitments (信用承诺)               each broken (未履约)            −15 each
                                           each kept (已履约), at most 2   +5 each
tax declarations (纳税申报)                 none in the latest 6 periods  −10
=========================================  ===========================  =========

Clamped to 0–100; grade A ≥ 90, B ≥ 75, C ≥ 60, D below. Every change of score is a reason in
zh-CN and en. The legal representative's name is personal and always masked here.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field, StringConstraints

from citybrain.api.deps import Principal, require
from citybrain.api.routers.topics import Lake, LakeDep
from citybrain.api.security.masking import PiiKind, mask_value
from citybrain.api.security.roles import Permission

router = APIRouter(tags=["entities"])

# GB 32100: 18 characters of digits and upper-case letters (I, O, S, V, Z excluded).
Uscc = Annotated[str, StringConstraints(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")]
ACTIVE_STATUSES = ("存续", "在业", "开业", "active")
BROKEN, KEPT = "未履约", "已履约"
GRADES = ((90, "A"), (75, "B"), (60, "C"), (0, "D"))


class CreditReason(BaseModel):
    signal: str
    points: int
    text_zh: str
    text_en: str


class CreditReport(BaseModel):
    uscc: str
    name: str | None
    status: str | None
    legal_rep_name: str | None = Field(description="masked")
    industry_code: str | None
    score: int
    grade: str
    reasons: list[CreditReason]
    method: str = "citybrain simple credit score v1 (see the API documentation)"


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


def _rows(lake: Lake, table: str, column: str, value: str) -> pa.Table | None:
    """Rows of ``std.<table>`` whose ``column`` equals ``value``, filtered in the engine."""
    if not lake.exists("std", table):
        return None
    with lake.engine() as engine:
        expr = engine.table("std", table)
        if column not in expr.columns:
            return None
        return engine.to_arrow(expr.filter(expr[column] == ibis.literal(value)))


def _count(table: pa.Table | None, column: str | None = None, value: str | None = None) -> int:
    if table is None or table.num_rows == 0:
        return 0
    if column is None or column not in table.column_names:
        return int(table.num_rows)
    return int(pc.sum(pc.fill_null(pc.equal(table[column], value), False)).as_py() or 0)


def credit_report(lake: Lake, uscc: str) -> CreditReport | None:
    registration = _rows(lake, "enterprise_registration", "uscc", uscc)
    penalties = _rows(lake, "penalty", "uscc", uscc)
    dishonest = _rows(lake, "dishonest_judgment", "identifier", uscc)
    commitments = _rows(lake, "commitment", "uscc", uscc)
    taxes = _rows(lake, "tax_declaration", "uscc", uscc)
    if not any(t is not None and t.num_rows for t in (registration, penalties, taxes)):
        return None
    first: dict[str, Any] = (
        registration.slice(0, 1).to_pylist()[0] if registration and registration.num_rows else {}
    )
    reasons: list[CreditReason] = []
    status = first.get("status")
    if registration is not None and registration.num_rows and status not in ACTIVE_STATUSES:
        reasons.append(
            CreditReason(
                signal="registration_status",
                points=-30,
                text_zh=f"登记状态为{status}",
                text_en=f"registered as {status}",
            )
        )
    listed = min(_count(dishonest), 2)
    if listed:
        reasons.append(
            CreditReason(
                signal="dishonest_judgment",
                points=-40 * listed,
                text_zh=f"列入失信被执行人名单{_count(dishonest)}次",
                text_en=f"on the court dishonesty list {_count(dishonest)} time(s)",
            )
        )
    fined = _count(penalties)
    if fined:
        reasons.append(
            CreditReason(
                signal="penalty",
                points=-10 * min(fined, 3),
                text_zh=f"受到行政处罚{fined}次",
                text_en=f"{fined} administrative penalt{'y' if fined == 1 else 'ies'}",
            )
        )
    broken = _count(commitments, "check_result", BROKEN)
    if broken:
        reasons.append(
            CreditReason(
                signal="commitment_broken",
                points=-15 * broken,
                text_zh=f"{broken}项信用承诺未履约",
                text_en=f"{broken} credit commitment(s) broken",
            )
        )
    kept = min(_count(commitments, "check_result", KEPT), 2)
    if kept:
        reasons.append(
            CreditReason(
                signal="commitment_kept",
                points=5 * kept,
                text_zh=f"{kept}项信用承诺经核查已履约",
                text_en=f"{kept} credit commitment(s) checked and kept",
            )
        )
    if not _recent_tax(lake, taxes):
        reasons.append(
            CreditReason(
                signal="tax_declaration",
                points=-10,
                text_zh="最近6个申报期无纳税申报",
                text_en="no tax declared in the latest 6 periods",
            )
        )
    score = max(0, min(100, 100 + sum(r.points for r in reasons)))
    grade = next(letter for floor, letter in GRADES if score >= floor)
    rep = first.get("legal_rep_name")
    return CreditReport(
        uscc=uscc, name=first.get("name"), status=status,
        legal_rep_name=mask_value(rep, PiiKind.NAME) if rep else None,
        industry_code=first.get("industry_code"), score=score, grade=grade, reasons=reasons,
    )  # fmt: skip


def _recent_tax(lake: Lake, taxes: pa.Table | None) -> bool:
    """Declared in any of the latest 6 periods the tax system delivered (for anyone)."""
    if taxes is None or taxes.num_rows == 0 or "period" not in taxes.column_names:
        return False
    with lake.engine() as engine:
        all_taxes = engine.table("std", "tax_declaration")
        periods = engine.to_arrow(
            all_taxes.select("period").distinct().order_by(ibis.desc("period")).limit(6)
        )["period"]
    return bool(pc.any(pc.is_in(taxes["period"], value_set=periods.combine_chunks())).as_py())


@router.get(
    "/enterprises/{uscc}/credit-report",
    responses={404: {"description": "no records of this enterprise"}},
)
def enterprise_credit_report(
    uscc: Uscc,
    _: Annotated[Principal, Depends(require(Permission.CREDIT_READ))],
    lake: LakeDep,
) -> CreditReport:
    """An enterprise's credit score with the reasons behind it, in zh-CN and en."""
    report = credit_report(lake, uscc)
    if report is None:
        raise HTTPException(404, detail=f"no registration, penalty or tax record for {uscc}")
    return report


def _haversine_m(lon: pa.Array, lat: pa.Array, lon0: float, lat0: float) -> pa.Array:
    rad = 3.141592653589793 / 180
    dlat = pc.multiply(pc.subtract(lat, lat0), rad)
    dlon = pc.multiply(pc.subtract(lon, lon0), rad)
    a = pc.add(
        pc.power(pc.sin(pc.divide(dlat, 2)), 2),
        pc.multiply(
            pc.multiply(pc.cos(pc.multiply(lat, rad)), math.cos(lat0 * rad)),
            pc.power(pc.sin(pc.divide(dlon, 2)), 2),
        ),
    )
    return pc.multiply(pc.asin(pc.sqrt(a)), 2 * 6_371_000.0)


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
        distance = _haversine_m(table["lon"], table["lat"], lon, lat)
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
