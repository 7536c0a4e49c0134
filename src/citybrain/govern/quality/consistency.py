"""Consistency across sources: the same person or enterprise, joined on a valid identifier,
should carry the same name (and birth date) in every system. The reference is the registry."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import ibis.expr.types as ir

from citybrain.core.engine import Engine
from citybrain.core.stdmodel import FLAGS_COLUMN
from citybrain.govern.quality.model import Consistency
from citybrain.govern.quality.stored import MeasureStore, basis


@dataclass(frozen=True)
class Rule:
    reference: str  # the authoritative std table
    key: str  # identifier column, the same name in both tables
    field: str  # compared column, the same name in both tables
    others: tuple[str, ...]  # "table" (same field name) or "table.field"


RULES = (
    Rule("person_registration", "id_number", "name",
         ("residence_permit", "arrival", "test_record")),
    Rule("enterprise_registration", "uscc", "name",
         ("tax_declaration", "social_security", "penalty", "commitment",
          "transport_permit.company")),
)  # fmt: skip


def _valid(table: ir.Table, key: str) -> ir.Table:
    """Rows whose key is present and not flagged invalid."""
    flags = table[FLAGS_COLUMN]
    bad = flags.contains(f"{key}:bad_check_digit") | flags.contains(f"{key}:bad_format")
    bad = bad | flags.contains(f"{key}:bad_region") | flags.contains(f"{key}:bad_birth_date")
    return table.filter(table[key].notnull() & ~bad)


def consistency(engine: Engine, stored: MeasureStore | None = None) -> dict[str, list[Consistency]]:
    """System → its consistency checks against the references that exist. With ``stored``, a
    check whose two tables are unchanged since it was kept is not run again."""
    stored = stored if stored is not None else MeasureStore()
    out: dict[str, list[Consistency]] = {}
    for rule in RULES:
        if not engine.exists("std", rule.reference):
            continue
        for other in rule.others:
            name, _, field = other.partition(".")
            field = field or rule.field
            if not engine.exists("std", name):
                continue
            label = f"{rule.field} by {rule.key} vs {rule.reference}"
            inputs = _inputs(stored, engine, rule, name, field)
            rows = stored.remember(
                f"consistency:{rule.reference}.{rule.field}:{name}.{field}",
                inputs,
                partial(_compare, engine, rule, name, field),
            )
            for system, compared, agreeing in rows:
                out.setdefault(system, []).append(Consistency(label, compared, agreeing))
    return out


def _inputs(stored: MeasureStore, engine: Engine, rule: Rule, name: str, field: str) -> str:
    """What a check's figures depend on: its rule and the parts of its two tables."""
    prints = [stored.listing(engine, t).print for t in (rule.reference, name)]
    return basis(repr(rule), field, prints)


def _compare(engine: Engine, rule: Rule, name: str, field: str) -> list[tuple[str, int, int]]:
    """Per system of table ``name``: rows compared with the reference, and those agreeing."""
    ref = _valid(engine.table("std", rule.reference), rule.key)
    ref = ref.group_by(_k=ref[rule.key]).agg(_ref=ref[rule.field].min())
    rows = _valid(engine.table("std", name), rule.key)
    joined = rows.inner_join(ref, rows[rule.key] == ref["_k"])
    joined = joined.filter(joined[field].notnull() & joined["_ref"].notnull())
    stats = joined.group_by("source_system").agg(
        compared=joined.count(), agreeing=(joined[field] == joined["_ref"]).sum()
    )
    return [
        (row["source_system"], int(row["compared"]), int(row["agreeing"] or 0))
        for row in engine.to_arrow(stats).to_pylist()
    ]
