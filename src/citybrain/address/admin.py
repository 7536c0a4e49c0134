"""Read the administrative prefix of an address (province → city → district → street).

Longest match over every alias of every division, one token after another; each token must lie
inside the one before it, so 成都市武侯区 is one chain and 成都市朝阳区 stops after 成都市. Several
readings of the tokens are kept until a later token, the default city or the gazetteer decides; if
none does, the prefix is reported ambiguous rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from citybrain.address.divisions import (
    CITY,
    CONTEXT,
    DISTRICT,
    FULL,
    PROVINCE,
    SHORT,
    STREET,
    Division,
    DivisionIndex,
)

_ROAD_HEADS = frozenset("路街巷道弄")
_DIRECTIONS = frozenset("东西南北中")


@dataclass(frozen=True, slots=True)
class AdminResult:
    """The divisions read from the start of the text, province first, ancestors filled in."""

    end: int
    lineage: tuple[Division, ...]
    ambiguous: tuple[str, ...] = ()  # tokens read but not placed (朝阳区 with no city known)
    inferred: bool = False  # upper levels filled in from a lower one or the default city

    def at(self, level: int) -> Division | None:
        for division in self.lineage:
            if division.level == level:
                return division
        return None


EMPTY = AdminResult(0, ())


class AdminReader:
    """Reads admin prefixes against one `DivisionIndex`, with an optional default region."""

    def __init__(self, index: DivisionIndex, default_region: str | None = None) -> None:
        self._index = index
        self._names = index.names
        self._lengths = index.lengths2
        self._divisions = index.divisions
        self._default = index.divisions[default_region] if default_region else None

    @staticmethod
    def is_within(division: Division, ancestor: Division) -> bool:
        """Whether ``division`` lies strictly inside ``ancestor``.

        A zone carries its city's prefix, so it contains that city's streets.
        """
        return division.level > ancestor.level and division.prefix.startswith(ancestor.prefix)

    def _accept(self, division: Division, kind: int, last: Division | None, after: str) -> bool:
        if kind == SHORT and after:
            # 南京路, 北京东路, 成都大道: a short form followed by a road word is a road name.
            head = after[0]
            if head in _ROAD_HEADS or (head == "大" and after[1:2] in ("道", "街")):
                return False
            if head in _DIRECTIONS and after[1:2] in ("路", "街", "大"):
                return False
        if last is None:
            if kind == FULL:
                return True
            if kind == SHORT:
                return division.level <= CITY
            return self._default is not None and self.is_within(division, self._default)
        return self.is_within(division, last)

    def read(self, text: str) -> AdminResult:
        n = len(text)
        pos = 0
        chains: list[tuple[tuple[Division, int], ...]] = [()]
        while pos < n:
            lengths = self._lengths.get(text[pos : pos + 2])
            if not lengths:
                break
            extended: list[tuple[tuple[Division, int], ...]] = []
            step = 0
            for length in lengths:
                if pos + length > n:
                    continue
                entries = self._names.get(text[pos : pos + length])
                if entries is None:
                    continue
                after = text[pos + length : pos + length + 2]
                for chain in chains:
                    last = chain[-1][0] if chain else None
                    for code, kind in entries:
                        division = self._divisions[code]
                        if kind == FULL and last is not None:
                            # the common case, inlined: a full name inside the previous token
                            if division.level > last.level and division.prefix.startswith(
                                last.prefix
                            ):
                                extended.append((*chain, (division, kind)))
                        elif self._accept(division, kind, last, after):
                            extended.append((*chain, (division, kind)))
                if extended:
                    step = length
                    break
            if not extended:
                break
            chains = extended
            pos += step
        if pos == 0:
            return EMPTY
        return self._choose(chains, pos, text)

    def _choose(
        self, chains: list[tuple[tuple[Division, int], ...]], end: int, text: str
    ) -> AdminResult:
        if len(chains) > 1 and self._default is not None:
            default = self._default
            near = [c for c in chains if c[-1][0] is default or self.is_within(c[-1][0], default)]
            chains = near or chains
        if len(chains) > 1:
            # Prefer readings made of full names, then those that start higher (海南 the province).
            def score(chain: tuple[tuple[Division, int], ...]) -> tuple[int, int]:
                return (sum(kind != FULL for _, kind in chain), chain[0][0].level)

            best = min(score(c) for c in chains)
            chains = [c for c in chains if score(c) == best]
        if len(chains) > 1:
            ends = {c[-1][0].code for c in chains}
            if len(ends) > 1:
                return self._ambiguous(chains, end, text)
        chain = chains[0]
        deepest = chain[-1][0]
        lineage = self._lineage(deepest)
        inferred = chain[0][0].level > PROVINCE and lineage[0].level == PROVINCE
        return AdminResult(end, tuple(lineage), inferred=inferred)

    def _ambiguous(
        self, chains: list[tuple[tuple[Division, int], ...]], end: int, text: str
    ) -> AdminResult:
        """Keep the levels all readings agree on; report the rest as unplaced text."""
        common: list[Division] = []
        for level in (PROVINCE, CITY, DISTRICT, STREET):
            seen: set[str | None] = set()
            for chain in chains:
                found = [d for d in self._lineage(chain[-1][0]) if d.level == level]
                seen.add(found[0].code if found else None)
            code = seen.pop() if len(seen) == 1 else None
            if code is not None:
                common.append(self._divisions[code])
            else:
                break
        # The text after the last placed name is what could not be placed.
        rest = text[:end]
        for division in common:
            at = rest.find(division.name)
            if at >= 0:
                rest = rest[at + len(division.name) :]
        return AdminResult(end, tuple(common), ambiguous=(rest or text[:end],))

    def _lineage(self, division: Division) -> list[Division]:
        chain = [division]
        parent = division.parent
        while parent is not None:
            ancestor = self._divisions[parent]
            chain.append(ancestor)
            parent = ancestor.parent
        return chain[::-1]

    def default_lineage(self) -> tuple[Division, ...]:
        return tuple(self._lineage(self._default)) if self._default else ()


__all__ = ["CONTEXT", "DISTRICT", "FULL", "SHORT", "AdminReader", "AdminResult"]
