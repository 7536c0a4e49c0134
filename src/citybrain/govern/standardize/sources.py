"""Which systems feed which std table, and which of their raw loads count (the latest state)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from citybrain.ingest import ContractError, RawZone, SourceContract, load_contract


@dataclass(frozen=True)
class RawSource:
    """One system's contract and its succeeded loads, oldest first."""

    contract: SourceContract
    load_ids: tuple[str, ...]
    rows_landed: int
    last_loaded: datetime | None = None  # when the newest succeeded load finished
    columns: tuple[str, ...] = ()  # every column landed by any of the loads

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
                max((m.finished_at or m.started_at for m in manifests), default=None),
                tuple(dict.fromkeys(c for m in manifests for c in m.columns)),
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
