"""Which systems feed which std table, and which of their raw loads count (the latest state)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from citybrain.ingest import ContractError, RawZone, SourceContract, load_contract


@dataclass(frozen=True)
class RawSource:
    """One system's contract and its succeeded loads, oldest first."""

    contract: SourceContract
    load_ids: tuple[str, ...]
    rows_landed: int

    @property
    def system(self) -> str:
        return self.contract.id

    @property
    def standard(self) -> str:
        assert self.contract.standard is not None
        return self.contract.standard

    def load_order(self) -> dict[str, int]:
        """Load id → its position (1 = oldest); a later load's rows supersede an earlier one's."""
        return {load_id: i + 1 for i, load_id in enumerate(self.load_ids)}


def raw_sources(lake: Path, contracts: Iterable[SourceContract]) -> list[RawSource]:
    """The contracts that name a std table and have landed at least one load in ``lake``."""
    found: list[RawSource] = []
    for contract in contracts:
        if contract.standard is None:
            continue
        manifests = [m for m in RawZone(lake, contract.id).manifests() if m.status == "completed"]
        if not manifests:
            continue
        manifests.sort(key=lambda m: (m.started_at, m.load_id))
        found.append(
            RawSource(
                contract,
                tuple(m.load_id for m in manifests),
                sum(m.rows_landed for m in manifests),
            )
        )
    return found


def contracts_in(files: Iterable[Path]) -> list[SourceContract]:
    """Contracts in ``files``; a broken one is skipped (`citybrain source check` says why)."""
    contracts: list[SourceContract] = []
    for path in files:
        try:
            contracts.append(load_contract(path))
        except ContractError:  # a broken contract never blocks the others
            continue
    return contracts


def by_table(sources: Iterable[RawSource]) -> dict[str, list[RawSource]]:
    grouped: dict[str, list[RawSource]] = {}
    for source in sources:
        grouped.setdefault(source.standard, []).append(source)
    return grouped
