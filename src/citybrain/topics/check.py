"""A topic's data contract against a city's catalog: ``citybrain topic check NAME``.

Before a city runs a topic taken over from another city (拿来主义), it asks whether its own data
meets the topic's declared inputs: which are present, which columns are missing or of another type
than the standard model says, how fresh and how complete they are, and what it still has to map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from citybrain.core.catalog import DatasetNotFound
from citybrain.core.stdmodel import STD_TABLES
from citybrain.topics.base import InputSpec, Topic

if TYPE_CHECKING:
    from citybrain.core.catalog import Catalog, Dataset
    from citybrain.core.engine import Engine


@dataclass(frozen=True)
class InputStatus:
    """One declared input of a topic, as the city's catalog (and lake) hold it."""

    spec: InputSpec
    present: bool
    missing_columns: tuple[str, ...] = ()
    #: (column, expected type, type the city has)
    wrong_types: tuple[tuple[str, str, str], ...] = ()
    freshness: str = "unknown"
    #: the smallest share of non-null values over the declared columns (None: not measured)
    completeness: float | None = None
    rows: int | None = None

    @property
    def met(self) -> bool:
        if not self.present:
            return self.spec.optional
        return not self.missing_columns and not self.wrong_types

    def to_map(self) -> str:
        """What the city still has to map for this input, in words ("" when nothing)."""
        if not self.present:
            columns = ", ".join(self.spec.columns) or "any columns"
            prefix = "optional: " if self.spec.optional else ""
            return f"{prefix}a source contract with standard: {self.spec.table} mapping {columns}"
        parts = [f"{self.spec.dataset}.{c}" for c in self.missing_columns]
        parts += [f"{self.spec.dataset}.{c} as {want}" for c, want, _ in self.wrong_types]
        return ("map " + ", ".join(parts)) if parts else ""


@dataclass(frozen=True)
class ContractCheck:
    topic: str
    inputs: tuple[InputStatus, ...]

    @property
    def passed(self) -> bool:
        return all(status.met for status in self.inputs)

    @property
    def unmet(self) -> tuple[InputStatus, ...]:
        return tuple(status for status in self.inputs if not status.met)

    def summary(self) -> str:
        """One line: met, or which inputs are unmet and why."""
        if self.passed:
            return f"topic {self.topic}: the data contract is met ({len(self.inputs)} inputs)"
        parts = []
        for status in self.unmet:
            if not status.present:
                parts.append(f"{status.spec.dataset} is missing")
                continue
            problems = [f"column {c} missing" for c in status.missing_columns]
            problems += [
                f"column {c} is {have}, not {want}" for c, want, have in status.wrong_types
            ]
            parts.append(f"{status.spec.dataset}: {', '.join(problems)}")
        return f"topic {self.topic}: the data contract is not met — " + "; ".join(parts)


def expected_type(spec: InputSpec, column: str) -> str | None:
    """The standard model's type of a declared column (None outside the std zone)."""
    if spec.zone != "std" or spec.table not in STD_TABLES:
        return None
    for std_column in STD_TABLES[spec.table].columns:
        if std_column.name == column:
            return std_column.type
    return None


def _completeness(engine: Engine, spec: InputSpec, columns: tuple[str, ...]) -> tuple[int, float]:
    """Rows and the smallest share of non-null values over ``columns``, in one aggregate."""
    table = engine.table(spec.zone, spec.table)
    columns = tuple(c for c in columns if c in table.columns)
    metrics = {"__rows": table.count()}
    metrics |= {f"c{i}": table[name].count() for i, name in enumerate(columns)}
    row = engine.to_arrow(table.aggregate(**metrics)).to_pylist()[0]
    rows = int(row["__rows"] or 0)
    if not rows or not columns:
        return rows, 1.0 if rows else 0.0
    return rows, min(int(row[f"c{i}"] or 0) for i in range(len(columns))) / rows


def _status(spec: InputSpec, dataset: Dataset, engine: Engine | None) -> InputStatus:
    have = {column.name: column.type for column in dataset.columns}
    missing = tuple(c for c in spec.columns if c not in have)
    wrong = []
    for column in spec.columns:
        want = expected_type(spec, column)
        if column in have and want is not None and have[column] != want:
            wrong.append((column, want, have[column]))
    rows = dataset.latest.rows if dataset.latest is not None else None
    completeness = None
    if engine is not None and engine.exists(spec.zone, spec.table):
        present_columns = tuple(c for c in spec.columns if c in have)
        rows, completeness = _completeness(engine, spec, present_columns)
    return InputStatus(
        spec,
        present=True,
        missing_columns=missing,
        wrong_types=tuple(wrong),
        freshness=dataset.freshness.status,
        completeness=completeness,
        rows=rows,
    )


def check_contract(topic: Topic, catalog: Catalog, engine: Engine | None = None) -> ContractCheck:
    """Every declared input of ``topic`` against ``catalog``; with ``engine``, completeness too."""
    statuses = []
    for spec in topic.inputs:
        try:
            dataset = catalog.get_dataset((spec.zone, spec.table))
        except DatasetNotFound:
            statuses.append(InputStatus(spec, present=False, missing_columns=spec.columns))
            continue
        statuses.append(_status(spec, dataset, engine))
    return ContractCheck(topic.name, tuple(statuses))
