"""Quality results per field and per source, alerts, the whole report: values, not exceptions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# Documented weights of the source score (0–100); a dimension that does not apply to a source
# (no natural key, no other source to compare with, no schedule) is left out and the others
# re-weighted.
WEIGHTS: dict[str, float] = {
    "completeness": 0.25,
    "validity": 0.35,
    "uniqueness": 0.15,
    "consistency": 0.15,
    "timeliness": 0.10,
}
DIMENSION_ZH = {
    "completeness": "完整性",
    "validity": "有效性",
    "uniqueness": "唯一性",
    "consistency": "一致性",
    "timeliness": "及时性",
}


@dataclass(frozen=True)
class FieldQuality:
    column: str
    rows: int
    filled: int
    invalid: int
    # False when nothing could check the values (addresses with no address base loaded): their
    # validity is "not checked" (None in `to_dict`), left out of the validity dimension.
    checked: bool = True

    @property
    def completeness(self) -> float:
        return self.filled / self.rows if self.rows else 1.0

    @property
    def validity(self) -> float:
        return 1.0 - min(self.invalid, self.filled) / self.filled if self.filled else 1.0


@dataclass(frozen=True)
class Consistency:
    """Rows of a source that share a key with the reference source, and how many agree."""

    check: str  # e.g. "name by id_number vs person_registration"
    compared: int
    agreeing: int

    @property
    def rate(self) -> float:
        return self.agreeing / self.compared if self.compared else 1.0


@dataclass(frozen=True)
class LoadScore:
    load_id: str
    rows: int
    score: float


@dataclass(frozen=True)
class Alert:
    system: str
    owner: str
    level: Literal["warning", "critical"]
    dimension: str
    value: float
    threshold: float
    zh: str
    en: str


@dataclass
class SourceQuality:
    system: str
    table: str
    owner: str
    rows: int
    fields: list[FieldQuality] = field(default_factory=list)
    duplicates: int | None = None  # None: the source declares no natural key
    consistency: list[Consistency] = field(default_factory=list)
    timeliness: float | None = None
    trend: list[LoadScore] = field(default_factory=list)
    dimensions: dict[str, float] = field(default_factory=dict)
    score: float = 100.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fields"] = [
            {
                **asdict(f),
                "completeness": f.completeness,
                "validity": f.validity if f.checked else None,
            }
            for f in self.fields
        ]
        return data


@dataclass
class QualityReport:
    """Every source's quality; renders as tables and serialises to JSON for the API."""

    sources: list[SourceQuality] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    # How each table's (check's, stream's) figures were come by — "reused" from an earlier
    # assessment, read in a table's "new parts" only, or "scanned": how, not what; not rendered.
    measured: dict[str, str] = field(default_factory=dict)
    columns = ("source", "table", "owner", "rows", "score", *WEIGHTS, "trend")

    def source(self, system: str) -> SourceQuality:
        for source in self.sources:
            if source.system == system:
                return source
        raise KeyError(f"no quality result for source {system!r}")

    def rows(self) -> list[tuple[str, ...]]:
        def pct(value: float | None) -> str:
            return "—" if value is None else f"{100 * value:.1f}"

        return [
            (
                s.system,
                s.table,
                s.owner,
                f"{s.rows:,}",
                f"{s.score:.1f}",
                *(pct(s.dimensions.get(d)) for d in WEIGHTS),
                " → ".join(f"{t.score:.0f}" for t in s.trend[-6:]),
            )
            for s in self.sources
        ]

    def alert_rows(self) -> list[tuple[str, ...]]:
        return [(a.level, a.system, a.owner, a.zh, a.en) for a in self.alerts]

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": WEIGHTS,
            "sources": [s.to_dict() for s in self.sources],
            "alerts": [asdict(a) for a in self.alerts],
        }
