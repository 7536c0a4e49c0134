"""The truth tables that are not links: entities, group rental by month, and the outcomes each
topic is scored on (written after the systems, which add their own event truth as they go)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from citybrain.sim.economy import write_economy_truth
from citybrain.sim.people import CONFOUNDERS, SITUATIONS
from citybrain.sim.systems.base import SystemContext


def write_truth_tables(ctx: SystemContext) -> None:
    w = ctx.world
    t = ctx.truth
    t.write("persons", w.pop.persons)
    t.write("enterprises", w.ent.table)
    d = w.geo.dwellings
    t.write(
        "dwellings",
        d.append_column("address_id", ctx.parts.address_id)
        .append_column("situation", pa.array(np.array(SITUATIONS)[w.pop.situation]))
        .append_column("confounder", _confounder_names(w.pop.confounder))
        .append_column("meter_partner", pa.array(w.pop.meter_partner)),
    )
    res = np.flatnonzero(w.pop.situation != SITUATIONS.index("office"))
    conf = _confounder_names(w.pop.confounder[res])
    for m in range(w.months):
        n = res.size
        t.append(
            "group_rental",
            pa.table(
                {
                    "dwelling_id": res,
                    "address_id": ctx.parts.address_id.take(pa.array(res)),
                    "month": pa.repeat(pa.scalar(w.month_label(m)), n),
                    "group_rental": w.pop.group_rental[res, m],
                    "confounder": conf,
                    "occupants": w.pop.occupants[res, m],
                    "registered": w.pop.registered[res, m],
                }
            ),
        )
    e = w.ent.table
    ds = e["distress_start"].to_numpy()
    t.write(
        "enterprise_distress",
        pa.table(
            {
                "enterprise_id": e["enterprise_id"],
                "uscc": e["uscc"],
                "distress": ds >= 0,
                "start_month": pa.array(
                    [w.month_label(int(x)) if x >= 0 else None for x in ds], pa.string()
                ),
                "seasonal": e["seasonal"],
                "new_enterprise": e["established_month"].to_numpy() >= 0,
            }
        ),
    )
    write_economy_truth(ctx)


def _confounder_names(codes: np.ndarray) -> pa.Array:
    names = np.array((*CONFOUNDERS, ""))
    return (
        pa.array(names[np.where(codes < 0, len(CONFOUNDERS), codes)])
        .cast(pa.string())
        .to_pandas()
        .replace("", None)
        .pipe(pa.array, type=pa.string())
    )
