"""A dwelling's months in raw figures beside its neighbours': the evidence a clerk reads on a case.

Water, electricity and gas as metered, and deliveries, for the dwelling and for similar dwellings in
the same building (same estate and building number, floor area within ``AREA_BAND`` of its own; the
whole building when fewer than ``MIN_PEERS`` are that close), whose monthly median is shown; and the
residence permits issued and cancelled at the dwelling each month. Everything is aggregated in the
engine (DuckDB over the lake); only the finished month rows come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

if TYPE_CHECKING:
    from citybrain.core.engine import Engine

AREA_BAND = (0.75, 1.33)  # a similar dwelling's floor area against this one's
MIN_PEERS = 3
MAX_MONTHS = 24  # the latest months shown
UTILITIES = ("water", "electricity", "gas")


@dataclass
class MonthlySeries:
    key: str  # water, electricity, gas, deliveries
    observed: list[float | None]
    peers: list[float | None]  # the similar dwellings' median


@dataclass
class DwellingMonths:
    periods: list[str] = field(default_factory=list)
    building: str | None = None  # "锦城小区3栋"
    peers: int = 0
    peers_by_area: bool = False  # true: peers are of similar floor area, not the whole building
    series: list[MonthlySeries] = field(default_factory=list)
    permits_issued: list[int] = field(default_factory=list)
    permits_cancelled: list[int] = field(default_factory=list)


def similar_dwellings(engine: Engine, dwelling_id: str) -> tuple[list[str], str | None, bool]:
    """``(peer ids, building words, by area)`` of the dwelling in the address register."""
    if not engine.exists("std", "standard_address"):
        return [], None, False
    address = engine.table("std", "standard_address")
    wanted = [c for c in ("estate_name", "building_no", "area_m2") if c in address.columns]
    if len(wanted) < 2:
        return [], None, False
    me = engine.to_arrow(
        address.filter(address.address_id == dwelling_id).select("address_id", *wanted).limit(1)
    ).to_pylist()
    if not me or me[0].get("estate_name") is None or me[0].get("building_no") is None:
        return [], None, False
    estate, number = me[0]["estate_name"], me[0]["building_no"]
    same = address.filter(
        (address.level == "dwelling")
        & (address.estate_name == estate)
        & (address.building_no.cast("string") == str(number))
        & (address.address_id != dwelling_id)
    )
    building = f"{estate}{number}栋"
    area = me[0].get("area_m2")
    if area is not None and "area_m2" in address.columns:
        low, high = float(area) * AREA_BAND[0], float(area) * AREA_BAND[1]
        close = same.filter(same.area_m2.cast("float64").between(low, high))
        ids = _ids(engine, close)
        if len(ids) >= MIN_PEERS:
            return ids, building, True
    return _ids(engine, same), building, False


def _ids(engine: Engine, table: ir.Table) -> list[str]:
    column = engine.to_arrow(table.select("address_id").distinct()).column(0)
    return sorted(str(v) for v in column.to_pylist())


def _monthly(
    table: ir.Table, dwelling_id: str, peers: list[str], value: ir.Value, by: list[Any]
) -> ir.Table:
    """Per month (and ``by``): the dwelling's total and the peers' median of their totals."""
    totals = table.group_by(["address_id", "period", *by]).aggregate(total=value)
    mine = totals.filter(totals.address_id == dwelling_id)
    mine = mine.group_by(["period", *by]).aggregate(observed=mine.total.sum())
    theirs = totals.filter(totals.address_id.isin(peers or ["\x00"]))
    theirs = theirs.group_by(["period", *by]).aggregate(peers=theirs.total.median())
    return mine.outer_join(theirs, ["period", *by]).select(
        period=ibis.coalesce(mine.period, theirs.period),
        **{b: ibis.coalesce(mine[b], theirs[b]) for b in by},
        observed=mine.observed,
        peers=theirs.peers,
    )


def dwelling_months(engine: Engine, dwelling_id: str) -> DwellingMonths:
    """The dwelling's metered use and deliveries against similar dwellings, and its permits."""
    peers, building, by_area = similar_dwellings(engine, dwelling_id)
    wanted = [dwelling_id, *peers]
    rows: list[dict[str, Any]] = []
    if engine.exists("std", "utility_reading"):
        r = engine.table("std", "utility_reading")
        r = r.filter(r.address_id.isin(wanted) & r.utility.isin(UTILITIES))
        got = _monthly(r, dwelling_id, peers, r.usage.cast("float64").sum(), ["utility"])
        rows += engine.to_arrow(got.rename(key="utility")).to_pylist()
    if engine.exists("std", "delivery"):
        d = engine.table("std", "delivery")
        d = d.filter(d.address_id.isin(wanted)).mutate(key=ibis.literal("deliveries"))
        got = _monthly(d, dwelling_id, peers, d["items"].cast("float64").sum(), ["key"])
        rows += engine.to_arrow(got).to_pylist()
    permits = _permit_months(engine, dwelling_id)
    periods = sorted({str(r["period"]) for r in rows} | set(permits))[-MAX_MONTHS:]
    at = {p: i for i, p in enumerate(periods)}
    series: dict[str, MonthlySeries] = {}
    for row in rows:
        i = at.get(str(row["period"]))
        if i is None:
            continue
        s = series.setdefault(
            row["key"], MonthlySeries(row["key"], [None] * len(periods), [None] * len(periods))
        )
        s.observed[i], s.peers[i] = row["observed"], row["peers"]
    order = [*UTILITIES, "deliveries"]
    return DwellingMonths(
        periods=periods,
        building=building,
        peers=len(peers),
        peers_by_area=by_area,
        series=sorted(series.values(), key=lambda s: order.index(s.key)),
        permits_issued=[permits.get(p, (0, 0))[0] for p in periods],
        permits_cancelled=[permits.get(p, (0, 0))[1] for p in periods],
    )


def _permit_months(engine: Engine, dwelling_id: str) -> dict[str, tuple[int, int]]:
    """``{YYYY-MM: (issued, cancelled)}`` of the residence permits at the dwelling."""
    if not engine.exists("std", "residence_permit"):
        return {}
    p = engine.table("std", "residence_permit")
    p = p.filter(p.address_id == dwelling_id)

    def month(column: ir.Value) -> ir.StringValue:
        return column.cast("timestamp").strftime("%Y-%m")

    issued = p.filter(p.issued_date.notnull()).select(
        period=month(p.issued_date), issued=ibis.literal(1), cancelled=ibis.literal(0)
    )
    gone = p.filter(p.cancelled_date.notnull()).select(
        period=month(p.cancelled_date), issued=ibis.literal(0), cancelled=ibis.literal(1)
    )
    events = issued.union(gone)
    counts = events.group_by("period").aggregate(
        issued=events.issued.sum(), cancelled=events.cancelled.sum()
    )
    return {
        str(r["period"]): (int(r["issued"]), int(r["cancelled"]))
        for r in engine.to_arrow(counts).to_pylist()
    }
