"""Test-only evaluation against a synthetic city's truth/ (the pipeline never reads it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from citybrain.core.engine import Engine
from citybrain.ingest import SourceContract


@dataclass(frozen=True)
class DwellingScore:
    rows: int  # std rows whose true dwelling is known
    correct: int  # matched at dwelling level to the true dwelling
    wrong: int  # matched (at any level) to an address that does not contain the true dwelling

    @property
    def correct_rate(self) -> float:
        return self.correct / self.rows if self.rows else 0.0

    @property
    def wrong_rate(self) -> float:
        return self.wrong / self.rows if self.rows else 0.0


def _target_of(contracts: dict[str, SourceContract], system: str, source_column: str) -> str:
    for mapping in contracts[system].mapping.columns:
        if mapping.source == source_column:
            return mapping.target
    return source_column


def dwelling_score(
    engine: Engine, truth: Path, contracts: dict[str, SourceContract]
) -> dict[str, DwellingScore]:
    """Per system: how the std rows' address ids compare with the true dwellings."""
    links = pq.read_table(truth / "links_dwelling.parquet").to_pylist()
    dwellings = pq.read_table(truth / "dwellings.parquet", columns=["dwelling_id", "address_id"])
    true_address = dict(
        zip(
            dwellings.column("dwelling_id").to_pylist(),
            dwellings.column("address_id").to_pylist(),
            strict=True,
        )
    )
    ancestors = _ancestors(engine)
    by_system: dict[str, dict[str, str]] = {}
    for link in links:
        if link["system"] not in contracts or contracts[link["system"]].standard is None:
            continue
        key = _target_of(contracts, link["system"], link["key_field"])
        by_system.setdefault(link["system"], {})[f"{key}\t{link['key']}"] = true_address[
            link["entity_id"]
        ]
    scores: dict[str, DwellingScore] = {}
    for system, truth_of in by_system.items():
        std_name = contracts[system].standard
        assert std_name is not None
        if not engine.exists("std", std_name) or std_name == "standard_address":
            continue
        key = next(iter(truth_of)).split("\t")[0]
        t = engine.table("std", std_name)
        rows = engine.to_arrow(
            t.filter(t.source_system == system).select(key, "address_id", "address_level")
        )
        rows_, correct, wrong = 0, 0, 0
        for k, address_id, level in zip(
            rows.column(key).to_pylist(), rows.column("address_id").to_pylist(),
            rows.column("address_level").to_pylist(), strict=True,
        ):  # fmt: skip
            expected = truth_of.get(f"{key}\t{k}")
            if expected is None:
                continue
            rows_ += 1
            if address_id is None:
                continue
            if level == "dwelling" and address_id == expected:
                correct += 1
            elif address_id not in ancestors.get(expected, {expected}):
                wrong += 1
        scores[system] = DwellingScore(rows_, correct, wrong)
    return scores


def _ancestors(engine: Engine) -> dict[str, set[str]]:
    register = engine.to_arrow(
        engine.table("std", "standard_address").select("address_id", "parent_id")
    )
    parent = dict(
        zip(
            register.column("address_id").to_pylist(),
            register.column("parent_id").to_pylist(),
            strict=True,
        )
    )
    out: dict[str, set[str]] = {}
    for address_id in parent:
        chain, current = {address_id}, parent.get(address_id)
        while current is not None and current not in chain:
            chain.add(current)
            current = parent.get(current)
        out[address_id] = chain
    return out


def total(scores: dict[str, DwellingScore]) -> DwellingScore:
    return DwellingScore(
        sum(s.rows for s in scores.values()),
        sum(s.correct for s in scores.values()),
        sum(s.wrong for s in scores.values()),
    )


def dirt_keys(truth: Path, system: str, kind: str) -> list[str]:
    dirt = pq.read_table(truth / "dirt.parquet")
    mask = pc.and_(pc.equal(dirt.column("system"), system), pc.equal(dirt.column("kind"), kind))
    return [str(k) for k in dirt.filter(mask).column("key").to_pylist()]


__all__ = ["DwellingScore", "dirt_keys", "dwelling_score", "pa", "total"]
