"""Address match rates per source: how many rows reached which level of the address base."""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis

from citybrain.core.engine import Engine
from citybrain.core.stdmodel import STD_TABLES


@dataclass(frozen=True)
class MatchRate:
    table: str
    system: str
    rows: int
    with_address: int
    matched: int
    dwelling: int

    @property
    def match_rate(self) -> float:
        return self.matched / self.with_address if self.with_address else 0.0

    @property
    def dwelling_rate(self) -> float:
        return self.dwelling / self.with_address if self.with_address else 0.0


@dataclass
class MatchRateReport:
    """Renders as a table; the same rows for the CLI (`citybrain address report`) and the API."""

    rates: list[MatchRate] = field(default_factory=list)
    columns = ("table", "source", "rows", "with address", "matched", "match %", "dwelling %")

    def rows(self) -> list[tuple[str, ...]]:
        return [
            (
                r.table,
                r.system,
                f"{r.rows:,}",
                f"{r.with_address:,}",
                f"{r.matched:,}",
                f"{100 * r.match_rate:.1f}",
                f"{100 * r.dwelling_rate:.1f}",
            )
            for r in self.rates
        ]


def match_rates(engine: Engine) -> MatchRateReport:
    """Per std table with an address column and per source system."""
    report = MatchRateReport()
    for name, std in STD_TABLES.items():
        address = next((c.name for c in std.columns if c.role == "address"), None)
        if address is None or not engine.exists("std", name):
            continue
        t = engine.table("std", name)
        if "address_id" not in t.columns:
            continue
        stats = t.group_by("source_system").agg(
            rows=t.count(),
            with_address=t[address].notnull().sum(),
            matched=t["address_id"].notnull().sum(),
            dwelling=(t["address_level"] == ibis.literal("dwelling")).sum(),
        )
        for row in engine.to_arrow(stats.order_by("source_system")).to_pylist():
            report.rates.append(
                MatchRate(
                    name,
                    row["source_system"],
                    int(row["rows"]),
                    int(row["with_address"] or 0),
                    int(row["matched"] or 0),
                    int(row["dwelling"] or 0),
                )
            )
    return report
