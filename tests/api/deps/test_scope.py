"""``scoped_findings`` keeps the findings inside the caller's area, then narrows by the filters."""

from __future__ import annotations

import pyarrow as pa

from citybrain.api.deps import scoped_findings
from citybrain.api.security.scope import Scope

FINDINGS = pa.table(
    {
        "subject_id": ["a", "b", "c", "d"],
        "street_id": ["S1", "S1", "S2", None],
        "community_id": ["C1", "C2", "C3", None],
        "grid_id": ["G1", "G2", "G3", None],
        "level": ["high", "low", "high", "high"],
        "period": ["2026-03", "2026-03", "2026-03", "2026-04"],
        "score": [0.9, 0.2, 0.8, 0.7],
    }
)


def _ids(table: pa.Table) -> list[str]:
    return [str(s) for s in table["subject_id"].to_pylist()]


def test_a_citywide_caller_sees_all_and_filters_combine() -> None:
    citywide = Scope(citywide=True)
    assert _ids(scoped_findings(FINDINGS, citywide)) == ["a", "b", "c", "d"]
    assert _ids(scoped_findings(FINDINGS, citywide, level="high", min_score=0.75)) == ["a", "c"]
    assert _ids(scoped_findings(FINDINGS, citywide, period="2026-04")) == ["d"]


def test_a_street_clerk_sees_only_its_street_and_no_unlocated_finding() -> None:
    street = Scope(citywide=False, streets=frozenset({"S1"}))
    assert _ids(scoped_findings(FINDINGS, street)) == ["a", "b"]
    assert _ids(scoped_findings(FINDINGS, street, street="S2")) == []
