"""Edit-distance-1 correction against a list of known names (roads, estates).

A deletion index (each name with one character removed → names) finds every known name within
one insertion, deletion or substitution of a query with a few dictionary look-ups. A correction is
returned only when exactly one known name is that close, or, of several, exactly one differs by a
character that sounds the same (富城大道 → 府城大道, not 锦城大道: people type by pinyin, so a
homophone is the likeliest slip) — the latter only for one city's own names (``prefer_homophone``),
not for the whole country's divisions. A wrong fix is worse than none.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache


def _deletes(name: str) -> set[str]:
    return {name[:i] + name[i + 1 :] for i in range(len(name))}


class NameIndex:
    """Known names with a one-edit lookup. Names shorter than ``min_length`` are never corrected."""

    def __init__(
        self, names: Iterable[str], min_length: int = 3, *, prefer_homophone: bool = False
    ) -> None:
        self._names = frozenset(names)
        self._min = min_length
        self._homophone = prefer_homophone
        self._by_delete: dict[str, set[str]] = {}
        for name in self._names:
            if len(name) < min_length:
                continue
            for key in _deletes(name):
                self._by_delete.setdefault(key, set()).add(name)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __len__(self) -> int:
        return len(self._names)

    def candidates(self, query: str) -> set[str]:
        """Known names within one edit of ``query`` (the query itself if known)."""
        if query in self._names:
            return {query}
        if len(query) < self._min - 1:
            return set()
        found: set[str] = set()
        # query is a known name with one character removed (an insertion was dropped) …
        found |= self._by_delete.get(query, set())
        for key in _deletes(query):
            # … or has one extra character, or one substituted.
            if key in self._names:
                found.add(key)
            for name in self._by_delete.get(key, ()):
                if (
                    len(name) == len(query)
                    and sum(a != b for a, b in zip(name, query, strict=True)) == 1
                ):
                    found.add(name)
        return {name for name in found if len(name) >= self._min}

    def correct(self, query: str) -> str | None:
        """The one known name within one edit (or the one homophone of several), else None."""
        found = self.candidates(query)
        if len(found) == 1:
            return next(iter(found))
        if not self._homophone:
            return None
        alike = [name for name in found if sounds_alike(name, query)]
        return alike[0] if len(alike) == 1 else None


def sounds_alike(name: str, query: str) -> bool:
    """Same length, and every differing character has the same toneless pinyin."""
    if len(name) != len(query):
        return False
    return all(a == b or _sound(a) == _sound(b) for a, b in zip(name, query, strict=True))


@lru_cache(maxsize=8192)
def _sound(char: str) -> str:
    # Imported on first use: pypinyin's phrase tables are ~190k lists the garbage collector
    # would otherwise walk on every full pass of a process that never compares sounds.
    from pypinyin import lazy_pinyin

    return str(lazy_pinyin(char)[0])
