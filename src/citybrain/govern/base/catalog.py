"""Register the base tables in the catalog, with lineage from the std tables they come from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
PII: dict[str, tuple[str, ...]] = {
    "person": ("name", "id_number", "phone", "address"),
    "person_link": ("name", "id_number", "phone", "address"),
}


def register_base(
    catalog: Catalog,
    engine: Engine,
    upstream: Mapping[str, Iterable[str]],
    *,
    run_id: str | None = None,
) -> None:
    """Register each written base table; ``upstream`` maps it to the tables it is built from."""
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
        rows = int(engine.to_arrow(table.count().as_table()).column(0)[0].as_py())
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
