"""The model a kind's records allow: the configured one, less what the data cannot carry.

A comparison, blocking rule or training rule whose feature columns have no value in the records
(a district whose sources carry no phone numbers, a registry with names and addresses only) is
left out with a logged warning. What is left decides whether a model can be trained at all; if
not, `Plan.reason` says in one line what is missing and the kind is linked by exact identifiers
only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.logging import get_logger
from citybrain.govern.resolve import blocking
from citybrain.govern.resolve.comparisons import REQUIRES
from citybrain.govern.resolve.settings import ComparisonConfig, KindConfig

log = get_logger("citybrain.govern.resolve")
#: A model needs at least this many comparisons: one alone cannot weigh evidence against another.
MIN_COMPARISONS = 2


@dataclass(frozen=True)
class Plan:
    """What one kind's model is made of on these records; plain data, no engine."""

    kind: str
    config: KindConfig
    present: frozenset[str]
    comparisons: tuple[ComparisonConfig, ...]
    blocking: tuple[tuple[str, ...], ...]
    training: tuple[tuple[str, ...], ...]
    fallback_training: tuple[tuple[str, ...], ...]
    prior_rules: tuple[tuple[str, ...], ...]
    #: why no model can be trained (None: it can)
    reason: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def dataset(self) -> str | None:
        """The column that names a record's dataset in link-only mode."""
        return "source_dataset" if self.config.link_type == "link_only" else None


def present_columns(table: pa.Table) -> frozenset[str]:
    """Columns of ``table`` with at least one non-null, non-empty value."""
    out = set()
    for name in table.column_names:
        column = table[name]
        if column.null_count == len(column):
            continue
        if pa.types.is_string(column.type) and not pc.any(pc.not_equal(column, "")).as_py():
            continue
        out.add(name)
    return frozenset(out)


def plan(kind: str, config: KindConfig, table: pa.Table) -> Plan:
    """The plan for ``table`` (profiles with their feature columns)."""
    present = present_columns(table)
    notes: list[str] = []

    def keep(rules: tuple[tuple[str, ...], ...], what: str) -> tuple[tuple[str, ...], ...]:
        kept = []
        for rule in rules:
            missing = [c for c in rule if c not in present]
            if missing:
                notes.append(
                    f"{kind}: {what} {blocking.describe(rule)} left out: "
                    f"no record has {', '.join(missing)}"
                )
            else:
                kept.append(rule)
        return tuple(kept)

    comparisons = []
    for comparison in config.comparisons:
        needs = REQUIRES[kind].get(comparison.field, ())
        if any(c in present for c in needs):
            comparisons.append(comparison)
        elif needs:
            notes.append(
                f"{kind}: comparison {comparison.field} left out: no record has "
                f"{' or '.join(needs)}"
            )
    result = Plan(
        kind=kind,
        config=config,
        present=present,
        comparisons=tuple(comparisons),
        blocking=keep(config.blocking, "blocking rule"),
        training=keep(config.training, "training rule"),
        fallback_training=keep(config.fallback_training, "fallback training rule"),
        prior_rules=keep(config.prior_rules, "prior rule"),
        notes=tuple(notes),
    )
    for note in notes:
        log.warning(note)
    return _with_reason(result, table.num_rows)


def _with_reason(plan: Plan, rows: int) -> Plan:
    fields = ", ".join(c.field for c in plan.comparisons) or "none"
    reason = None
    if rows < plan.config.min_records:
        reason = f"{rows:,} distinct records, fewer than min_records ({plan.config.min_records})"
    elif len(plan.comparisons) < MIN_COMPARISONS:
        reason = (
            f"a model needs at least {MIN_COMPARISONS} fields to compare; the records carry "
            f"{fields}"
        )
    elif not plan.blocking:
        reason = "no blocking rule has its columns in the records"
    elif not plan.training and not plan.fallback_training:
        reason = "no training rule has its columns in the records"
    if reason is None:
        return plan
    return Plan(**{**plan.__dict__, "reason": reason})
