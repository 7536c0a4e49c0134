"""交通 铁路/航班到达 — arrivals of travellers into the zone, served as a paged JSON HTTP API
(`citybrain sim serve`); the rows the server pages through sit in ``data/*.parquet``."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim import dirt
from citybrain.sim.epidemic import Epidemic, build_epidemic
from citybrain.sim.formats import write_connection_file, write_parquet
from citybrain.sim.ids import concat, padded
from citybrain.sim.systems.base import SystemContext, dirty

SYSTEM = "transport_arrivals"


def shared_epidemic(ctx: SystemContext) -> Epidemic:
    epi: Epidemic = ctx.shared("epidemic", lambda: build_epidemic(ctx.world))
    return epi


def build(ctx: SystemContext) -> None:
    w = ctx.world
    a = shared_epidemic(ctx).arrivals
    rng = ctx.rng(SYSTEM)
    p = w.pop.persons
    person = a["person_id"].to_numpy()
    idx = pa.array(person)
    when = w.month_starts[0].astype("datetime64[s]") + (
        a["day"].to_numpy() * 86400 + a["minute"].to_numpy() * 60
    ).astype("timedelta64[s]")
    rail = a["rail"].to_numpy(zero_copy_only=False)
    t = pa.table(
        {
            "recordId": concat("ARR", padded(a["arrival_id"].to_numpy(), 10)),
            "travellerName": p["name"].combine_chunks().take(idx),
            "idNo": p["id_number"].combine_chunks().take(idx),
            "mobile": p["phone"].combine_chunks().take(idx),
            # the repeating texts stay dictionary-coded until each month is written: the whole
            # period's table is held (and shuffled) at once, millions of rows at city size
            "mode": pc.if_else(pa.array(rail), "RAIL", "FLIGHT").dictionary_encode(),
            "tripNo": pc.dictionary_encode(a["trip"]),
            "seat": pc.dictionary_encode(a["seat"]),
            "fromCity": pc.dictionary_encode(a["origin"]),
            "arrivalStation": pc.dictionary_encode(a["station"]),
            "arrivalTime": pc.strftime(pa.array(when), format="%Y-%m-%dT%H:%M:%S+08:00"),
        }
    )
    key = "recordId"
    t = dirty(ctx, SYSTEM, "arrivals", t, key, "idNo", dirt.nulls, rng, 0.04, "missing_value")
    t = dirty(
        ctx, SYSTEM, "arrivals", t, key, "travellerName", dirt.name_typos, rng, 0.01, "name_typo"
    )
    ctx.truth.link("person", SYSTEM, "arrivals", key, t[key], person)
    # the platform pushes records as they come in, a few out of order
    moved = dirt.shuffle_rows(t, rng, 0.02, window=200)
    ctx.truth.dirt(SYSTEM, "arrivals", key, moved.table[key], moved.touched, "*", "out_of_order")
    t = moved.table
    when = when[moved.source_row]
    folder = ctx.dir(SYSTEM)
    month = (when.astype("datetime64[M]") - w.month_starts[0].astype("datetime64[M]")).astype(
        np.int64
    )
    for m in range(w.months):
        sub = _decoded(t.filter(pa.array(month == m)))
        ctx.count(
            SYSTEM, write_parquet(folder / "data" / f"arrivals_{w.month_label(m)}.parquet", sub)
        )
    write_connection_file(
        folder,
        "http",
        resource=f"/api/{SYSTEM}",
        page_size=500,
        auth="X-API-Key",
        api_key="sim-transport-key",
    )


def _decoded(table: pa.Table) -> pa.Table:
    """Dictionary-coded columns back to plain text (the platform's files carry plain text)."""
    for i, f in enumerate(table.schema):
        if pa.types.is_dictionary(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(f.type.value_type))
    return table
