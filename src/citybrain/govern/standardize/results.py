"""What standardisation did, per table and per source: counts that reconcile with the raw zone."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SourceCount:
    """One system's rows: every landed raw row is in std, or superseded by a later delivery."""

    system: str
    raw_rows: int
    superseded: int
    std_rows: int
    flagged: int

    @property
    def reconciled(self) -> bool:
        return self.raw_rows == self.std_rows + self.superseded


@dataclass(frozen=True)
class TableResult:
    table: str
    rows: int
    sources: tuple[SourceCount, ...]
    #: rows appended for new loads (see `citybrain.govern.standardize.append`); None: rebuilt
    appended: int | None = None

    @property
    def reconciled(self) -> bool:
        return all(s.reconciled for s in self.sources)


@dataclass
class StandardizeResult:
    """Every std table written in one run; renders as a table for the CLI."""

    tables: list[TableResult] = field(default_factory=list)

    columns = ("table", "source", "raw rows", "superseded", "std rows", "flagged", "reconciled")

    @property
    def reconciled(self) -> bool:
        return all(t.reconciled for t in self.tables)

    def rows(self) -> list[tuple[str, ...]]:
        return [
            (
                t.table,
                s.system,
                f"{s.raw_rows:,}",
                f"{s.superseded:,}",
                f"{s.std_rows:,}",
                f"{s.flagged:,}",
                "yes" if s.reconciled else "NO",
            )
            for t in self.tables
            for s in t.sources
        ]
