"""The model a kind's records allow: the configured one, less what the data cannot carry.

A comparison, blocking rule or training rule whose feature columns have no value in the records
(a district whose sources carry no phone numbers, a registry with names and addresses only) is
left out with a logged warning. What is left decides whether a model can be trained at all; if
not, `Plan.reason` says in one line what is missing and the kind is linked by exact identifiers
only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.logging import get_logger
from citybrain.govern.resolve import blocking
from citybrain.govern.resolve.comparisons import REQUIRES
from citybrain.govern.resolve.settings import FEATURES, ComparisonConfig, KindConfig

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
    expected = _expected_columns(kind, config)
    notes: list[str] = []
    quiet: list[str] = []

    def note(text: str, columns: Iterable[str]) -> None:
        # A warning when a source maps the field but no record has it; an unmapped field (the
        # defaults' passport column in a city without one) is only worth a debug line.
        (notes if any(c in expected for c in columns) else quiet).append(text)

    def keep(rules: tuple[tuple[str, ...], ...], what: str) -> tuple[tuple[str, ...], ...]:
        kept = []
        for rule in rules:
            missing = [c for c in rule if c not in present]
            if missing:
                note(
                    f"{kind}: {what} {blocking.describe(rule)} left out: "
                    f"no record has {', '.join(missing)}",
                    missing,
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
            note(
                f"{kind}: comparison {comparison.field} left out: no record has "
                f"{' or '.join(needs)}",
                needs,
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
    for text in notes:
        log.warning(text)
    for text in quiet:
        log.debug(text)
    return _with_reason(result, table.num_rows)


#: Fields a feature column can come from besides its own (a birth date from an ID number …).
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "dob": ("id_number",),
    "gender": ("id_number", "name"),
    "local_id": (),
}


def _expected_columns(kind: str, config: KindConfig) -> frozenset[str]:
    """Feature columns some configured source can fill (by the fields it maps)."""
    mapped = {str(f) for source in config.sources for f in source.fields}
    if mapped & {"family_name", "given_name"}:
        mapped.add("name")
    out = set()
    for source_field, columns in FEATURES[kind].items():
        for column in columns:
            if source_field in mapped or mapped & set(DERIVED_FROM.get(column, ())):
                out.add(column)
    return frozenset(out)


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
