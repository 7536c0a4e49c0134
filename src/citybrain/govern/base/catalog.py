"""Register the base tables in the catalog, with lineage from the std tables they come from.

The std tables a base table is built from are brought up to date too: their catalog schema is
the standard model's columns, to which standardisation adds the address-base match (standard
address id, level, confidence, grid, community, street) — those are listed from the written table
so the catalog shows which std tables carry a matched address.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import ibis.expr.types as ir

from citybrain.core.catalog import (
    Catalog,
    ColumnInfo,
    DatasetKey,
    DatasetNotFound,
    DatasetSpec,
    PiiField,
)
from citybrain.core.engine import Engine

DESCRIPTIONS: dict[str, str] = {
    "person": "人口库: one row per golden person, each field with the source row it came from",
    "person_link": "every person-bearing source record and its golden person id",
    "enterprise": "法人库: one row per golden enterprise, fields with their source rows",
    "enterprise_link": "every enterprise-bearing source record and its golden enterprise id",
    "dwelling": "地址库 (room level): standard addresses with the records linked to them",
    "dwelling_link": "source records linked to a dwelling",
    "vehicle": "vehicles by plate: permit holder and GPS activity",
}
#: Columns standardisation adds when it matches a free-text address to the address base.
ADDRESS_MATCH: dict[str, str] = {
    "address_id": "matched standard address id (标准地址编码)",
    "address_level": "level the address matched at (dwelling, building, estate …)",
    "address_confidence": "confidence of the address match, 0–1",
    "grid_id": "grid of the matched address (网格)",
    "community_id": "community of the matched address (社区)",
    "street_id": "street office of the matched address (街道)",
}
PII: dict[str, tuple[str, ...]] = {
    "person": ("name", "id_number", "phone", "address"),
    "person_link": ("name", "id_number", "phone", "address"),
}


def register_base(
    catalog: Catalog,
    engine: Engine,
    upstream: Mapping[str, Iterable[str]],
    *,
    std: Mapping[str, ir.Table] | None = None,
    run_id: str | None = None,
) -> None:
    """Register each written base table; ``upstream`` maps it to the tables it is built from.

    With ``std`` (the std tables read), each std upstream's matched address columns are listed.
    """
    for name in upstream:
        table = engine.table("base", name)
        columns = tuple(ColumnInfo(name=c, type=str(t)) for c, t in table.schema().items())
        pii = tuple(PiiField(name=c, sensitivity="high") for c in PII.get(name, ()))
        catalog.register_dataset(
            DatasetSpec(
                zone="base",
                name=name,
                path=str(engine.table_dir("base", name)),
                description=DESCRIPTIONS.get(name, ""),
                columns=columns,
                sensitivity="high" if pii else None,
                pii_fields=pii,
            )
        )
        rows = engine.count(table)
        catalog.record_stats(f"base/{name}", rows=rows, run_id=run_id)
    for name, sources in upstream.items():
        for source in sources:
            zone, _, table_name = source.rpartition("/")
            key = DatasetKey(zone or "std", table_name)
            try:
                catalog.get_dataset(key)
            except DatasetNotFound:  # the std stage registers its tables; until then, a stub
                catalog.register_dataset(DatasetSpec(zone=key.zone, name=key.name))
            catalog.add_lineage(key, f"base/{name}", kind="resolve", run_id=run_id)
    for name, table in (std or {}).items():
        list_address_columns(catalog, DatasetKey("std", name), table)


def list_address_columns(catalog: Catalog, key: DatasetKey, table: ir.Table) -> None:
    """Add the address-match columns ``table`` has to the catalog entry of ``key``, if any."""
    try:
        current = catalog.get_dataset(key)
    except DatasetNotFound:
        return
    schema = table.schema()
    known = {c.name for c in current.columns}
    added = tuple(
        ColumnInfo(name=c, type=str(schema[c]), description=text)
        for c, text in ADDRESS_MATCH.items()
        if c in schema and c not in known
    )
    if added:
        catalog.update_dataset(key, columns=(*current.columns, *added))
