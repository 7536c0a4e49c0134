"""Field-level survivorship: each golden field takes the value of the most trusted source.

For every field the candidates are the entity's linked records with a value; the winner is the
record of the best-ranked source system (a configurable ranking, lower is more trusted); among
systems of equal rank, the first by name; within that system, the most recent load, then the least
record id. Recency is compared within a system only: load ids of two systems loaded in the same
second order by chance, and a golden field must not change between two runs over the same data.
The winner's ``source_system`` and ``source_row`` are kept beside the value, so every golden field
has its lineage. One Ibis expression per field, run on the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

UNRANKED = 999


@dataclass(frozen=True)
class SurvivorshipRules:
    """golden field -> link column, and source systems in order of trust (per field or for all)."""

    fields: Mapping[str, str]
    source_rank: tuple[str, ...]
    field_rank: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    recency_column: str = "load_id"

    def rank_for(self, golden_field: str) -> tuple[str, ...]:
        return self.field_rank.get(golden_field, self.source_rank)


def _rank(systems: ir.StringColumn, order: tuple[str, ...]) -> ir.IntegerValue:
    mapping = {system: i for i, system in enumerate(order)}
    return systems.substitute(mapping, else_=UNRANKED).cast("int64")


def survive(links: ir.Table, golden_column: str, rules: SurvivorshipRules) -> ir.Table:
    """One row per golden id: each field's surviving value, source system and source row."""
    result = links.select(golden_column).distinct()
    for name, column in rules.fields.items():
        candidates = links.filter(links[column].notnull())
        candidates = candidates.mutate(_rank=_rank(candidates.source_system, rules.rank_for(name)))
        window = ibis.window(
            group_by=candidates[golden_column],
            order_by=[
                candidates._rank,
                candidates.source_system,
                ibis.desc(candidates[rules.recency_column]),
                candidates.record_id,
            ],
        )
        ranked = candidates.mutate(_n=ibis.row_number().over(window))
        best = ranked.filter(ranked._n == 0).select(
            ranked[golden_column],
            ranked[column].name(name),
            ranked.source_system.name(f"{name}__source_system"),
            ranked.source_row.name(f"{name}__source_row"),
        )
        result = result.left_join(best, golden_column).drop(f"{golden_column}_right")
    counts = links.group_by(golden_column).agg(
        records=links.count(), systems=links.source_system.nunique()
    )
    return result.join(counts, golden_column).order_by(golden_column)
