"""base.dwelling (地址库, room level) from the standard address base, and the records at each.

A dwelling's golden id is its standard address id with a ``D`` prefix — the address base is the
authority, so the id is stable by construction. Person and enterprise records are linked to a
dwelling when their parsed address names the same place (estate, or road and number) and the
same building-unit-room; both spellings of a place are tried.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from citybrain.core.engine import Engine, TableInfo
from citybrain.govern.resolve import GOLDEN_COLUMN, link_table

GOLDEN = "golden_dwelling_id"


def dwellings(standard_address: ir.Table) -> ir.Table:
    """Room-level standard addresses as golden dwellings with their match keys."""
    sa = standard_address.filter(standard_address.level == "dwelling")
    room = sa.building_no.concat("-", sa.unit_no, "-", sa.room_no)
    return sa.select(
        ibis.literal("D").concat(sa.address_id).name(GOLDEN),
        sa.address_id,
        sa.full_address,
        sa.estate_name,
        sa.road_name,
        sa.road_no,
        sa.building_no,
        sa.unit_no,
        sa.floor_no,
        sa.room_no,
        sa.grid_code,
        sa.lon,
        sa.lat,
        sa.area_m2,
        sa.use,
        room.name("_room"),
        sa.estate_name.name("_estate"),
        sa.road_name.concat("#", sa.road_no).name("_road_key"),
    )


def dwelling_links(engine: Engine, base: ir.Table) -> ir.Table:
    """(golden_dwelling_id, record lineage, golden person / enterprise id) per linked record."""
    parts = []
    for kind in ("person", "enterprise"):
        if not engine.exists("base", link_table(kind)):
            continue
        links = engine.table("base", link_table(kind))
        links = links.filter(links.addr_room.notnull() & links.addr_place.notnull())
        for key in ("_estate", "_road_key"):
            joined = links.join(
                base, (links.addr_place == base[key]) & (links.addr_room == base._room)
            )
            parts.append(
                joined.select(
                    joined[GOLDEN],
                    ibis.literal(kind).name("kind"),
                    joined.record_id,
                    joined.source_system,
                    joined.source_key,
                    joined.source_row,
                    joined[GOLDEN_COLUMN[kind]].name("golden_entity_id"),
                )
            )
    if not parts:  # no person or enterprise was resolved: a dwelling base with no records
        none = ibis.null(str)
        return base.select(
            base[GOLDEN], kind=none, record_id=none, source_system=none, source_key=none,
            source_row=none, golden_entity_id=none,
        ).filter(ibis.literal(False))  # fmt: skip
    return ibis.union(*parts, distinct=True)


def build_dwelling_base(engine: Engine, standard_address: ir.Table) -> tuple[TableInfo, TableInfo]:
    """Write ``base.dwelling`` and ``base.dwelling_link``."""
    base = dwellings(standard_address)
    links = dwelling_links(engine, base)
    link_info = engine.write(links, "base", "dwelling_link")
    written = engine.table("base", "dwelling_link")
    counts = written.group_by(GOLDEN).agg(
        linked_records=written.count(),
        linked_persons=written.golden_entity_id.nunique(where=written.kind == "person"),
    )
    out = base.left_join(counts, GOLDEN).drop(f"{GOLDEN}_right", "_room", "_estate", "_road_key")
    out = out.mutate(
        linked_records=out.linked_records.fill_null(0),
        linked_persons=out.linked_persons.fill_null(0),
    )
    return engine.write(out.order_by(GOLDEN), "base", "dwelling"), link_info
