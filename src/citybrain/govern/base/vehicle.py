"""base.vehicle: one golden vehicle per normalised plate, from permits and GPS pings.

A plate is a natural key, so the golden id is the normalised plate with a ``V`` prefix; a row
with no plate but a VIN (vehicle identification number, a ``vin`` column where a system has one)
takes the plate that VIN carries elsewhere, or is keyed by its VIN (``VVIN…``). Never one row per
ping: pings are grouped by vehicle first. The operating company and permit come from the latest
transport permit; the GPS gives first and last seen and the number of pings.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from citybrain.core.engine import Engine, TableInfo

GOLDEN = "golden_vehicle_id"


@dataclass(frozen=True)
class VehicleBase:
    """The written table and the source rows it was built from."""

    info: TableInfo
    source_records: int


def normalise_plate(plate: ir.StringValue) -> ir.StringValue:
    """Upper case, no spaces, dots or dashes: ``川A·12345`` and ``川a 12345`` agree."""
    return plate.upper().re_replace(r"[\s·•.\-]", "")


def normalise_vin(vin: ir.StringValue) -> ir.StringValue:
    """Upper case letters and digits only (a VIN never holds I, O or Q, so none are mapped)."""
    return vin.upper().re_replace(r"[^0-9A-Z]", "")


def _keyed(table: ir.Table) -> ir.Table:
    """``table`` with ``_plate`` and ``_vin`` (null where absent or empty)."""
    plate = normalise_plate(table.plate.cast(str)) if "plate" in table.columns else None
    vin = normalise_vin(table.vin.cast(str)) if "vin" in table.columns else None
    null = ibis.null(str)
    return table.mutate(
        _plate=ibis.ifelse(plate == "", null, plate) if plate is not None else null,
        _vin=ibis.ifelse(vin == "", null, vin) if vin is not None else null,
    )


def _with_vehicle_key(table: ir.Table, vin_plates: ir.Table | None) -> ir.Table:
    """``_key``: the plate; for a row with only a VIN, the plate that VIN has elsewhere, or
    ``VIN`` + the VIN."""
    if vin_plates is None:
        return table.mutate(_key=table._plate)
    joined = table.left_join(vin_plates, table._vin == vin_plates._vin_known)
    key = ibis.coalesce(joined._plate, joined._vin_plate, ibis.literal("VIN").concat(joined._vin))
    return joined.mutate(_key=key).drop("_vin_known", "_vin_plate")


def build_vehicle_base(
    engine: Engine, permits: ir.Table | None, pings: ir.Table | None
) -> VehicleBase:
    """Write ``base.vehicle`` (either input may be missing)."""
    sides = [_keyed(t) for t in (permits, pings) if t is not None]
    if not sides:
        raise ValueError("base.vehicle needs transport permits or vehicle pings")
    both = ibis.union(*[s.select("_plate", "_vin") for s in sides], distinct=False)
    vin_plates: ir.Table | None = None
    if any("vin" in s.columns for s in (permits, pings) if s is not None):
        known = both.filter(both._plate.notnull() & both._vin.notnull())
        vin_plates = known.group_by(_vin_known=known._vin).agg(_vin_plate=known._plate.min())
    keyed = [_with_vehicle_key(s, vin_plates) for s in sides]
    # One row per vehicle: distinct keys over both sides (a union of one table is that table).
    plates = (
        ibis.union(*[k.select(plate=k._key) for k in keyed], distinct=False)
        .filter(lambda t: t.plate.notnull() & (t.plate != ""))
        .distinct()
    )
    out = plates.mutate(**{GOLDEN: ibis.literal("V").concat(plates.plate)})
    permit_side = keyed[0] if permits is not None else None
    ping_side = keyed[-1] if pings is not None else None
    if permit_side is not None:
        p = permit_side
        window = ibis.window(group_by=p._key, order_by=[ibis.desc(p.valid_from), p.source_row])
        p = p.mutate(_n=ibis.row_number().over(window))
        latest = p.filter(p._n == 0).select(
            plate=p._key,
            company=p.company,
            company_uscc=p.uscc,
            permit_no=p.permit_no,
            permit__source_system=p.source_system,
            permit__source_row=p.source_row,
        )
        out = out.left_join(latest, "plate").drop("plate_right")
    if ping_side is not None:
        g = ping_side
        seen = g.group_by(plate=g._key).agg(
            pings=g.count(), first_seen=g.ts.cast(str).min(), last_seen=g.ts.cast(str).max()
        )
        out = out.left_join(seen, "plate").drop("plate_right")
        out = out.mutate(pings=out.pings.fill_null(0))
    info = engine.write(out.order_by(GOLDEN), "base", "vehicle")
    return VehicleBase(info, _rows(engine, [t for t in (permits, pings) if t is not None]))


def _rows(engine: Engine, tables: list[ir.Table]) -> int:
    total = 0
    for table in tables:
        total += engine.count(table)
    return total
