"""base.vehicle: one golden vehicle per normalised plate, from permits and GPS pings.

A plate is a natural key, so the golden id is the normalised plate with a ``V`` prefix. The
operating company and permit come from the latest transport permit; the GPS gives first and last
seen and the number of pings.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from citybrain.core.engine import Engine, TableInfo

GOLDEN = "golden_vehicle_id"


def normalise_plate(plate: ir.StringValue) -> ir.StringValue:
    """Upper case, no spaces, dots or dashes: ``川A·12345`` and ``川a 12345`` agree."""
    return plate.upper().re_replace(r"[\s·•.\-]", "")


def build_vehicle_base(
    engine: Engine, permits: ir.Table | None, pings: ir.Table | None
) -> TableInfo:
    """Write ``base.vehicle`` (either input may be missing)."""
    sides = []
    if permits is not None:
        sides.append(permits.select(plate=normalise_plate(permits.plate.cast(str))))
    if pings is not None:
        sides.append(pings.select(plate=normalise_plate(pings.plate.cast(str))))
    if not sides:
        raise ValueError("base.vehicle needs transport permits or vehicle pings")
    plates = ibis.union(*sides, distinct=True).filter(lambda t: t.plate.notnull() & (t.plate != ""))
    out = plates.mutate(**{GOLDEN: ibis.literal("V").concat(plates.plate)})
    if permits is not None:
        p = permits.mutate(_plate=normalise_plate(permits.plate.cast(str)))
        window = ibis.window(group_by=p._plate, order_by=[ibis.desc(p.valid_from), p.source_row])
        p = p.mutate(_n=ibis.row_number().over(window))
        latest = p.filter(p._n == 0).select(
            plate=p._plate,
            company=p.company,
            company_uscc=p.uscc,
            permit_no=p.permit_no,
            permit__source_system=p.source_system,
            permit__source_row=p.source_row,
        )
        out = out.left_join(latest, "plate").drop("plate_right")
    if pings is not None:
        g = pings.mutate(_plate=normalise_plate(pings.plate.cast(str)))
        seen = g.group_by(plate=g._plate).agg(
            pings=g.count(), first_seen=g.ts.cast(str).min(), last_seen=g.ts.cast(str).max()
        )
        out = out.left_join(seen, "plate").drop("plate_right")
        out = out.mutate(pings=out.pings.fill_null(0))
    return engine.write(out.order_by(GOLDEN), "base", "vehicle")
