"""Entity 360: for one golden person, enterprise or dwelling, every linked source record.

The function the API exposes. It reads the base zone only: the golden row (with each field's
winning source) and the link table's records, grouped by source system. Given the std tables, it
returns each source record's full std row instead of the linkage view of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.engine import Engine
from citybrain.core.errors import UserError

EntityKind = Literal["person", "enterprise", "dwelling"]
#: the base zone's column holding each kind's golden id, and each kind's link table
GOLDEN_ID_COLUMN: dict[str, str] = {
    "person": "golden_person_id",
    "enterprise": "golden_enterprise_id",
    "dwelling": "golden_dwelling_id",
}
LINK_TABLE: dict[str, str] = {
    "person": "person_link",
    "enterprise": "enterprise_link",
    "dwelling": "dwelling_link",
}


@dataclass
class Entity360:
    kind: EntityKind
    golden_id: str
    golden: dict[str, Any]
    records: dict[str, pa.Table] = field(default_factory=dict)

    @property
    def record_count(self) -> int:
        return sum(t.num_rows for t in self.records.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "golden_id": self.golden_id,
            "golden": self.golden,
            "records": {system: t.to_pylist() for system, t in self.records.items()},
        }


def entity_360(
    engine: Engine,
    kind: EntityKind,
    golden_id: str,
    *,
    std: Mapping[str, ir.Table] | None = None,
) -> Entity360:
    """The golden record of ``golden_id`` and its linked source records by system."""
    if kind not in GOLDEN_ID_COLUMN:
        raise ValueError(f"kind must be person, enterprise or dwelling, not {kind!r}")
    column = GOLDEN_ID_COLUMN[kind]
    golden_table = engine.table("base", kind)
    rows = engine.to_arrow(golden_table.filter(golden_table[column] == golden_id)).to_pylist()
    if not rows:
        raise UserError(f"no {kind} with golden id {golden_id!r} in base.{kind}")
    links = engine.table("base", LINK_TABLE[kind])
    linked = engine.to_arrow(links.filter(links[column] == golden_id).order_by("record_id"))
    result = Entity360(kind, golden_id, rows[0])
    for system in sorted(set(linked["source_system"].to_pylist())):
        part = linked.filter(pc.equal(linked["source_system"], system))
        if std is not None and "source_table" in part.column_names:
            full = _std_rows(engine, std, part)
            if full is not None:
                part = full
        result.records[system] = part
    return result


def _std_rows(engine: Engine, std: Mapping[str, ir.Table], part: pa.Table) -> pa.Table | None:
    tables = set(part["source_table"].to_pylist())
    if len(tables) != 1 or (name := tables.pop()) not in std:
        return None
    table = std[name]
    wanted = part["source_row"].to_pylist()
    system = part["source_system"][0].as_py()
    rows = table.filter((table.source_system == system) & table.source_row.isin(wanted))
    return engine.to_arrow(rows.order_by("source_row"))
